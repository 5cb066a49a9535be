"""The Idempotency-Key claim at its edges: a request that gives up late never frees or erases a
later request's claim or answer, a body's fingerprint is the SHA-256 of its canonical JSON (stored
keys stay valid across a deploy) or of the bytes themselves, and purging counts from the time given."""

import hashlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from locations.services import issue_kiosk_key
from payments.idempotency import (
    STALE_CLAIM,
    claim,
    complete,
    fingerprint_of,
    purge_expired_keys,
    release,
    scoped_key,
)
from payments.models import IdempotencyKey

pytestmark = pytest.mark.django_db

BODY = b'{"location_id": 1, "price_id": "p"}'


def test_a_late_release_never_frees_a_later_claim_made_with_another_body():
    first = claim(key="K", body=BODY)
    release(first)
    later = claim(key="K", body=b'{"location_id": 2}')

    release(first)  # the first request, giving up late

    assert claim(key="K", body=b'{"location_id": 2}').conflict == "in_progress"
    assert IdempotencyKey.objects.get(key="K").fingerprint == later.fingerprint


def test_a_request_that_gave_up_late_never_erases_the_answer_of_the_retry_that_took_over():
    first = claim(key="K", body=BODY)
    IdempotencyKey.objects.update(created_at=timezone.now() - STALE_CLAIM - timedelta(seconds=1))
    retry = claim(key="K", body=BODY)  # the first one looks dead: its claim is taken over
    assert (retry.conflict, retry.replay_status) == ("", None)
    complete(retry, status_code=201, body=b'{"success": true}', sale_id=None)

    release(first)

    assert claim(key="K", body=BODY).replay_status == 201


def test_a_late_release_of_one_key_leaves_the_other_keys_claims():
    first = claim(key="K1", body=BODY)
    claim(key="K2", body=BODY)

    release(first)

    assert claim(key="K2", body=BODY).conflict == "in_progress"


def test_the_fingerprint_is_the_sha256_of_the_canonical_json():
    assert fingerprint_of(b'{ "b": 1,  "a": [1, 2] }') == hashlib.sha256(b'{"a":[1,2],"b":1}').hexdigest()


def test_the_fingerprint_of_a_body_that_is_not_json_is_the_sha256_of_its_bytes():
    assert fingerprint_of(b"location_id=1") == hashlib.sha256(b"location_id=1").hexdigest()


def test_purging_counts_the_keys_age_from_the_time_given():
    claim(key="K", body=BODY)
    later = timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)

    assert purge_expired_keys(now=later) == 1


def test_a_late_completion_never_answers_a_later_claim_made_with_another_body():
    first = claim(key="K", body=BODY)
    release(first)
    claim(key="K", body=b'{"location_id": 2}')

    complete(first, status_code=201, body=b'{"first": true}', sale_id=None)

    assert claim(key="K", body=b'{"location_id": 2}').conflict == "in_progress"


def test_a_late_completion_never_overwrites_the_answer_of_the_retry_that_took_over():
    first = claim(key="K", body=BODY)
    IdempotencyKey.objects.update(created_at=timezone.now() - STALE_CLAIM - timedelta(seconds=1))
    retry = claim(key="K", body=BODY)
    complete(retry, status_code=201, body=b'{"retry": true}', sale_id=None)

    complete(first, status_code=409, body=b'{"first": true}', sale_id=None)

    assert claim(key="K", body=BODY).replay_body == b'{"retry": true}'


def test_completing_one_key_leaves_the_other_keys_claims_in_progress():
    first = claim(key="K1", body=BODY)
    claim(key="K2", body=BODY)

    complete(first, status_code=201, body=b"{}", sale_id=None)

    assert claim(key="K2", body=BODY).conflict == "in_progress"


def test_a_completed_key_names_the_sale_it_made(make_sale):
    sale = make_sale()
    claimed = claim(key="K", body=BODY)

    complete(claimed, status_code=201, body=b"{}", sale_id=sale.pk)

    assert IdempotencyKey.objects.get(key="K").sale_id == sale.pk


def test_a_kiosks_key_stays_readable_up_to_the_columns_length_and_is_hashed_past_it(location):
    kiosk_key = issue_kiosk_key(location=location, label="PB-001 tablet")[0]
    prefix = f"kiosk {location.pk} "
    longest = "k" * (255 - len(prefix))

    assert scoped_key(longest, kiosk_key) == prefix + longest
    assert scoped_key(longest + "k", kiosk_key) == (
        f"kiosk {location.pk} sha256 {hashlib.sha256((longest + 'k').encode()).hexdigest()}"
    )
