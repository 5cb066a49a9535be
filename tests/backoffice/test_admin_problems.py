"""Problem payments in the admin: staff see them counted on the index, read why, record what they
did (kept with the sale), and re-run a stored notification when its sale turns up."""

import json
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from payments import events, services, simulation, transitions
from payments.models import EventOutcome, EventSource, PaymentEvent, ReviewNote, Sale, SaleStatus
from tests.support.concurrency import run_concurrently
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

SALES = reverse("admin:payments_sale_changelist")
EVENTS = reverse("admin:payments_paymentevent_changelist")


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def staff_client(client, boss):
    client.force_login(boss)
    return client


def payment_for(external_id: str, *, payment_id: str = "qrpy_1", amount: int = 40000, qr_id: str = "qr_x") -> dict:
    return webhook_fixture(
        "qr_payment_2022.json", payment_id=payment_id, amount=amount, qr_id=qr_id, external_id=external_id
    )


def index_text(client) -> str:
    """The index page as a person reads it: text only, spaces collapsed."""
    html = client.get(reverse("admin:index")).content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Why a sale needs review ----------------------------------------------------------------
def test_a_payment_after_expiry_is_flagged_with_its_reason_on_the_list_index_and_page(staff_client, make_sale):
    sale = make_sale(status=SaleStatus.EXPIRED)
    simulation.simulate_payment(sale=sale)

    page = staff_client.get(reverse("admin:payments_sale_change", args=[sale.pk])).content.decode()

    assert "Paid after the sale was marked EXPIRED" in page
    assert "⚠ 1 to review" in index_text(staff_client)
    response = staff_client.get(SALES, {"review": "open"})
    assert [s.pk for s in response.context["cl"].result_list] == [sale.pk]


def test_an_amount_mismatch_is_flagged_with_both_amounts(staff_client, make_sale, api):
    sale = make_sale(xendit_qr_id="qr_x")
    post_webhook(api, payment_for(sale.external_id, amount=4000))

    page = staff_client.get(reverse("admin:payments_sale_change", args=[sale.pk])).content.decode()

    assert "Amount mismatch: payment qrpy_1 of Rp 4.000 for a sale of Rp 40.000" in page
    assert "Amount missing or wrong" in page  # the notification's outcome in the history


# --- Resolving ------------------------------------------------------------------------------
def test_staff_resolve_a_sale_with_a_note_kept_in_its_history(staff_client, make_sale, boss):
    sale = make_sale(status=SaleStatus.EXPIRED)
    simulation.simulate_payment(sale=sale)
    url = reverse("admin:payments_sale_resolve-review", args=[sale.pk])

    form = staff_client.get(url).content.decode()
    blank = staff_client.post(url, {"note": "  "})
    done = staff_client.post(url, {"note": "Customer got photos; kept as paid"}, follow=True)

    assert "Say what was done about it" in form
    assert blank.status_code == 200
    assert "This field is required" in blank.content.decode()
    sale.refresh_from_db()
    assert (sale.needs_review, sale.review_reason) == (False, "")
    note = ReviewNote.objects.get(sale=sale)
    assert note.problem.startswith("Paid after the sale was marked EXPIRED")
    assert (note.note, note.resolved_by) == ("Customer got photos; kept as paid", boss)
    page = done.content.decode()
    assert "marked resolved" in page
    assert "Review resolved by boss" in page
    assert "Customer got photos; kept as paid" in page
    assert "Sales with a payment problem None" in index_text(staff_client)


def test_staff_resolve_several_sales_at_once_from_the_list(staff_client, make_sale):
    flagged = [make_sale(status=SaleStatus.COMPLETED, needs_review=True, review_reason=f"r{i}") for i in range(2)]
    fine = make_sale()
    selected = [s.pk for s in [*flagged, fine]]

    ask = staff_client.post(SALES, {"action": "resolve_reviews", "_selected_action": selected})
    staff_client.post(
        SALES, {"action": "resolve_reviews", "_selected_action": selected, "apply": "1", "note": "Refunded both"}
    )

    assert "Mark 2 resolved" in ask.content.decode()
    assert Sale.objects.filter(needs_review=True).count() == 0
    assert sorted(ReviewNote.objects.values_list("problem", "note")) == [
        ("r0", "Refunded both"),
        ("r1", "Refunded both"),
    ]


def test_a_sale_is_resolved_once_even_when_two_people_click(make_sale, boss):
    sale = make_sale(status=SaleStatus.COMPLETED, needs_review=True, review_reason="Amount mismatch")
    services.resolve_review(sale=sale, note="first", user=boss)

    with pytest.raises(services.NothingToResolve):
        services.resolve_review(sale=Sale.objects.get(pk=sale.pk), note="second", user=boss)

    assert list(ReviewNote.objects.values_list("note", flat=True)) == ["first"]


def test_a_new_problem_after_resolution_flags_the_sale_again_and_keeps_the_old_note(make_sale, boss, api):
    sale = make_sale(xendit_qr_id="qr_x")
    post_webhook(api, payment_for(sale.external_id, payment_id="qrpy_1"))
    sale.refresh_from_db()
    transitions.flag(sale=sale, reason="Checked by phone")
    services.resolve_review(sale=sale, note="Fine", user=boss)

    post_webhook(api, payment_for(sale.external_id, payment_id="qrpy_2"))

    sale.refresh_from_db()
    assert sale.needs_review is True
    assert "Second payment qrpy_2" in sale.review_reason
    assert ReviewNote.objects.get(sale=sale).note == "Fine"


def test_a_note_is_required(make_sale, boss):
    sale = make_sale(needs_review=True, review_reason="x")

    with pytest.raises(ValueError, match="note is required"):
        services.resolve_review(sale=sale, note=" ", user=boss)


# --- Payments for no known sale -------------------------------------------------------------
def test_an_unmatched_payment_is_counted_filtered_and_dealt_with(staff_client, api):
    post_webhook(api, payment_for("TRX-9-20250101000000-DEADBEEF"))
    event = PaymentEvent.objects.get()

    assert "⚠ 1 to look at" in index_text(staff_client)
    listed = staff_client.get(EVENTS, {"attention": "unmatched"}).context["cl"].result_list
    assert [e.pk for e in listed] == [event.pk]

    url = reverse("admin:payments_paymentevent_resolve", args=[event.pk])
    staff_client.post(url, {"note": "Refunded in the Xendit dashboard"})

    event.refresh_from_db()
    assert event.reviewed_at is not None
    assert "Payments that match no sale None" in index_text(staff_client)
    assert staff_client.get(EVENTS, {"attention": "unmatched"}).context["cl"].result_list.count() == 0
    page = staff_client.get(reverse("admin:payments_paymentevent_change", args=[event.pk])).content.decode()
    assert "Refunded in the Xendit dashboard" in page
    assert "(boss)" in page


def test_several_unmatched_payments_get_one_note_from_the_list(staff_client, api):
    post_webhook(api, payment_for("TRX-NOPE-1", payment_id="qrpy_a"))
    post_webhook(api, payment_for("TRX-NOPE-2", payment_id="qrpy_b"))
    selected = list(PaymentEvent.objects.values_list("pk", flat=True))

    ask = staff_client.post(EVENTS, {"action": "resolve_unmatched", "_selected_action": selected})
    staff_client.post(
        EVENTS, {"action": "resolve_unmatched", "_selected_action": selected, "apply": "1", "note": "Test payments"}
    )

    assert "TRX-NOPE-1" in ask.content.decode()
    assert PaymentEvent.objects.filter(reviewed_at__isnull=True).count() == 0
    assert ReviewNote.objects.filter(note="Test payments").count() == 2


def test_the_notifications_search_finds_a_sale_number_a_payment_id_or_a_webhook_id(staff_client, make_sale, api):
    sale = make_sale(xendit_qr_id="qr_x")
    post_webhook(api, payment_for(sale.external_id, payment_id="qrpy_found"))
    post_webhook(api, payment_for("TRX-NOPE-1", payment_id="qrpy_other", qr_id="qr_unknown"))
    event = PaymentEvent.objects.get(xendit_payment_id="qrpy_found")
    PaymentEvent.objects.filter(pk=event.pk).update(webhook_id="wh_found")

    def found(term: str) -> list[int]:
        response = staff_client.get(EVENTS, {"q": term})
        assert response.status_code == 200
        return [e.pk for e in response.context["cl"].result_list]

    assert found(sale.external_id.lower()) == [event.pk]
    assert found("qrpy_found") == [event.pk]
    assert found("wh_found") == [event.pk]
    assert found("nothing-like-it") == []


def test_the_unmatched_payments_page_lists_each_one_with_its_amount(staff_client, api):
    post_webhook(api, payment_for("TRX-NOPE-1", payment_id="qrpy_a", amount=40000))
    selected = list(PaymentEvent.objects.values_list("pk", flat=True))

    page = staff_client.post(EVENTS, {"action": "resolve_unmatched", "_selected_action": selected}).content.decode()

    event = PaymentEvent.objects.get()
    change = reverse("admin:payments_paymentevent_change", args=[event.pk])
    assert f'<a href="{change}">' in page
    assert "40000" in page
    assert f'name="_selected_action" value="{event.pk}"' in page
    assert "Save the note for 1" in page


# --- Processing a stored notification again -------------------------------------------------
def test_a_payment_that_arrived_before_its_sale_was_known_is_applied_when_reprocessed(staff_client, make_sale, api):
    post_webhook(api, payment_for("TRX-1-20250101000000-LATE0001"))
    event = PaymentEvent.objects.get()
    sale = make_sale(external_id="TRX-1-20250101000000-LATE0001")
    url = reverse("admin:payments_paymentevent_reprocess", args=[event.pk])

    response = staff_client.post(url, follow=True)

    sale.refresh_from_db()
    event.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert (event.outcome, event.sale) == (EventOutcome.APPLIED, sale)
    assert "Processed again: Applied to the sale." in response.content.decode()


def test_reprocessing_is_idempotent_a_payment_is_never_applied_twice(make_sale, api):
    sale = make_sale(xendit_qr_id="qr_x")
    body = json.dumps(payment_for(sale.external_id)).encode()
    applied = events.process_payment_event(events.record_payment_event(source="webhook", headers={}, body=body))
    failed = events.record_payment_event(source="webhook", headers={}, body=body)
    PaymentEvent.objects.filter(pk=failed.pk).update(outcome=EventOutcome.ERROR, outcome_detail="OperationalError")

    again = events.reprocess_payment_event(event=failed)

    assert applied.outcome == EventOutcome.APPLIED
    assert again.outcome == EventOutcome.DUPLICATE
    assert Sale.objects.filter(xendit_payment_id="qrpy_1").count() == 1
    with pytest.raises(events.EventNotReprocessable, match="final"):
        events.reprocess_payment_event(event=applied)


@pytest.mark.parametrize("outcome", [EventOutcome.REJECTED, EventOutcome.RECEIVED])
def test_a_notification_whose_token_was_not_verified_is_never_applied(staff_client, make_sale, outcome):
    sale = make_sale()
    event = events.record_payment_event(
        source=EventSource.WEBHOOK, headers={}, body=json.dumps(payment_for(sale.external_id)).encode()
    )
    PaymentEvent.objects.filter(pk=event.pk).update(outcome=outcome)

    response = staff_client.post(reverse("admin:payments_paymentevent_reprocess", args=[event.pk]), follow=True)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert "it may not come from Xendit, so it is never applied" in response.content.decode()


def test_reprocess_from_the_list_reports_each_outcome(staff_client, make_sale, api):
    post_webhook(api, payment_for("TRX-1-20250101000000-LATE0002"))
    make_sale(external_id="TRX-1-20250101000000-LATE0002")

    response = staff_client.post(
        EVENTS,
        {"action": "reprocess_events", "_selected_action": list(PaymentEvent.objects.values_list("pk", flat=True))},
        follow=True,
    )

    assert "Processed again: Applied to the sale." in response.content.decode()


def test_the_event_page_offers_reprocessing_only_where_it_can_help(staff_client, make_sale, api):
    sale = make_sale(xendit_qr_id="qr_x")
    post_webhook(api, payment_for(sale.external_id))
    post_webhook(api, payment_for("TRX-NOBODY", payment_id="qrpy_2", qr_id="qr_nobody"))
    applied, unmatched = PaymentEvent.objects.order_by("pk")

    applied_page = staff_client.get(reverse("admin:payments_paymentevent_change", args=[applied.pk])).content.decode()
    unmatched_page = staff_client.get(
        reverse("admin:payments_paymentevent_change", args=[unmatched.pk])
    ).content.decode()

    assert "Process it again" not in applied_page
    assert "Process it again" in unmatched_page
    assert "Record what was done" in unmatched_page


# --- At the same moment (PostgreSQL) --------------------------------------------------------
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_staff_reprocessing_the_same_notification_apply_it_once(make_sale):
    post_webhook(APIClient(), payment_for("TRX-1-20250101000000-RACE0001"))
    event = PaymentEvent.objects.get()
    sale = make_sale(external_id="TRX-1-20250101000000-RACE0001")

    results = run_concurrently(lambda _: events.reprocess_payment_event(event=event), 4)

    outcomes = Counter(r.outcome if isinstance(r, PaymentEvent) else type(r).__name__ for r in results)
    assert outcomes == {EventOutcome.APPLIED: 1, "EventNotReprocessable": 3}, results
    event.refresh_from_db()
    sale.refresh_from_db()
    assert (event.outcome, sale.status) == (EventOutcome.APPLIED, SaleStatus.COMPLETED)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_staff_resolving_the_same_sale_record_one_note(make_sale, boss):
    sale = make_sale(status=SaleStatus.COMPLETED, needs_review=True, review_reason="Amount mismatch")

    results = run_concurrently(lambda i: services.resolve_review(sale=sale, note=f"note {i}", user=boss), 4)

    assert Counter(type(r).__name__ for r in results) == {"ReviewNote": 1, "NothingToResolve": 3}, results
    assert ReviewNote.objects.count() == 1
    assert Sale.objects.get(pk=sale.pk).amount == Decimal(40000)
