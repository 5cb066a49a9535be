"""How times and amounts are written: Jakarta time for people and the API, rupiah as text and as
a JSON number. Every other module asks here, so a format changes in one place."""

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, localcontext
from zoneinfo import ZoneInfo

# The booths, their staff and customers are in Western Indonesia Time (WIB, UTC+7, no DST).
JAKARTA = ZoneInfo("Asia/Jakarta")


def jakarta_iso(value: datetime | None) -> str | None:
    """`2025-12-15T16:22:29+07:00`: Asia/Jakarta, seconds precision, explicit offset."""
    if value is None:
        return None
    return value.astimezone(JAKARTA).replace(microsecond=0).isoformat()


def thousands(number: int) -> str:
    """`1.250.000`: Indonesian writes '.' between thousands."""
    return f"{number:,}".replace(",", ".")


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
    text = thousands(int(whole))
    if sen:
        text += f",{int(sen * 100):02d}"
    return f"{sign}Rp {text}"


def rupiah_number(amount: Decimal) -> int | float:
    """A JSON number of rupiah: an integer when whole (`40000`), as the seed's README shows."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def jakarta_day_start(day: date) -> datetime:
    """Midnight in Jakarta starting `day`: where a report's or a filter's day begins."""
    return datetime.combine(day, time.min, tzinfo=JAKARTA)
