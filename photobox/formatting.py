"""How amounts and days are written for Indonesian customers."""

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, localcontext

from photobox.api import JAKARTA


def rupiah(amount: Decimal | int | str) -> str:
    """`Rp 40.000`: '.' between thousands, ',' before sen, which are shown only when not zero.

    >>> rupiah(Decimal("1250000.00")), rupiah(Decimal("40000.5"))
    ('Rp 1.250.000', 'Rp 40.000,50')
    """
    value = Decimal(amount)
    with localcontext() as context:
        # Enough digits for any amount (a webhook may report an absurd one), not just 28.
        context.prec = max(context.prec, value.adjusted() + 4)
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        sign = "-" if value < 0 else ""
        whole, sen = divmod(abs(value), 1)
    text = f"{int(whole):,}".replace(",", ".")
    if sen:
        text += f",{int(sen * 100):02d}"
    return f"{sign}Rp {text}"


def jakarta_day_start(day: date) -> datetime:
    """Midnight in Jakarta starting `day`: where a report's or a filter's day begins."""
    return datetime.combine(day, time.min, tzinfo=JAKARTA)
