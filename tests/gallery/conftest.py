import pytest

from payments.models import SaleStatus


@pytest.fixture
def paid_sale(make_sale):
    """A paid sale (COMPLETED), ready for its photos."""
    return make_sale(status=SaleStatus.COMPLETED)
