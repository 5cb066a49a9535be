"""An open unmatched payment (a payment for no known sale nobody has dealt with yet) is defined
once, in payments.models: the problem list's query and a loaded event's check agree."""

import itertools

import pytest
from django.utils import timezone

from payments.models import EventOutcome, PaymentEvent
from payments.selectors import open_unmatched_payments

pytestmark = pytest.mark.django_db


def test_the_query_and_the_python_check_agree():
    for outcome, reviewed in itertools.product(EventOutcome.values, [False, True]):
        PaymentEvent.objects.create(outcome=outcome, reviewed_at=timezone.now() if reviewed else None, body="{}")

    by_query = set(open_unmatched_payments().values_list("pk", flat=True))
    by_python = {event.pk for event in PaymentEvent.objects.all() if event.is_open_unmatched}

    assert by_query == by_python
    assert len(by_query) == 1
    assert PaymentEvent.objects.get(pk=by_query.pop()).outcome == EventOutcome.UNKNOWN_SALE
