"""Response encryption (docs/kiosk-contract.md, Encryption): kiosks built for the earlier service
decrypt the poll response with crypto-js, so the ciphertext must be exactly what they expect."""

import base64
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.encryption import ResponseCipher
from payments.models import SaleStatus
from tests.support.decryption import cbc_decrypt

NODE_DIR = Path(__file__).resolve().parents[1] / "node"

# The contract's test vectors: the key is 30 characters, so kiosks pad it to `...!!00`.
KEY = "change_me_32_characters_long!!"
IV = "change_me_16char"
KEY_BYTES = b"change_me_32_characters_long!!00"
IV_BYTES = b"change_me_16char"
VECTORS = [
    ('{"id":1}', "l4nDOeHKzpc2k10SasdOrg=="),
    (
        '{"status":"PENDING","paid_at":null,"name":"Café"}',
        "AfRxzxWAeZCx7EmIZhTh/8HH7ZkgvpaLFMBaT+sYrJBRc9VnnTeMUhEoR/f7egQiCUxTQEky4Jx45BnO6PQDaQ==",
    ),
]


def reference_encrypt(plaintext: bytes, key: bytes, iv: bytes) -> str:
    """AES-CBC + PKCS#7 + Base64 with the given raw key and IV bytes, independent of the app."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def kiosk_decrypt(*, key: str, iv: str, ciphertext: str) -> str:
    """Decrypt with crypto-js in Node, as a kiosk frontend of the earlier system does."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: install Node.js 18+, then run `npm ci --prefix tests/node`")
    if not (NODE_DIR / "node_modules" / "crypto-js").is_dir():
        pytest.skip("crypto-js is not installed: run `npm ci --prefix tests/node`")
    result = subprocess.run(
        [node, str(NODE_DIR / "decrypt.js")],
        input=json.dumps({"key": key, "iv": iv, "ciphertext": ciphertext}),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"crypto-js could not decrypt: {result.stderr}"
    return result.stdout


# --- The cipher ------------------------------------------------------------------------------


@pytest.mark.parametrize(("plaintext", "ciphertext"), VECTORS)
def test_contract_vectors(plaintext, ciphertext):
    assert ResponseCipher(KEY, IV).encrypt(plaintext.encode("utf-8")) == ciphertext


@pytest.mark.parametrize(("plaintext", "ciphertext"), VECTORS)
def test_contract_vectors_decrypt(plaintext, ciphertext):
    # With the key as kiosks pad it: what the contract's vectors promise them.
    assert cbc_decrypt(ciphertext, key=KEY_BYTES, iv=IV_BYTES).decode("utf-8") == plaintext


def test_key_and_iv_longer_than_needed_are_truncated():
    cipher = ResponseCipher(KEY + "00" + "IGNORED-BY-KIOSKS", IV + "IGNORED")

    assert cipher.encrypt(b'{"id":1}') == "l4nDOeHKzpc2k10SasdOrg=="


def test_hex_key_is_used_as_text_not_hex_decoded():
    # The seed README suggests `openssl rand -hex 16`: kiosks use those 32 characters as the key.
    hex_key, hex_iv = "00112233445566778899aabbccddeeff", "0011223344556677"
    plaintext = b'{"success":true}'

    ciphertext = ResponseCipher(hex_key, hex_iv).encrypt(plaintext)

    assert ciphertext == reference_encrypt(plaintext, hex_key.encode("ascii"), hex_iv.encode("ascii"))
    assert ciphertext != reference_encrypt(plaintext, bytes.fromhex(hex_key), hex_iv.encode("ascii"))


@pytest.mark.parametrize(
    ("key", "iv", "warned_about"),
    [
        (KEY, IV, {"ENCRYPTION_KEY"}),  # 30 characters, padded
        ("k" * 33, IV, {"ENCRYPTION_KEY"}),  # truncated
        ("é" * 32, IV, {"ENCRYPTION_KEY"}),  # 32 characters but not ASCII
        ("k" * 32, "short", {"ENCRYPTION_IV"}),
        ("k" * 32, "i" * 17, {"ENCRYPTION_IV"}),
        ("k" * 10, "i" * 10, {"ENCRYPTION_KEY", "ENCRYPTION_IV"}),
        ("k" * 32, "i" * 16, set()),
    ],
)
def test_warning_when_key_or_iv_is_not_exact_ascii(caplog, key, iv, warned_about):
    caplog.set_level(logging.WARNING, logger="photobox.encryption")

    ResponseCipher(key, iv)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert {name for name in ("ENCRYPTION_KEY", "ENCRYPTION_IV") if any(name in m for m in warnings)} == warned_about
    assert len(warnings) == len(warned_about)


# --- The API -----------------------------------------------------------------------------------


@pytest.fixture
def encryption_on(settings):
    def turn_on():
        settings.ENCRYPTION_ENABLED = True
        settings.ENCRYPTION_KEY = KEY
        settings.ENCRYPTION_IV = IV

    return turn_on


@pytest.fixture
def sold(make_location, make_sale):
    """A paid sale whose machine code is not ASCII, so the plaintext's UTF-8 matters."""
    return make_sale(location=make_location(machine_code="PB-Café-01"), status=SaleStatus.COMPLETED)


def poll(api, external_id):
    return api.get(f"/api/v1/transactions/external/{external_id}")


@pytest.mark.parametrize("status", [SaleStatus.PENDING, SaleStatus.COMPLETED])
def test_poll_decrypts_to_exactly_the_unencrypted_body(api, make_location, make_sale, encryption_on, status):
    sale = make_sale(location=make_location(machine_code="PB-Café-01"), status=status)
    plain = poll(api, sale.external_id)
    assert plain.status_code == 200
    assert plain.json()["data"]["external_id"] == sale.external_id

    encryption_on()
    encrypted = poll(api, sale.external_id)

    assert encrypted.status_code == 200
    assert encrypted["Content-Type"] == "application/json"
    body = encrypted.json()
    assert list(body) == ["data"]
    assert isinstance(body["data"], str)
    assert cbc_decrypt(body["data"], key=KEY_BYTES, iv=IV_BYTES) == plain.content


def test_poll_asking_for_indented_json_gets_the_compact_body_sealed(api, sold, encryption_on):
    """The renderer seals what the kiosk decrypts compactly; only the envelope around it is indented."""
    plain = poll(api, sold.external_id)
    encryption_on()

    encrypted = api.get(f"/api/v1/transactions/external/{sold.external_id}", HTTP_ACCEPT="application/json; indent=2")

    assert encrypted.status_code == 200
    assert encrypted.content.startswith(b'{\n  "data": "')
    assert cbc_decrypt(encrypted.json()["data"], key=KEY_BYTES, iv=IV_BYTES) == plain.content


def test_poll_head_answers_with_the_encrypted_get_headers(api, sold, encryption_on):
    encryption_on()

    got = poll(api, sold.external_id)
    head = api.head(f"/api/v1/transactions/external/{sold.external_id}")

    assert head.status_code == 200
    assert head.get("Content-Length") == got.get("Content-Length")
    assert head["Content-Type"] == got["Content-Type"]


def test_poll_of_unknown_sale_is_not_encrypted(api, db, encryption_on):
    encryption_on()

    response = poll(api, "NOPE")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "message": "Transaction not found",
        "details": {"external_id": "NOPE"},
    }


def test_create_is_never_encrypted(api, sale_request, encryption_on):
    encryption_on()

    response = api.post("/api/v1/transactions", sale_request, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["data"]["status"] == "PENDING"
    assert body["data"]["external_id"].startswith("TRX-")


def test_create_validation_error_is_not_encrypted(api, db, encryption_on):
    encryption_on()

    response = api.post("/api/v1/transactions", {"email": "customer@example.com"}, format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "Validation error"


# --- A kiosk's crypto-js -------------------------------------------------------------------------


@pytest.mark.parametrize(("plaintext", "ciphertext"), VECTORS)
def test_crypto_js_decrypts_the_contract_vectors(plaintext, ciphertext):
    assert kiosk_decrypt(key=KEY, iv=IV, ciphertext=ciphertext) == plaintext


@pytest.mark.parametrize(
    ("key", "iv"),
    [
        (KEY, IV),
        ("00112233445566778899aabbccddeeff", "0011223344556677"),  # `openssl rand -hex` keys
        ("a-key-longer-than-thirty-two-characters!", "an-iv-longer-than-16"),
    ],
)
def test_crypto_js_decrypts_the_poll_response(api, sold, settings, key, iv):
    plain = poll(api, sold.external_id)
    assert plain.status_code == 200

    settings.ENCRYPTION_ENABLED = True
    settings.ENCRYPTION_KEY = key
    settings.ENCRYPTION_IV = iv
    encrypted = poll(api, sold.external_id)
    assert encrypted.status_code == 200

    decrypted = kiosk_decrypt(key=key, iv=iv, ciphertext=encrypted.json()["data"])

    assert decrypted == plain.content.decode("utf-8")
    assert json.loads(decrypted)["data"]["location"]["machine_code"] == "PB-Café-01"
