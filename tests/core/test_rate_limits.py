"""Rate limits on the public endpoints: limited requests get 429 with Retry-After; the client is
who the trusted proxies say it is, so a forged X-Forwarded-For does not reset a limit; a kiosk
polling its own sale is never limited."""

import io
import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.env import Rate, parse_rate
from locations.services import issue_kiosk_key
from payments.models import PaymentEvent, SaleStatus
from tests.support.processes import PRODUCTION, start_up_error, started
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions"


def create(api, body, **headers):
    return api.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def assert_limited(response, *, retry_after: int | None = None) -> None:
    assert response.status_code == 429, response.content
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    if retry_after is not None:
        assert wait == retry_after
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert body["success"] is False
        assert body["message"] == "Too many requests"
        assert body["details"] == {"retry_after": wait}


# --- Rates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/minute", Rate(30, 60)),
        ("30/min", Rate(30, 60)),
        ("30/m", Rate(30, 60)),
        ("5/second", Rate(5, 1)),
        ("1000/hour", Rate(1000, 3600)),
        ("2/days", Rate(2, 86400)),
        (" 10 / Minute ", Rate(10, 60)),
        ("off", None),
    ],
)
def test_rates_are_written_count_per_period(text, rate):
    assert parse_rate(text) == rate


def test_a_rate_limit_can_be_set_or_switched_off_from_the_environment():
    values = started(
        {**PRODUCTION, "RATE_LIMIT_SALE_CREATE": "100/hour", "RATE_LIMIT_GALLERY_MISSES": "off"},
        "RATE_LIMIT_SALE_CREATE",
        "RATE_LIMIT_GALLERY_MISSES",
        "RATE_LIMIT_PHOTO_MISSES",
    )

    assert values == {
        "RATE_LIMIT_SALE_CREATE": "100/3600s",
        "RATE_LIMIT_GALLERY_MISSES": None,
        "RATE_LIMIT_PHOTO_MISSES": "20/60s",
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"RATE_LIMIT_SALE_CREATE": "30 per minute"}, "RATE_LIMIT_SALE_CREATE"),
        ({"RATE_LIMIT_WEBHOOK_BAD_TOKEN": "0/minute"}, "RATE_LIMIT_WEBHOOK_BAD_TOKEN"),
        ({"RATE_LIMIT_PHOTO_MISSES": "20/fortnight"}, "RATE_LIMIT_PHOTO_MISSES"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT"),
        ({"TRUSTED_PROXY_COUNT": "nginx"}, "TRUSTED_PROXY_COUNT"),
        ({"KIOSK_AUTH": "sometimes"}, "KIOSK_AUTH"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL"),
        ({"ADMIN_LOGIN_FAILURE_LIMIT": "0"}, "ADMIN_LOGIN_FAILURE_LIMIT"),
    ],
)
def test_bad_limit_settings_stop_start_up_naming_the_variable(change, named):
    assert named in start_up_error({**PRODUCTION, **change})


def test_the_shared_cache_is_redis_with_redis_url_else_the_database():
    with_redis = started({**PRODUCTION, "REDIS_URL": "redis://127.0.0.1:6379/3"}, "CACHES")["CACHES"]["default"]
    without = started(PRODUCTION, "CACHES")["CACHES"]["default"]

    assert (with_redis["BACKEND"], with_redis["LOCATION"]) == (
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/3",
    )
    assert (without["BACKEND"], without["LOCATION"]) == (
        "django.core.cache.backends.db.DatabaseCache",
        "photobox_cache",
    )


# --- Sale creation ---------------------------------------------------------------------------------


@pytest.fixture
def three_sales_a_minute(settings):
    settings.RATE_LIMIT_SALE_CREATE = Rate(3, 60)


def test_sale_creation_is_limited_per_ip_without_a_key(api, sale_request, three_sales_a_minute, clock):
    answers = [create(api, sale_request).status_code for _ in range(3)]
    clock.now += 20

    limited = create(api, sale_request)

    assert answers == [201, 201, 201]
    assert_limited(limited, retry_after=40)


def test_the_limit_ends_with_its_window(api, sale_request, three_sales_a_minute, clock):
    for _ in range(4):
        create(api, sale_request)
    clock.now += 60

    assert create(api, sale_request).status_code == 201


def test_each_kiosk_key_has_its_own_limit_even_behind_one_ip(
    api, sale_request, location, make_location, three_sales_a_minute, clock
):
    other = make_location()
    _, key_a = issue_kiosk_key(location=location, label="a")
    _, key_b = issue_kiosk_key(location=other, label="b")
    for _ in range(3):
        assert create(api, sale_request, HTTP_AUTHORIZATION=f"Bearer {key_a}").status_code == 201

    limited = create(api, sale_request, HTTP_AUTHORIZATION=f"Bearer {key_a}")
    other_kiosk = create(api, {**sale_request, "location_id": other.pk}, HTTP_AUTHORIZATION=f"Bearer {key_b}")
    without_key = create(api, sale_request)

    assert_limited(limited)
    assert other_kiosk.status_code == 201
    assert without_key.status_code == 201, "callers without a key are counted by IP, apart from kiosks with keys"


def test_a_bad_kiosk_key_is_401_and_not_counted(api, sale_request, three_sales_a_minute, clock):
    for _ in range(5):
        assert create(api, sale_request, HTTP_AUTHORIZATION="Bearer pbk_wrong").status_code == 401

    assert create(api, sale_request).status_code == 201


def test_a_limited_retry_is_not_stored_under_its_idempotency_key(api, sale_request, three_sales_a_minute, clock):
    for _ in range(3):
        create(api, sale_request)
    assert_limited(create(api, sale_request, HTTP_IDEMPOTENCY_KEY="after-limit"))
    clock.now += 60

    assert create(api, sale_request, HTTP_IDEMPOTENCY_KEY="after-limit").status_code == 201


# --- Who the client is: X-Forwarded-For cannot be forged ---------------------------------------------


def spoofed(n: int) -> dict:
    return {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"}


def test_without_trusted_proxies_a_forged_x_forwarded_for_does_not_reset_the_limit(
    api, sale_request, three_sales_a_minute, clock, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    answers = [create(api, sale_request, **spoofed(n)).status_code for n in range(3)]

    limited = create(api, sale_request, **spoofed(99))

    assert answers == [201, 201, 201]
    assert_limited(limited)


def test_behind_one_proxy_a_forged_x_forwarded_for_does_not_reset_the_limit(
    api, sale_request, three_sales_a_minute, clock, settings
):
    settings.TRUSTED_PROXY_COUNT = 1

    # nginx appends the address it saw (198.51.100.7) to whatever the client sent.
    def via_proxy(forged: str) -> dict:
        return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": f"{forged}, 198.51.100.7"}

    answers = [create(api, sale_request, **via_proxy(f"203.0.113.{n}")).status_code for n in range(3)]
    limited = create(api, sale_request, **via_proxy("10.0.0.1, 203.0.113.200"))
    someone_else = create(api, sale_request, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.8")

    assert answers == [201, 201, 201]
    assert_limited(limited)
    assert someone_else.status_code == 201, "another client behind the same proxy has its own limit"


def test_behind_two_proxies_the_address_the_outer_proxy_saw_counts(api, sale_request, three_sales_a_minute, settings):
    settings.TRUSTED_PROXY_COUNT = 2

    def via(forged: str, client: str) -> dict:
        # load balancer appends the client; nginx appends the load balancer.
        return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": f"{forged}, {client}, 10.0.0.2"}

    for n in range(3):
        create(api, sale_request, **via(f"203.0.113.{n}", "198.51.100.7"))

    assert_limited(create(api, sale_request, **via("203.0.113.50", "198.51.100.7")))
    assert create(api, sale_request, **via("203.0.113.50", "198.51.100.9")).status_code == 201


# --- Photo list and upload misses --------------------------------------------------------------------


@pytest.fixture
def three_misses(settings, tmp_path):
    settings.RATE_LIMIT_PHOTO_MISSES = Rate(3, 60)
    settings.MEDIA_ROOT = tmp_path


def jpeg(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (sum(name.encode()) % 256, 10, 10)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_photo_list_misses_are_limited_then_every_photo_request_waits(api, make_sale, three_misses, clock):
    paid = make_sale(status=SaleStatus.COMPLETED)
    assert api.post(f"/api/v1/transactions/{paid.external_id}/photos", {"files": [jpeg("a.jpg")]}).status_code == 200
    hits = [api.get(f"/api/v1/transactions/{paid.external_id}/photos").status_code for _ in range(5)]
    misses = [api.get(f"/api/v1/transactions/TRX-1-NOPE{n}/photos").status_code for n in range(3)]

    over = api.get("/api/v1/transactions/TRX-1-NOPE9/photos")
    even_a_hit = api.get(f"/api/v1/transactions/{paid.external_id}/photos")
    clock.now += 60
    later = api.get(f"/api/v1/transactions/{paid.external_id}/photos")

    assert hits == [200] * 5, "found photo lists do not count"
    assert misses == [404, 404, 404]
    assert_limited(over)
    assert_limited(even_a_hit)
    assert later.status_code == 200


def test_upload_misses_count_too(api, db, three_misses):
    for n in range(3):
        assert api.post(f"/api/v1/transactions/TRX-1-NOPE{n}/photos", {"files": [jpeg("a.jpg")]}).status_code == 404

    assert_limited(api.post("/api/v1/transactions/TRX-1-NOPE9/photos", {"files": [jpeg("a.jpg")]}))


def test_photo_misses_forged_x_forwarded_for_changes_nothing(api, db, three_misses, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(3):
        api.get(
            f"/api/v1/transactions/TRX-1-NOPE{n}/photos",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7",
        )

    assert_limited(
        api.get(
            "/api/v1/transactions/TRX-1-NOPE9/photos",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.7, 198.51.100.7",
        )
    )


def test_a_kiosk_with_a_key_is_not_limited_by_strangers_misses_on_its_ip(api, make_sale, location, three_misses):
    _, key = issue_kiosk_key(location=location, label="k")
    paid = make_sale(status=SaleStatus.COMPLETED)
    for n in range(4):
        api.get(f"/api/v1/transactions/TRX-1-NOPE{n}/photos")

    response = api.get(f"/api/v1/transactions/{paid.external_id}/photos", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 404  # no photos yet: answered, not limited
    assert response.json()["message"] == "No photos found for transaction"


# --- The gallery ---------------------------------------------------------------------------------------


@pytest.fixture
def three_gallery_misses(settings):
    settings.RATE_LIMIT_GALLERY_MISSES = Rate(3, 60)


def test_gallery_misses_are_limited_with_a_friendly_page(client, make_sale, three_gallery_misses, clock):
    paid = make_sale(status=SaleStatus.COMPLETED)
    good = f"/gallery/{paid.external_id}/{paid.gallery_key}"
    assert client.get(good).status_code == 200
    misses = [client.get(f"/gallery/{paid.external_id}/wrong-key-{n}").status_code for n in range(3)]
    clock.now += 30

    over = client.get(f"/gallery/{paid.external_id}/wrong-key-9")
    right_link_too = client.get(good)
    download_too = client.get(f"{good}/download")

    assert misses == [404, 404, 404]
    for response in (over, right_link_too, download_too):
        assert_limited(response, retry_after=30)
        assert response["Content-Type"].startswith("text/html")
        assert response["Referrer-Policy"] == "no-referrer"
    page = over.content.decode()
    assert "Mohon tunggu sebentar" in page  # customers read Indonesian
    assert paid.gallery_key not in right_link_too.content.decode()
    clock.now += 30
    assert client.get(good).status_code == 200


def test_gallery_misses_cannot_dodge_the_limit_with_x_forwarded_for(client, make_sale, three_gallery_misses):
    paid = make_sale(status=SaleStatus.COMPLETED)
    for n in range(3):
        client.get(f"/gallery/{paid.external_id}/wrong-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert_limited(client.get(f"/gallery/{paid.external_id}/wrong-x", HTTP_X_FORWARDED_FOR="203.0.113.77"))


# --- The webhook ------------------------------------------------------------------------------------------


@pytest.fixture
def three_bad_tokens(settings):
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(3, 60)


def test_wrong_webhook_tokens_are_limited_and_kept_only_in_brief(api, make_sale, three_bad_tokens, clock):
    sale = make_sale(xendit_qr_id="qr_rl_1")
    body = webhook_fixture(
        "qr_payment_2022.json", external_id=sale.external_id, qr_id="qr_rl_1", amount=40000, payment_id="qrpy_rl"
    )
    answers = [post_webhook(api, body, token=t).status_code for t in ("guess-1", None, "guess-2")]

    limited = [post_webhook(api, body, token="guess-3"), post_webhook(api, body, token=None)]

    assert answers == [403, 401, 403]
    for answer in limited:
        assert_limited(answer)
    kept = list(PaymentEvent.objects.order_by("pk").values_list("outcome", "outcome_detail"))
    assert [outcome for outcome, _ in kept] == ["rejected"] * 5
    assert kept[-1][1] == "Too many missing or wrong tokens"
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    clock.now += 60
    assert post_webhook(api, body, token="guess-4").status_code == 403


def test_xendit_is_served_from_an_address_that_sent_wrong_tokens(api, make_sale, three_bad_tokens):
    """Xendit retries a refused webhook for a day: its own must never be refused because someone
    behind the same address (a shared proxy) guessed tokens."""
    sale = make_sale(xendit_qr_id="qr_rl_3")
    body = webhook_fixture(
        "qr_payment_2022.json", external_id=sale.external_id, qr_id="qr_rl_3", amount=40000, payment_id="qrpy_rl3"
    )
    for token in ("guess-1", "guess-2", "guess-3", "guess-4"):
        post_webhook(api, body, token=token)

    answer = post_webhook(api, body)

    assert answer.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert PaymentEvent.objects.filter(outcome="applied").count() == 1


def test_xendit_with_the_right_token_is_never_counted(api, make_sale, three_bad_tokens):
    sale = make_sale(xendit_qr_id="qr_rl_2")
    body = webhook_fixture(
        "qr_payment_2022.json", external_id=sale.external_id, qr_id="qr_rl_2", amount=40000, payment_id="qrpy_rl2"
    )

    answers = [post_webhook(api, body).status_code for _ in range(10)]

    assert answers == [200] * 10


def test_stored_webhook_events_name_the_real_client_behind_the_proxy(api, db, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    post_webhook(api, {"x": 1}, token=None, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")

    assert PaymentEvent.objects.get().remote_addr == "198.51.100.7"


# --- The poll -------------------------------------------------------------------------------------------------


def test_a_kiosk_polling_its_sale_every_second_is_never_limited(api, make_sale, settings, clock):
    # Even with every other limit at its tightest.
    settings.RATE_LIMIT_SALE_CREATE = settings.RATE_LIMIT_PHOTO_MISSES = Rate(1, 60)
    settings.RATE_LIMIT_GALLERY_MISSES = settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(1, 60)
    sale = make_sale()
    answers = []
    for _ in range(15 * 60):  # a whole sale's life, one poll a second
        answers.append(api.get(f"/api/v1/transactions/external/{sale.external_id}").status_code)
        clock.now += 1

    assert set(answers) == {200}


# --- A cache that cannot be reached ------------------------------------------------------------------------


def test_sales_go_on_when_the_cache_is_down(api, sale_request, cache_down, caplog):
    caplog.set_level(logging.WARNING, logger="photobox.ratelimit")

    response = create(api, sale_request)

    assert response.status_code == 201
    assert "not limiting" in caplog.text


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_forty_parallel_wrong_tokens_against_a_limit_of_ten_let_exactly_ten_through(settings, attempt):
    """The database counter is one atomic upsert: no two requests read the same count."""
    from collections import Counter

    from rest_framework.test import APIClient

    from tests.support.concurrency import run_concurrently

    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = parse_rate("10/minute")
    # Production without Redis: the counters live in the database.
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "photobox_cache"},
    }

    answers = run_concurrently(lambda _: post_webhook(APIClient(), {"x": 1}, token="guess").status_code, 40)

    assert Counter(answers) == {403: 10, 429: 30}


def test_expire_sales_purges_the_counters_of_windows_that_are_over(db):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from core.models import RateLimitCounter

    RateLimitCounter.objects.create(key="over", count=3, expires_at=timezone.now() - timedelta(seconds=1))
    RateLimitCounter.objects.create(key="running", count=3, expires_at=timezone.now() + timedelta(seconds=30))

    call_command("expire_sales", stdout=io.StringIO())

    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["running"]


# --- IPv6: a client is its network -------------------------------------------------------------------
def in_one_64(n: int) -> dict:
    """Another address of the same /64 each time, as a client rotating its IPv6 addresses would."""
    return {"REMOTE_ADDR": f"2001:db8:1:2:{n:x}:{n * 7 % 65536:x}::{n + 1:x}"}


def test_sales_from_one_ipv6_64_share_one_limit(api, sale_request, settings, clock):
    settings.RATE_LIMIT_SALE_CREATE = parse_rate("3/minute")

    answers = [create(api, sale_request, **in_one_64(n)).status_code for n in range(5)]
    next_network = create(api, sale_request, REMOTE_ADDR="2001:db8:1:3::1")

    assert answers == [201, 201, 201, 429, 429]
    assert next_network.status_code == 201


def test_gallery_misses_from_one_ipv6_64_share_one_limit(client, make_sale, three_gallery_misses, clock):
    paid = make_sale(status=SaleStatus.COMPLETED)

    answers = [client.get(f"/gallery/{paid.external_id}/wrong-{n}", **in_one_64(n)).status_code for n in range(4)]

    assert answers[:3] == [404, 404, 404]
    assert_limited(client.get(f"/gallery/{paid.external_id}/wrong-x", **in_one_64(9)))


def test_wrong_webhook_tokens_from_one_ipv6_64_share_one_limit(api, db, three_bad_tokens, clock):
    answers = [post_webhook(api, {"x": n}, token="guess", **in_one_64(n)).status_code for n in range(5)]

    assert answers == [403, 403, 403, 429, 429]


def test_the_ipv6_network_size_is_a_setting(api, sale_request, settings, clock):
    settings.RATE_LIMIT_SALE_CREATE = parse_rate("1/minute")
    settings.RATE_LIMIT_IPV6_PREFIX = 128  # every address on its own

    answers = [create(api, sale_request, **in_one_64(n)).status_code for n in range(3)]

    assert answers == [201, 201, 201]


def test_ipv4_clients_are_still_counted_by_address(api, sale_request, settings, clock):
    settings.RATE_LIMIT_SALE_CREATE = parse_rate("1/minute")

    answers = [create(api, sale_request, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(3)]

    assert answers == [201, 201, 201]


# --- The maintenance endpoint ---------------------------------------------------------------------------
def test_wrong_maintenance_tokens_are_limited_like_the_webhooks(api, db, settings, clock):
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = parse_rate("3/minute")
    settings.MAINTENANCE_TOKEN = "m" * 40

    answers = [
        api.post("/api/v1/maintenance/cleanup", HTTP_X_MAINTENANCE_TOKEN=f"guess-{n}").status_code for n in range(5)
    ]
    right_token = api.post("/api/v1/maintenance/cleanup", HTTP_X_MAINTENANCE_TOKEN="m" * 40)

    assert answers == [403, 403, 403, 429, 429]
    assert right_token.status_code == 200  # the right token is never counted nor refused
    clock.now += 60
    assert api.post("/api/v1/maintenance/cleanup", HTTP_X_MAINTENANCE_TOKEN="guess").status_code == 403


# --- Where the miss count is read (mutation survivors, issue 17) -----------------------------------


def a_photo_list_miss(api, n: int):
    return api.get(f"/api/v1/transactions/TRX-1-NOPE{n}/photos")


def test_photo_misses_are_limited_with_the_counters_in_the_database(api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.RATE_LIMIT_PHOTO_MISSES = Rate(3, 60)
    # Production without Redis: the counters live in the database.
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "photobox_cache"},
    }

    answers = [a_photo_list_miss(api, n).status_code for n in range(4)]

    assert answers == [404, 404, 404, 429]


def test_under_a_limit_of_one_miss_the_first_request_is_served(api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.RATE_LIMIT_PHOTO_MISSES = Rate(1, 60)

    assert [a_photo_list_miss(api, n).status_code for n in range(2)] == [404, 429]


def test_photo_requests_go_on_when_the_cache_is_down_and_the_warnings_name_the_limit(
    api, settings, cache_down, caplog, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    caplog.set_level(logging.WARNING, logger="photobox.ratelimit")

    assert a_photo_list_miss(api, 1).status_code == 404

    assert [(r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("rate limit photo-miss: the cache cannot be read; not limiting", True),
        ("rate limit photo-miss: the cache cannot be written; not limiting", True),
    ]


def test_a_client_over_its_limit_waits_at_least_a_second(api, three_misses, clock):
    clock.now += 59.5  # half a second before the window ends
    for n in range(3):
        a_photo_list_miss(api, n)

    assert_limited(a_photo_list_miss(api, 9), retry_after=1)


def test_going_over_a_limit_is_logged_with_the_limit_and_the_client(
    api, sale_request, three_sales_a_minute, settings, caplog
):
    caplog.set_level(logging.WARNING, logger="photobox.ratelimit")

    for _ in range(4):
        create(api, sale_request)

    [record] = caplog.records
    rate = settings.RATE_LIMIT_SALE_CREATE
    assert record.getMessage() == f"rate limit sale-create exceeded ({rate}) by ip:127.0.0.1"
    assert record.rate_limit == "sale-create"


def test_a_kiosk_over_its_sales_limit_waits_at_least_a_second(api, sale_request, three_sales_a_minute, clock):
    clock.now += 59.5  # half a second before the window ends
    for _ in range(3):
        create(api, sale_request)

    assert_limited(create(api, sale_request), retry_after=1)
