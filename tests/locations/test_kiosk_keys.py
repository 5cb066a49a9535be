"""Kiosk keys: staff make a key per kiosk in the admin (shown once, stored hashed); a kiosk sends it
as `Authorization: Bearer <key>` and can then sell and upload for its own location only; revoked
keys stop working at once; two keys per location let a kiosk move to a new key without downtime."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.checks import run_checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from locations.models import KioskKey
from locations.services import (
    KioskKeyLimitReached,
    find_active_key,
    hash_key,
    issue_kiosk_key,
    revoke_kiosk_key,
    touch_last_used,
)
from payments.models import IdempotencyKey, Sale, SaleStatus
from tests.support.api import error_of
from tests.support.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions"


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def required(settings):
    settings.KIOSK_AUTH = "required"


@pytest.fixture
def other_location(make_location):
    return make_location(machine_code="PB-002", name="Mall Kelapa Gading")


@pytest.fixture
def key_a(location):
    """Location A's key (the `location` fixture, PB-001)."""
    return issue_kiosk_key(location=location, label="PB-001 tablet")[1]


@pytest.fixture
def key_b(other_location):
    return issue_kiosk_key(location=other_location, label="PB-002 tablet")[1]


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def create(api, body, **headers):
    return api.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def jpeg(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (sum(name.encode()) % 256, 80, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# --- Issuing, storing, revoking ------------------------------------------------------------------


def test_a_key_is_256_random_bits_stored_only_as_its_hash(location):
    key, plaintext = issue_kiosk_key(location=location, label="PB-001 tablet")

    assert plaintext.startswith("pbk_")
    assert len(plaintext) == 4 + 43  # 32 bytes, URL-safe Base64 without padding
    assert key.prefix == plaintext[:12]
    assert key.key_hash == hash_key(plaintext)
    stored = KioskKey.objects.filter(pk=key.pk).values().get()
    assert plaintext not in json.dumps(stored, default=str)
    assert key.label == "PB-001 tablet"


def test_every_key_is_different(location, make_location):
    keys = {issue_kiosk_key(location=make_location(), label="k")[1] for _ in range(20)}

    assert len(keys) == 20


def test_a_location_has_at_most_two_active_keys(location):
    issue_kiosk_key(location=location, label="old")
    issue_kiosk_key(location=location, label="new")

    with pytest.raises(KioskKeyLimitReached, match="revoke one"):
        issue_kiosk_key(location=location, label="third")

    assert KioskKey.objects.filter(location=location).count() == 2


def test_revoking_one_makes_room_for_the_next(location):
    old, _ = issue_kiosk_key(location=location, label="old")
    issue_kiosk_key(location=location, label="new")

    revoke_kiosk_key(key=old)
    issue_kiosk_key(location=location, label="newer")

    assert KioskKey.objects.filter(location=location, revoked_at__isnull=True).count() == 2


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_staff_clicking_at_once_still_make_only_two_keys(location):
    results = run_concurrently(lambda i: issue_kiosk_key(location=location, label=f"k{i}"), 5)

    assert sum(isinstance(r, tuple) for r in results) == 2
    assert all(isinstance(r, tuple | KioskKeyLimitReached) for r in results), results
    assert KioskKey.objects.filter(location=location).count() == 2


def test_revoking_twice_keeps_the_first_time(location):
    key, _ = issue_kiosk_key(location=location, label="k")
    first = revoke_kiosk_key(key=key).revoked_at

    again = revoke_kiosk_key(key=KioskKey.objects.get(pk=key.pk)).revoked_at

    assert again == first is not None


def test_only_an_active_key_is_found(location):
    key, plaintext = issue_kiosk_key(location=location, label="k")

    assert find_active_key(plaintext) == key
    assert find_active_key(plaintext + "x") is None
    assert find_active_key(plaintext[:-1]) is None
    assert find_active_key("") is None
    revoke_kiosk_key(key=key)
    assert find_active_key(plaintext) is None


def test_last_used_is_written_at_most_once_a_minute(location, django_assert_num_queries):
    key, _ = issue_kiosk_key(location=location, label="k")

    with django_assert_num_queries(1):
        touch_last_used(key)
    first = KioskKey.objects.get(pk=key.pk).last_used_at
    with django_assert_num_queries(0):
        touch_last_used(key)
    a_while_ago = timezone.now() - timedelta(minutes=2)
    KioskKey.objects.filter(pk=key.pk).update(last_used_at=a_while_ago)
    key.last_used_at = a_while_ago
    with django_assert_num_queries(1):
        touch_last_used(key)

    assert first is not None
    assert KioskKey.objects.get(pk=key.pk).last_used_at > a_while_ago


# --- Sale creation -----------------------------------------------------------------------------------


def test_a_kiosk_with_its_key_sells_for_its_location(api, sale_request, key_a, location, required):
    response = create(api, sale_request, **bearer(key_a))

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["location_id"] == location.pk
    assert KioskKey.objects.get(location=location).last_used_at is not None


def test_a_key_of_location_a_cannot_create_for_location_b(api, sale_request, key_a, location, other_location):
    response = create(api, {**sale_request, "location_id": other_location.pk}, **bearer(key_a))

    assert error_of(response) == (
        403,
        "Kiosk key does not belong to this location",
        {"location_id": other_location.pk, "kiosk_location_id": location.pk},
    )
    assert not Sale.objects.exists()


def test_the_location_check_comes_right_after_the_body(api, sale_request, key_a):
    # An unknown location with another location's key: 403, not 404 (no probing for locations).
    response = create(api, {**sale_request, "location_id": 9999}, **bearer(key_a))
    invalid = create(api, {**sale_request, "location_id": "x"}, **bearer(key_a))

    assert error_of(response)[:2] == (403, "Kiosk key does not belong to this location")
    assert error_of(invalid)[:2] == (422, "Validation error")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer pbk_notarealkeynotarealkeynotarealkeynotarealk",
        "Bearer somethingelse",
        "Bearer ",
        "Basic c3RhZmY6cGhvdG9ib3gtZGVtbw==",
        "pbk_keywithoutscheme",
    ],
)
def test_an_unknown_or_malformed_key_is_401(api, sale_request, header):
    response = create(api, sale_request, HTTP_AUTHORIZATION=header)

    assert error_of(response) == (401, "Invalid kiosk key", {})
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Sale.objects.exists()


def test_a_revoked_key_fails_at_once(api, sale_request, location, key_a):
    assert create(api, sale_request, **bearer(key_a)).status_code == 201

    revoke_kiosk_key(key=KioskKey.objects.get(location=location))
    response = create(api, sale_request, **bearer(key_a))

    assert error_of(response) == (401, "Invalid kiosk key", {})
    assert Sale.objects.count() == 1


def test_a_revoked_key_fails_even_in_optional_mode(api, sale_request, location, key_a, settings):
    settings.KIOSK_AUTH = "optional"
    revoke_kiosk_key(key=KioskKey.objects.get(location=location))

    assert create(api, sale_request, **bearer(key_a)).status_code == 401


def test_required_mode_refuses_a_kiosk_without_a_key(api, sale_request, required):
    response = create(api, sale_request)

    assert error_of(response) == (401, "Kiosk key required", {})
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_optional_mode_still_serves_kiosks_without_a_key(api, sale_request, settings):
    settings.KIOSK_AUTH = "optional"

    assert create(api, sale_request).status_code == 201


def test_rotation_both_keys_work_until_the_old_one_is_revoked(api, sale_request, location, required):
    old_key, old = issue_kiosk_key(location=location, label="old tablet")
    _, new = issue_kiosk_key(location=location, label="new tablet")

    assert create(api, sale_request, **bearer(old)).status_code == 201
    assert create(api, sale_request, **bearer(new)).status_code == 201
    revoke_kiosk_key(key=old_key)
    assert create(api, sale_request, **bearer(old)).status_code == 401
    assert create(api, sale_request, **bearer(new)).status_code == 201


# --- Idempotency-Key with kiosk keys ---------------------------------------------------------------


def test_a_retry_with_the_same_key_and_idempotency_key_replays(api, sale_request, key_a):
    first = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="retry-1", **bearer(key_a))
    again = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="retry-1", **bearer(key_a))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Sale.objects.count() == 1


def test_another_kiosk_never_gets_a_replay_of_this_kiosks_answer(api, sale_request, key_a, key_b):
    first = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-retry", **bearer(key_a))

    # Kiosk B, same Idempotency-Key and the very same body (location A): refused, nothing replayed.
    stolen = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-retry", **bearer(key_b))

    assert first.status_code == 201
    assert error_of(stolen)[:2] == (403, "Kiosk key does not belong to this location")
    assert first.json()["data"]["qr_string"] not in stolen.content.decode()


def test_a_caller_without_a_key_never_gets_a_replay_of_a_kiosks_answer(api, sale_request, key_a):
    first = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-retry", **bearer(key_a))

    anonymous = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-retry")

    assert first.status_code == anonymous.status_code == 201
    assert anonymous.json()["data"]["external_id"] != first.json()["data"]["external_id"]
    assert Sale.objects.count() == 2


def test_a_kiosk_keeps_its_idempotency_keys_across_a_key_rotation(api, sale_request, location):
    old_key, old = issue_kiosk_key(location=location, label="old")
    _, new = issue_kiosk_key(location=location, label="new")
    first = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="lost-answer", **bearer(old))
    revoke_kiosk_key(key=old_key)

    retried = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="lost-answer", **bearer(new))

    assert retried.status_code == 201
    assert retried.json() == first.json()


def test_a_forged_scoped_idempotency_key_is_refused(api, sale_request, location, key_a):
    create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1", **bearer(key_a))
    stored = IdempotencyKey.objects.get().key

    # The stored form has spaces, which no Idempotency-Key header may contain.
    response = create(api, sale_request, HTTP_IDEMPOTENCY_KEY=stored)

    assert " " in stored
    assert error_of(response)[:2] == (400, "Invalid Idempotency-Key header")


# --- Photos -----------------------------------------------------------------------------------------


def photos_url(sale) -> str:
    return f"/api/v1/transactions/{sale.external_id}/photos"


def test_a_kiosk_uploads_and_lists_its_own_sales_photos(api, make_sale, key_a, required):
    sale = make_sale(status=SaleStatus.COMPLETED)

    uploaded = api.post(photos_url(sale), {"files": [jpeg("a.jpg")]}, format="multipart", **bearer(key_a))
    listed = api.get(photos_url(sale), **bearer(key_a))

    assert uploaded.status_code == 200, uploaded.json()
    assert listed.status_code == 200
    assert listed.json()["photo_count"] == 1


def test_a_key_of_location_a_cannot_upload_for_location_b(api, make_sale, other_location, key_a, location):
    sale_b = make_sale(location=other_location, status=SaleStatus.COMPLETED)

    response = api.post(photos_url(sale_b), {"files": [jpeg("a.jpg")]}, format="multipart", **bearer(key_a))

    assert error_of(response) == (
        403,
        "Kiosk key does not belong to this location",
        {"external_id": sale_b.external_id, "location_id": other_location.pk, "kiosk_location_id": location.pk},
    )
    assert not sale_b.photos.exists()


def test_a_key_of_location_a_cannot_list_location_bs_photos(api, make_sale, other_location, key_a, key_b):
    sale_b = make_sale(location=other_location, status=SaleStatus.COMPLETED)
    assert api.post(photos_url(sale_b), {"files": [jpeg("b.jpg")]}, format="multipart", **bearer(key_b)).status_code

    response = api.get(photos_url(sale_b), **bearer(key_a))

    assert error_of(response)[:2] == (403, "Kiosk key does not belong to this location")
    assert "url" not in response.content.decode()


def test_a_revoked_key_cannot_upload(api, make_sale, location, key_a):
    sale = make_sale(status=SaleStatus.COMPLETED)
    revoke_kiosk_key(key=KioskKey.objects.get(location=location))

    response = api.post(photos_url(sale), {"files": [jpeg("a.jpg")]}, format="multipart", **bearer(key_a))

    assert error_of(response) == (401, "Invalid kiosk key", {})
    assert not sale.photos.exists()


def test_required_mode_refuses_photo_requests_without_a_key(api, make_sale, required):
    sale = make_sale(status=SaleStatus.COMPLETED)

    upload = api.post(photos_url(sale), {"files": [jpeg("a.jpg")]}, format="multipart")
    listing = api.get(photos_url(sale))

    assert error_of(upload) == (401, "Kiosk key required", {})
    assert error_of(listing) == (401, "Kiosk key required", {})
    assert not sale.photos.exists()


def test_poll_qr_and_gallery_need_no_key(api, client, make_sale, required):
    sale = make_sale()

    assert api.get(f"/api/v1/transactions/external/{sale.external_id}").status_code == 200
    assert api.get(f"/api/v1/transactions/external/{sale.external_id}/qr.svg").status_code == 200
    assert client.get(f"/gallery/{sale.external_id}/{sale.gallery_key}").status_code == 404  # unpaid: no gallery


# --- The deployment check ------------------------------------------------------------------------------


def warnings_ids(settings, **values) -> set[str]:
    for name, value in values.items():
        setattr(settings, name, value)
    return {message.id for message in run_checks(include_deployment_checks=True) if message.id.startswith("photobox")}


def test_check_warns_while_kiosk_keys_are_optional_in_production(settings):
    assert "photobox.W001" in warnings_ids(settings, DEBUG=False, KIOSK_AUTH="optional")
    assert "photobox.W001" not in warnings_ids(settings, DEBUG=False, KIOSK_AUTH="required")
    assert "photobox.W001" not in warnings_ids(settings, DEBUG=True, KIOSK_AUTH="optional")


def test_check_warns_behind_a_proxy_without_a_trusted_proxy_count(settings):
    proxy = ("HTTP_X_FORWARDED_PROTO", "https")

    assert "photobox.W002" in warnings_ids(settings, DEBUG=False, SECURE_PROXY_SSL_HEADER=proxy, TRUSTED_PROXY_COUNT=0)
    assert "photobox.W002" not in warnings_ids(
        settings, DEBUG=False, SECURE_PROXY_SSL_HEADER=proxy, TRUSTED_PROXY_COUNT=1
    )
    assert "photobox.W002" not in warnings_ids(
        settings, DEBUG=False, SECURE_PROXY_SSL_HEADER=None, TRUSTED_PROXY_COUNT=0
    )


# --- The admin ------------------------------------------------------------------------------------------


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return user


def test_staff_generate_a_key_and_see_it_once(client, staff, location):
    change_url = reverse("admin:locations_location_change", args=[location.pk])
    generate_url = reverse("admin:locations_location_generate_kiosk_key", args=[location.pk])
    assert generate_url in client.get(change_url).content.decode(), "the location's page has the button"

    form = client.get(generate_url)
    response = client.post(generate_url, {"label": "PB-001 new tablet"})

    assert form.status_code == 200
    assert response.status_code == 200
    key = KioskKey.objects.get(location=location)
    plaintext = response.context["plaintext"]
    assert key.key_hash == hash_key(plaintext)
    assert key.created_by == staff
    assert key.label == "PB-001 new tablet"
    page = response.content.decode()
    assert plaintext in page
    assert "shown only this once" in page
    assert "no-store" in response["Cache-Control"]
    # Afterwards only the prefix is ever shown.
    again = client.get(change_url).content.decode()
    assert key.prefix in again
    assert plaintext not in again


def test_the_generated_key_works_on_the_api(client, api, staff, location, sale_request, required):
    response = client.post(
        reverse("admin:locations_location_generate_kiosk_key", args=[location.pk]), {"label": "tablet"}
    )

    assert create(api, sale_request, **bearer(response.context["plaintext"])).status_code == 201


def test_a_third_key_is_refused_with_a_reason(client, staff, location):
    issue_kiosk_key(location=location, label="one")
    issue_kiosk_key(location=location, label="two")

    response = client.post(reverse("admin:locations_location_generate_kiosk_key", args=[location.pk]), {"label": "x"})

    assert response.status_code == 200
    assert "revoke one before making another" in response.content.decode()
    assert "plaintext" not in response.context
    assert KioskKey.objects.count() == 2


def test_staff_revoke_a_key_from_the_location_page(client, api, staff, location, sale_request):
    key, plaintext = issue_kiosk_key(location=location, label="lost tablet")
    change_url = reverse("admin:locations_location_change", args=[location.pk])
    revoke_url = reverse("admin:locations_location_revoke_kiosk_key", args=[location.pk, key.pk])
    assert revoke_url in client.get(change_url).content.decode()

    confirm = client.get(revoke_url)
    response = client.post(revoke_url)

    assert confirm.status_code == 200
    assert "lost tablet" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == change_url
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert create(api, sale_request, **bearer(plaintext)).status_code == 401


def test_a_key_of_another_location_cannot_be_revoked_through_this_one(client, staff, location, other_location):
    key_b, _ = issue_kiosk_key(location=other_location, label="b")

    client.post(reverse("admin:locations_location_revoke_kiosk_key", args=[location.pk, key_b.pk]))

    key_b.refresh_from_db()
    assert key_b.revoked_at is None


def test_staff_without_the_permission_cannot_make_keys(client, location):
    user = get_user_model().objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_location"))
    client.force_login(user)

    page = client.get(reverse("admin:locations_location_change", args=[location.pk]))
    response = client.post(reverse("admin:locations_location_generate_kiosk_key", args=[location.pk]), {"label": "x"})

    assert page.status_code == 200
    assert reverse("admin:locations_location_generate_kiosk_key", args=[location.pk]) not in page.content.decode()
    assert response.status_code == 403
    assert not KioskKey.objects.exists()
