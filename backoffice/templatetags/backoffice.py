"""Template helpers for the staff screens (`{% load backoffice %}`): rupiah amounts and the index
page's overview."""

from django import template
from django.utils import timezone

from core.formats import JAKARTA
from core.formats import rupiah as format_rupiah
from gallery import selectors as gallery_selectors
from payments import selectors

register = template.Library()


@register.filter
def rupiah(amount) -> str:
    return "—" if amount is None or amount == "" else format_rupiah(amount)


@register.simple_tag(takes_context=True)
def staff_overview(context) -> dict | None:
    """Today's takings and what needs a person, for staff who may see sales."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("payments.view_sale"):
        return None
    today = timezone.localdate(timezone=JAKARTA)
    return {
        "problems": selectors.problem_counts(emails_failed=gallery_selectors.failed_emails().count()),
        "today": selectors.sales_report(date_from=today, date_to=today).totals,
        "can_view_events": user.has_perm("payments.view_paymentevent"),
    }
