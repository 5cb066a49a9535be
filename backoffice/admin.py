"""Django's admin imports each installed app's `admin` module: this one registers every screen."""

from backoffice import email_outbox, incidents, locations, payment_events, prices, refunds, vouchers  # noqa: F401
from backoffice.sales import admin as sales  # noqa: F401
