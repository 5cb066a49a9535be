"""A customer's voucher at the kiosk: a discount on the QR code, or a free session with no QR code."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from core import errors
from payments import sale_status, services, transitions
from payments.api.serializers import SaleWithPaymentSerializer
from payments.models import FREE_SESSION_CHANNEL, Sale, SaleCause, SaleStatus
from payments.refunds.services import RefundRefused, request_refund
from payments.simulation import simulate_payment
from pricing.models import CODE_ALPHABET, Voucher, VoucherKind
from pricing.vouchers import RANDOM_LENGTH, new_code
from tests.support.webhooks import post_webhook, webhook_fixture

URL = "/api/v1/transactions"
pytestmark = pytest.mark.django_db


def create(api, body, **headers):
    return api.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def uses(voucher: Voucher) -> int:
    voucher.refresh_from_db()
    return voucher.uses


# --- A partial discount ------------------------------------------------------------------------
def test_a_voucher_lowers_what_the_customer_pays_and_the_answer_shows_it(api, sale_request, make_voucher):
    voucher = make_voucher("HEMAT25", kind=VoucherKind.PERCENT, value=Decimal(25))

    response = create(api, {**sale_request, "voucher_code": "hemat-25"})

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["price"]["price"] == 40000
    assert data["amount"] == 30000
    assert data["voucher"] == {"code": "HEMAT25", "discount": 10000}
    assert list(data)[5:9] == ["price", "amount", "voucher", "status"]
    assert data["status"] == "PENDING"
    assert data["qr_string"]
    sale = Sale.objects.get()
    assert (sale.list_price, sale.discount, sale.amount, sale.voucher) == (40000, 10000, 30000, voucher)
    assert uses(voucher) == 1


def test_the_qr_code_asks_xendit_for_the_discounted_amount(api, sale_request, make_voucher, fake_xendit):
    make_voucher("HEMAT25", kind=VoucherKind.FIXED, value=Decimal(15000))

    assert create(api, {**sale_request, "voucher_code": "HEMAT25"}).status_code == 201

    [request] = fake_xendit.requests
    assert json.loads(request.body)["amount"] == 25000


def test_the_poll_shows_the_sale_as_create_did(api, sale_request, make_voucher):
    make_voucher("HEMAT25")
    created = create(api, {**sale_request, "voucher_code": "HEMAT25"}).json()["data"]

    polled = api.get(f"{URL}/external/{created['external_id']}").json()["data"]

    assert {key: value for key, value in polled.items() if key != "paid_at"} == created


@pytest.mark.parametrize("code", ["", "   ", None])
def test_an_empty_voucher_field_is_no_voucher(api, sale_request, code):
    response = create(api, {**sale_request, "voucher_code": code})

    assert response.status_code == 201
    assert (response.json()["data"]["amount"], response.json()["data"]["voucher"]) == (40000, None)


def test_a_webhook_must_pay_the_discounted_amount(api, make_sale, make_voucher):
    sale = make_sale(amount=30000, discount=10000, voucher=make_voucher(), voucher_code="HEMAT25", xendit_qr_id="qr_v")

    def pay(amount: int, payment_id: str):
        body = webhook_fixture(
            "qr_payment_2022.json", payment_id=payment_id, amount=amount, qr_id="qr_v", external_id=sale.external_id
        )
        post_webhook(api, body)
        sale.refresh_from_db()

    pay(40000, "qrpy_list_price")
    assert sale.status == SaleStatus.PENDING
    assert sale.needs_review
    pay(30000, "qrpy_right")
    assert sale.status == SaleStatus.COMPLETED


# --- Refusals: 422, the code in details, checked after the quota ----------------------------------
def refusal(api, body) -> tuple[int, str, dict]:
    response = create(api, body)
    return response.status_code, response.json()["message"], response.json()["details"]


def test_an_unknown_code(api, sale_request):
    assert refusal(api, {**sale_request, "voucher_code": "nope-2345"}) == (
        422,
        "Voucher not found",
        {"voucher_code": "NOPE2345"},
    )


@pytest.mark.parametrize(
    "window",
    [
        {"valid_until": timezone.now() - timedelta(minutes=1)},
        {"valid_from": timezone.now() + timedelta(days=1)},
        {"is_active": False},
    ],
)
def test_a_voucher_outside_its_dates_or_switched_off_has_expired(api, sale_request, make_voucher, window):
    make_voucher("HEMAT25", **window)

    status, message, details = refusal(api, {**sale_request, "voucher_code": "HEMAT25"})

    assert (status, message, details["voucher_code"]) == (422, "Voucher expired", "HEMAT25")
    assert {"valid_from", "valid_until"} <= set(details)


def test_a_voucher_for_other_packages(api, sale_request, make_voucher, make_price, price):
    make_voucher("HEMAT25", prices=[make_price(60000)])

    assert refusal(api, {**sale_request, "voucher_code": "HEMAT25"}) == (
        422,
        "Voucher not valid for this package",
        {"voucher_code": "HEMAT25", "price_id": str(price.pk)},
    )


def test_a_voucher_for_other_machines(api, sale_request, make_voucher, make_location, location, price):
    make_voucher("HEMAT25", prices=[price], locations=[make_location()])

    assert refusal(api, {**sale_request, "voucher_code": "HEMAT25"}) == (
        422,
        "Voucher not valid at this location",
        {"voucher_code": "HEMAT25", "location_id": location.pk},
    )


def test_a_voucher_used_up(api, sale_request, make_voucher):
    make_voucher("HEMAT25", max_uses=1)
    assert create(api, {**sale_request, "voucher_code": "HEMAT25"}).status_code == 201

    assert refusal(api, {**sale_request, "voucher_code": "HEMAT25", "email": "other@example.com"}) == (
        422,
        "Voucher already used",
        {"voucher_code": "HEMAT25", "max_uses": 1},
    )


def test_one_use_per_customer_email(api, sale_request, make_voucher):
    make_voucher("HEMAT25", max_uses=None, one_per_email=True)
    assert create(api, {**sale_request, "voucher_code": "HEMAT25"}).status_code == 201

    again = refusal(api, {**sale_request, "voucher_code": "HEMAT25", "email": "Customer@EXAMPLE.com"})
    other = create(api, {**sale_request, "voucher_code": "HEMAT25", "email": "friend@example.com"})

    assert again == (422, "Voucher already used", {"voucher_code": "HEMAT25", "reason": "one use per customer email"})
    assert other.status_code == 201


def test_the_quota_is_checked_before_the_voucher(api, sale_request, price):
    price.quota = 0
    price.save()

    assert refusal(api, {**sale_request, "voucher_code": "NOPE2345"})[1] == "Price quota exceeded"


def test_a_refused_voucher_makes_no_sale_and_uses_nothing(api, sale_request, make_voucher, make_location):
    voucher = make_voucher("HEMAT25", locations=[make_location()])

    create(api, {**sale_request, "voucher_code": "HEMAT25"})

    assert not Sale.objects.exists()
    assert uses(voucher) == 0


def test_a_code_too_long_is_a_validation_error(api, sale_request):
    status, message, details = refusal(api, {**sale_request, "voucher_code": "X" * 65})

    assert (status, message, details["errors"][0]["field"]) == (422, "Validation error", "voucher_code")


# --- Giving the use back ----------------------------------------------------------------------------
def test_a_cancelled_sale_gives_its_voucher_back(api, sale_request, make_voucher):
    voucher = make_voucher("HEMAT25", max_uses=1)
    sale = create(api, {**sale_request, "voucher_code": "HEMAT25"}).json()["data"]

    api.post(f"{URL}/{sale['external_id']}/cancel")

    assert uses(voucher) == 0
    assert create(api, {**sale_request, "voucher_code": "HEMAT25"}).status_code == 201


def test_an_expired_sale_gives_its_voucher_back(api, sale_request, make_voucher):
    voucher = make_voucher("HEMAT25", max_uses=1)
    external_id = create(api, {**sale_request, "voucher_code": "HEMAT25"}).json()["data"]["external_id"]
    Sale.objects.filter(external_id=external_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert api.get(f"{URL}/external/{external_id}").json()["data"]["status"] == "EXPIRED"
    assert uses(voucher) == 0


def test_expire_sales_gives_every_voucher_back_once(make_sale, make_voucher):
    voucher = make_voucher(max_uses=5, uses=3)
    overdue = timezone.now() - timedelta(seconds=1)
    for _ in range(3):
        make_sale(voucher=voucher, voucher_code=voucher.code, amount=36000, discount=4000, expires_at=overdue)

    assert len(transitions.expire(sales=Sale.objects.all(), cause=SaleCause.EXPIRE_SALES, now=timezone.now())) == 3
    assert uses(voucher) == 0


def test_a_sale_the_gateway_could_not_make_gives_its_voucher_back(api, sale_request, make_voucher, fake_xendit):
    voucher = make_voucher("HEMAT25")
    fake_xendit.fail_next = [(400, {"error_code": "API_VALIDATION_ERROR", "message": "no"})]

    assert create(api, {**sale_request, "voucher_code": "HEMAT25"}).status_code == 502

    assert Sale.objects.get().status == SaleStatus.FAILED
    assert uses(voucher) == 0


def test_a_late_payment_takes_the_voucher_again(make_sale, make_voucher):
    voucher = make_voucher(uses=0)
    sale = make_sale(status=SaleStatus.EXPIRED, voucher=voucher, voucher_code=voucher.code, amount=36000, discount=4000)

    simulate_payment(sale=sale)

    sale.refresh_from_db()
    assert (sale.status, sale.paid_amount) == (SaleStatus.COMPLETED, 36000)
    assert uses(voucher) == 1


def test_a_replayed_idempotency_key_uses_the_voucher_once(api, sale_request, make_voucher):
    voucher = make_voucher("HEMAT25", max_uses=5)
    body = {**sale_request, "voucher_code": "HEMAT25"}

    first = create(api, body, HTTP_IDEMPOTENCY_KEY="kiosk-retry-1")
    again = create(api, body, HTTP_IDEMPOTENCY_KEY="kiosk-retry-1")

    assert again.content == first.content
    assert Sale.objects.count() == 1
    assert uses(voucher) == 1


# --- Free sessions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "value"), [(VoucherKind.FREE, None), (VoucherKind.PERCENT, 100), (VoucherKind.FIXED, 50000)]
)
def test_a_voucher_covering_the_price_makes_a_free_session_at_once(api, sale_request, make_voucher, kind, value):
    make_voucher("BEBAS", kind=kind, value=None if value is None else Decimal(value))

    response = create(api, {**sale_request, "voucher_code": "bebas"})

    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["status"], data["qr_string"], data["amount"]) == ("COMPLETED", None, 0)
    assert data["voucher"] == {"code": "BEBAS", "discount": 40000}
    sale = Sale.objects.get()
    assert sale.payment_channel == FREE_SESSION_CHANNEL == "VOUCHER"
    assert sale.paid_at is not None
    assert sale.qr_string is None
    assert [(row.from_status, row.to_status, row.cause) for row in sale.history.all()] == [
        ("", SaleStatus.PENDING, SaleCause.KIOSK),
        (SaleStatus.PENDING, SaleStatus.COMPLETED, SaleCause.VOUCHER),
    ]


def test_a_free_session_is_never_sent_to_xendit(api, sale_request, make_voucher, fake_xendit):
    make_voucher("BEBAS", kind=VoucherKind.FREE)

    assert create(api, {**sale_request, "voucher_code": "BEBAS"}).status_code == 201

    assert fake_xendit.requests == []
    assert Sale.objects.get().xendit_qr_id == ""


def test_a_free_session_polls_as_paid(api, sale_request, make_voucher):
    make_voucher("BEBAS", kind=VoucherKind.FREE)
    created = create(api, {**sale_request, "voucher_code": "BEBAS"}).json()["data"]

    polled = api.get(f"{URL}/external/{created['external_id']}").json()["data"]

    assert polled["status"] == "COMPLETED"
    assert polled["paid_at"]
    assert polled["qr_string"] is None
    assert {key: value for key, value in polled.items() if key != "paid_at"} == created


def test_a_free_session_cannot_be_cancelled_or_refunded(api, sale_request, make_voucher):
    make_voucher("BEBAS", kind=VoucherKind.FREE)
    external_id = create(api, {**sale_request, "voucher_code": "BEBAS"}).json()["data"]["external_id"]
    sale = Sale.objects.get()

    assert api.post(f"{URL}/{external_id}/cancel").json()["message"] == "Transaction already paid"
    with pytest.raises(RefundRefused, match="free session"):
        request_refund(sale=sale, requested_by=None, reason="customer unhappy")


def test_a_refund_never_exceeds_the_discounted_amount_paid(make_sale, make_voucher):
    sale = make_sale(
        status=SaleStatus.COMPLETED,
        amount=30000,
        discount=10000,
        voucher=make_voucher(),
        voucher_code="HEMAT25",
        xendit_payment_id="qrpy_paid",
        paid_amount=30000,
    )

    with pytest.raises(RefundRefused, match=r"At most Rp 30\.000"):
        request_refund(sale=sale, requested_by=None, reason="customer unhappy", amount=Decimal(40000))


def test_the_service_refuses_a_voucher_as_a_domain_error(location, price):
    with pytest.raises(errors.Invalid):
        services.create_sale(
            location_id=location.pk, price_id=price.pk, email="a@example.com", send_invoice=False, voucher_code="X"
        )


# --- One shape, one query --------------------------------------------------------------------------
@pytest.mark.parametrize("free", [False, True])
def test_the_polled_serializer_writes_what_the_poll_writes_for_a_voucher_sale(make_sale, make_voucher, free):
    voucher = make_voucher("BEBAS" if free else "HEMAT25")
    fields = (
        {"amount": 0, "discount": 40000, "payment_channel": FREE_SESSION_CHANNEL, "qr_string": None}
        if free
        else {
            "amount": 36000,
            "discount": 4000,
        }
    )
    sale = make_sale(status=SaleStatus.COMPLETED, voucher=voucher, voucher_code=voucher.code, **fields)
    sale = Sale.objects.select_related("location").get(pk=sale.pk)

    rendered = JSONRenderer().render(SaleWithPaymentSerializer(sale).data)

    assert rendered == JSONRenderer().render(sale_status.polled_data(sale_status.polled_sale(sale.external_id)))


def test_the_poll_of_a_voucher_sale_is_one_query(api, make_sale, make_voucher, django_assert_num_queries):
    sale = make_sale(amount=36000, discount=4000, voucher=make_voucher(), voucher_code="HEMAT25")

    with django_assert_num_queries(1):
        assert api.get(f"{URL}/external/{sale.external_id}").json()["data"]["voucher"]["discount"] == 4000


# --- What an expired voucher's refusal tells the kiosk (mutation survivors, issue 17) --------------


def test_an_expired_vouchers_refusal_gives_its_dates_in_jakarta_time(api, sale_request, make_voucher):
    voucher = make_voucher(
        "HEMAT25",
        valid_from=datetime(2025, 12, 1, 1, 0, 0, tzinfo=UTC),
        valid_until=datetime(2025, 12, 14, 16, 59, 59, tzinfo=UTC),
    )

    _, _, details = refusal(api, {**sale_request, "voucher_code": voucher.code})

    assert (details["valid_from"], details["valid_until"]) == ("2025-12-01T08:00:00+07:00", "2025-12-14T23:59:59+07:00")


def test_codes_drawn_without_a_prefix_are_only_the_random_part():
    code = new_code()

    assert len(code) == RANDOM_LENGTH
    assert set(code) <= set(CODE_ALPHABET)
