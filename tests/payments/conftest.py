import pytest

from payments.models import Sale
from payments.simulation import simulate_payment


@pytest.fixture
def paid_sale(make_sale) -> Sale:
    """A sale of Rp 40.000, paid through the simulator."""
    sale = make_sale()
    simulate_payment(sale=sale)
    sale.refresh_from_db()
    return sale
