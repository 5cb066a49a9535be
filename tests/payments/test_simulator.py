"""The payment simulator: EMVCo-valid QRIS strings, `manage.py simulate_payment`, the DEBUG endpoint."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.gateways.qris import crc16_ccitt_false, tlv
from payments.gateways.simulator import SimulatorGateway
from payments.models import EventOutcome, EventSource, PaymentEvent, SaleStatus
from tests.support.qris_reading import is_valid_crc, parse_tlv

# A real Xendit dynamic QRIS from a production webhook (reference/xendit.md §8.3).
REAL_XENDIT_QRIS = (
    "00020101021226650013CO.XENDIT.WWW01189360084800000054690215MTp47ZSspWsSQxG0303UME51370014ID.CO.QRIS.WWW"
    "0215ID20254267526685204509953033605405100005802ID5923PT ALWI KOBRA INDONESIA6006Bekasi61051715162290525"
    "xoizLQizgQUsgqK4tR4kMBcLc630475A5"
)
# Xendit's SDK sample (LinkAja acquirer, out-of-order tags), reference/xendit.md §3.1.
LINKAJA_SAMPLE_QRIS = (
    "00020101021226660014ID.LINKAJA.WWW011893600911002411480002152004230411480010303UME51450015ID.OR.GPNQR.WWW"
    "02150000000000000000303UME520454995802ID5920Placeholder merchant6007Jakarta610612345662380115wLoc6DRGwAOgSkZ"
    "0715wLoc6DRGwAOgSkZ53033605404400063047668"
)
REAL_ACQUIRER_GUIDS = {"CO.XENDIT.WWW", "ID.LINKAJA.WWW", "ID.CO.TELKOM.WWW", "ID.OR.GPNQR.WWW", "ID.CO.QRIS.WWW"}
ENDPOINT = "/api/v1/simulator/transactions/{}/pay"


def simulated_qris(amount="35000", reference_id="TRX-1-20251215162229-57283A15") -> str:
    qr = SimulatorGateway().create_qr_code(
        reference_id=reference_id, amount=Decimal(amount), expires_at=timezone.now() + timedelta(minutes=15)
    )
    return qr.qr_string


def tags_in_order(payload: str) -> list[str]:
    return list(parse_tlv(payload))


# --- QRIS strings -----------------------------------------------------------------------------
def test_crc_is_ccitt_false():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


@pytest.mark.parametrize("real", [REAL_XENDIT_QRIS, LINKAJA_SAMPLE_QRIS], ids=["xendit", "linkaja"])
def test_real_qris_strings_pass_the_crc_check(real):
    assert is_valid_crc(real)


@pytest.mark.parametrize(
    "tampered",
    [
        pytest.param(REAL_XENDIT_QRIS.replace("540510000", "540590000"), id="amount-changed"),
        pytest.param(REAL_XENDIT_QRIS[:-4] + "75A6", id="crc-changed"),
        pytest.param(REAL_XENDIT_QRIS[:-4] + "75a5", id="crc-lowercase"),
        pytest.param(REAL_XENDIT_QRIS[:-8], id="crc-missing"),
    ],
)
def test_tampered_qris_strings_fail_the_crc_check(tampered):
    assert tampered != REAL_XENDIT_QRIS
    assert not is_valid_crc(tampered)


def test_simulated_qris_has_a_valid_crc():
    qris = simulated_qris()

    assert is_valid_crc(qris)
    assert qris[-8:] == "6304" + f"{crc16_ccitt_false(qris[:-4].encode()):04X}"


@pytest.mark.parametrize(("amount", "tag_54"), [("35000", "35000"), ("40000.00", "40000"), ("1", "1")])
def test_simulated_qris_carries_the_amount_in_whole_rupiah(amount, tag_54):
    assert parse_tlv(simulated_qris(amount=amount))["54"] == tag_54


def test_simulated_qris_follows_the_emvco_layout_for_a_dynamic_idr_qr():
    qris = simulated_qris()
    objects = parse_tlv(qris)

    assert tags_in_order(qris)[0] == "00"
    assert tags_in_order(qris)[-1] == "63"
    assert objects["00"] == "01"
    assert objects["01"] == "12"  # dynamic
    assert objects["53"] == "360"  # IDR
    assert objects["58"] == "ID"
    assert len(objects["63"]) == 4
    assert parse_tlv(objects["51"])["00"] == "ID.CO.QRIS.WWW"
    assert 0 < len(objects["59"]) <= 25  # merchant name
    assert 0 < len(objects["60"]) <= 15  # merchant city
    # Every data object's length is right: re-encoding them gives back the string.
    assert "".join(tlv(tag, value) for tag, value in objects.items()) == qris


def test_simulated_qris_merchant_is_obviously_fake():
    objects = parse_tlv(simulated_qris())
    merchant_account = parse_tlv(objects["26"])

    assert merchant_account["00"] not in REAL_ACQUIRER_GUIDS
    assert "SIMULATOR" in merchant_account["00"]
    assert "SIMULATOR" in objects["59"]
    assert set(parse_tlv(objects["51"])["02"][2:]) == {"0"}  # NMID ID0000000000000


def test_simulated_qris_carries_the_sale_number_as_its_reference():
    objects = parse_tlv(simulated_qris(reference_id="TRX-1-20251215162229-57283A15"))

    assert parse_tlv(objects["62"])["05"] == "1-20251215162229-57283A15"  # the last 25 characters


def test_kiosk_gets_a_valid_simulated_qris_for_its_price(api, sale_request, price):
    response = api.post("/api/v1/transactions", sale_request, format="json")

    assert response.status_code == 201
    qris = response.json()["data"]["qr_string"]
    assert is_valid_crc(qris)
    assert parse_tlv(qris)["54"] == str(int(price.amount))


# --- manage.py simulate_payment -------------------------------------------------------------
def simulate(*args) -> str:
    out = StringIO()
    call_command("simulate_payment", *args, stdout=out)
    return out.getvalue()


def test_simulate_payment_completes_a_pending_sale_through_a_payment_event(make_sale):
    sale = make_sale()

    out = simulate(sale.external_id)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.paid_at is not None
    assert sale.xendit_payment_id.startswith("qrpy_sim_")
    assert not sale.needs_review
    [event] = PaymentEvent.objects.all()
    assert event.source == EventSource.SIMULATOR
    assert event.outcome == EventOutcome.APPLIED
    assert event.sale_id == sale.pk
    assert event.xendit_payment_id == sale.xendit_payment_id
    assert "COMPLETED" in out


def test_simulate_payment_with_a_different_amount_flags_the_sale_and_leaves_it_unpaid(make_sale):
    sale = make_sale()  # Rp 40.000

    simulate(sale.external_id, "--amount", "25000")

    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert sale.paid_at is None
    assert sale.needs_review
    assert "Amount mismatch" in sale.review_reason
    assert "Rp 25.000" in sale.review_reason
    event = PaymentEvent.objects.get()
    assert event.outcome == EventOutcome.AMOUNT_MISMATCH
    assert event.source == EventSource.SIMULATOR


def test_simulate_payment_with_the_exact_amount_completes(make_sale):
    sale = make_sale()

    simulate(sale.external_id, "--amount", "40000")

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED


def test_simulate_payment_is_refused_with_the_real_gateway(make_sale, settings):
    settings.PAYMENT_GATEWAY = "xendit"
    sale = make_sale()

    with pytest.raises(CommandError, match="PAYMENT_GATEWAY=simulator"):
        simulate(sale.external_id)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert not PaymentEvent.objects.exists()


def test_simulate_payment_of_an_unknown_sale_is_an_error(db):
    with pytest.raises(CommandError, match="No sale TRX-404"):
        simulate("TRX-404")


def test_simulate_payment_with_a_non_numeric_amount_is_an_error(make_sale):
    sale = make_sale()

    with pytest.raises(CommandError, match="--amount must be a number"):
        simulate(sale.external_id, "--amount", "lots")

    assert not PaymentEvent.objects.exists()


# --- The DEBUG-only HTTP endpoint -----------------------------------------------------------
def test_simulator_endpoint_does_not_exist_when_debug_is_off(api, make_sale, settings):
    assert settings.DEBUG is False
    sale = make_sale()

    response = api.post(ENDPOINT.format(sale.external_id), {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"success": False, "message": "Not found", "details": {}}
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert not PaymentEvent.objects.exists()


def test_simulator_endpoint_does_not_exist_with_the_real_gateway_even_in_debug(api, make_sale, settings):
    settings.DEBUG = True
    settings.PAYMENT_GATEWAY = "xendit"
    sale = make_sale()

    response = api.post(ENDPOINT.format(sale.external_id), {}, format="json")

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert not PaymentEvent.objects.exists()


def test_simulator_endpoint_pays_the_sale_in_debug(api, make_sale, settings):
    settings.DEBUG = True
    sale = make_sale()

    response = api.post(ENDPOINT.format(sale.external_id), {}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Payment simulated",
        "data": {"external_id": sale.external_id, "status": "COMPLETED", "outcome": "applied"},
    }
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert PaymentEvent.objects.get().source == EventSource.SIMULATOR

    poll = api.get(f"/api/v1/transactions/external/{sale.external_id}")
    assert poll.json()["data"]["status"] == "COMPLETED"


def test_simulator_endpoint_with_a_wrong_amount_does_not_complete_the_sale(api, make_sale, settings):
    settings.DEBUG = True
    sale = make_sale()

    response = api.post(ENDPOINT.format(sale.external_id), {"amount": 1000}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["status"] == "PENDING"
    assert response.json()["data"]["outcome"] == "amount_mismatch"
    sale.refresh_from_db()
    assert sale.needs_review


@pytest.mark.parametrize("amount", [0, -5, "40000", 40000.5, True])
def test_simulator_endpoint_rejects_an_amount_that_is_not_whole_rupiah(api, make_sale, settings, amount):
    settings.DEBUG = True
    sale = make_sale()

    response = api.post(ENDPOINT.format(sale.external_id), {"amount": amount}, format="json")

    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["field"] == "amount"
    assert not PaymentEvent.objects.exists()


def test_simulator_endpoint_for_an_unknown_sale_is_404(api, db, settings):
    settings.DEBUG = True

    response = api.post(ENDPOINT.format("TRX-1-20250101000000-DEADBEEF"), {}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "message": "Transaction not found",
        "details": {"external_id": "TRX-1-20250101000000-DEADBEEF"},
    }
