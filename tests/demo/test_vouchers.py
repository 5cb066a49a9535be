"""The demo's promotions: load_demo_data makes one percentage voucher and one free-session code,
and the demo kiosk page has a field to type one."""

import io

import pytest
from django.core.management import call_command

from pricing.models import CODE_ALPHABET, Voucher, VoucherKind

pytestmark = pytest.mark.django_db


def test_the_demo_data_has_a_percentage_voucher_and_a_free_session_code():
    output = io.StringIO()

    call_command("load_demo_data", stdout=output)
    call_command("load_demo_data", stdout=io.StringIO())

    vouchers = {voucher.code: voucher for voucher in Voucher.objects.all()}
    assert set(vouchers) == {"HEMAT25", "BEBAS"}
    assert (vouchers["HEMAT25"].kind, vouchers["HEMAT25"].value) == (VoucherKind.PERCENT, 25)
    assert vouchers["BEBAS"].kind == VoucherKind.FREE
    for code in vouchers:
        assert set(code) <= set(CODE_ALPHABET)
        assert code in output.getvalue()


def test_the_kiosk_page_has_a_voucher_field(client, settings, location, price):
    settings.DEBUG = True

    page = client.get("/kiosk/").content.decode()

    assert 'name="voucher_code"' in page
    assert "Kode voucher (jika ada)" in page
