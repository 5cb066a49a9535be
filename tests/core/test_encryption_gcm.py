"""ENCRYPTION_MODE=gcm: AES-256-GCM with a fresh 96-bit nonce per response and the request path as
associated data; the body is {"data": base64(nonce || ciphertext || tag), "alg": "A256GCM"}. A
browser decrypts it with WebCrypto (the README's snippet, tests/node/webcrypto_decrypt.mjs)."""

import base64
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.encryption import GcmResponseCipher
from payments.models import SaleStatus
from tests.support.decryption import gcm_open
from tests.support.processes import PRODUCTION, start_up_error, started

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
README = Path(__file__).resolve().parents[2] / "README.md"
HEX_KEY = "00112233445566778899aabbccddeeff" + "ffeeddccbbaa99887766554433221100"


def webcrypto_decrypt(*, key: str, path: str, data: str) -> str:
    """Decrypt with the browser's WebCrypto API (crypto.subtle), run by Node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: install Node.js 20+ (WebCrypto's crypto.subtle is built in)")
    result = subprocess.run(
        [node, str(NODE_DIR / "webcrypto_decrypt.mjs")],
        input=json.dumps({"key": key, "path": path, "data": data}),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"WebCrypto could not decrypt: {result.stderr}"
    return result.stdout


@pytest.fixture
def gcm(settings):
    settings.ENCRYPTION_ENABLED = True
    settings.ENCRYPTION_MODE = "gcm"
    settings.ENCRYPTION_KEY = HEX_KEY
    settings.ENCRYPTION_IV = ""


def jpeg(name: str) -> SimpleUploadedFile:
    """A small JPEG; each name gets its own colour (identical photos are stored once)."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (sum(name.encode()) % 256, 120, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# --- The cipher ----------------------------------------------------------------------------------


def test_round_trip_with_the_path_as_associated_data():
    cipher = GcmResponseCipher(HEX_KEY)

    body = cipher.seal(b'{"status":"PAID","name":"Caf\xc3\xa9"}', path="/api/v1/transactions/external/TRX-1")

    assert body["alg"] == "A256GCM"
    assert list(body) == ["data", "alg"]
    assert (
        gcm_open(body["data"], hex_key=HEX_KEY, path="/api/v1/transactions/external/TRX-1")
        == '{"status":"PAID","name":"Café"}'.encode()
    )


def test_the_format_is_nonce_then_ciphertext_then_tag():
    plaintext = b'{"id":1}'

    raw = base64.b64decode(GcmResponseCipher(HEX_KEY).seal(plaintext, path="/p")["data"], validate=True)

    assert len(raw) == 12 + len(plaintext) + 16
    # Independent of the app: the standard AES-GCM of the library, nonce first.
    assert AESGCM(bytes.fromhex(HEX_KEY)).decrypt(raw[:12], raw[12:], b"/p") == plaintext


def test_a_fresh_nonce_for_every_response():
    cipher = GcmResponseCipher(HEX_KEY)

    sealed = [base64.b64decode(cipher.seal(b'{"id":1}', path="/p")["data"]) for _ in range(50)]

    assert len({raw[:12] for raw in sealed}) == 50
    assert len(set(sealed)) == 50, "the same plaintext never gives the same ciphertext"


def test_a_response_opened_for_another_path_fails():
    cipher = GcmResponseCipher(HEX_KEY)
    body = cipher.seal(b'{"status":"COMPLETED"}', path="/api/v1/transactions/external/TRX-1-A")

    with pytest.raises(InvalidTag):
        gcm_open(body["data"], hex_key=HEX_KEY, path="/api/v1/transactions/external/TRX-1-B")


@pytest.mark.parametrize("position", [0, 12, -1])  # the nonce, the ciphertext, the tag
def test_a_tampered_response_fails(position):
    cipher = GcmResponseCipher(HEX_KEY)
    raw = bytearray(base64.b64decode(cipher.seal(b'{"status":"PENDING"}', path="/p")["data"]))
    raw[position] ^= 0x01

    with pytest.raises(InvalidTag):
        gcm_open(base64.b64encode(bytes(raw)).decode(), hex_key=HEX_KEY, path="/p")


def test_another_key_fails():
    body = GcmResponseCipher(HEX_KEY).seal(b"{}", path="/p")

    with pytest.raises(InvalidTag):
        gcm_open(body["data"], hex_key="ab" * 32, path="/p")


# --- Settings --------------------------------------------------------------------------------------


def test_gcm_mode_starts_with_a_64_hex_key_and_no_iv():
    values = started(
        {**PRODUCTION, "ENCRYPTION_ENABLED": "true", "ENCRYPTION_MODE": "gcm", "ENCRYPTION_KEY": HEX_KEY},
        "ENCRYPTION_MODE",
    )

    assert values == {"ENCRYPTION_MODE": "gcm"}


def test_cbc_stays_the_default_mode():
    assert started(PRODUCTION, "ENCRYPTION_MODE") == {"ENCRYPTION_MODE": "cbc"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"ENCRYPTION_KEY": ""}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_KEY": "change_me_32_characters_long!!00"}, "ENCRYPTION_KEY"),  # a cbc key
        ({"ENCRYPTION_KEY": HEX_KEY[:-2]}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_KEY": HEX_KEY[:-1] + "g"}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_IV": "change_me_16char"}, "ENCRYPTION_IV"),
        ({"ENCRYPTION_MODE": "ecb"}, "ENCRYPTION_MODE"),
    ],
)
def test_bad_gcm_configuration_stops_start_up_naming_the_variable(change, named):
    environment = {
        **PRODUCTION,
        "ENCRYPTION_ENABLED": "true",
        "ENCRYPTION_MODE": "gcm",
        "ENCRYPTION_KEY": HEX_KEY,
        **change,
    }

    assert named in start_up_error(environment)


# --- The API ---------------------------------------------------------------------------------------


def test_the_poll_is_sealed_for_its_own_path(api, make_sale, gcm):
    sale = make_sale()
    path = f"/api/v1/transactions/external/{sale.external_id}"

    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert body["alg"] == "A256GCM"
    plain = json.loads(gcm_open(body["data"], hex_key=HEX_KEY, path=path))
    assert plain["message"] == "Transaction retrieved successfully"
    assert plain["data"]["external_id"] == sale.external_id


def test_two_polls_of_the_same_sale_differ(api, make_sale, gcm):
    sale = make_sale()
    path = f"/api/v1/transactions/external/{sale.external_id}"

    first, second = api.get(path).json()["data"], api.get(path).json()["data"]

    assert first != second


def test_one_sales_answer_does_not_open_as_anothers(api, make_sale, gcm):
    paid = make_sale(status=SaleStatus.COMPLETED)
    pending = make_sale()
    paid_answer = api.get(f"/api/v1/transactions/external/{paid.external_id}").json()

    with pytest.raises(InvalidTag):
        gcm_open(paid_answer["data"], hex_key=HEX_KEY, path=f"/api/v1/transactions/external/{pending.external_id}")


def test_errors_are_never_encrypted(api, db, gcm):
    response = api.get("/api/v1/transactions/external/NOPE")

    assert response.status_code == 404
    assert response.json()["message"] == "Transaction not found"


# --- A browser's WebCrypto -------------------------------------------------------------------------


def test_webcrypto_decrypts_a_real_poll_response(api, make_location, make_sale, gcm):
    sale = make_sale(location=make_location(machine_code="PB-Café-01"), status=SaleStatus.COMPLETED)
    path = f"/api/v1/transactions/external/{sale.external_id}"
    encrypted = api.get(path)
    assert encrypted.status_code == 200

    decrypted = webcrypto_decrypt(key=HEX_KEY, path=path, data=encrypted.json()["data"])

    body = json.loads(decrypted)
    assert body["data"]["external_id"] == sale.external_id
    assert body["data"]["status"] == "COMPLETED"
    assert body["data"]["location"]["machine_code"] == "PB-Café-01"


def test_webcrypto_decrypts_a_real_photo_list(api, make_sale, settings, tmp_path, gcm):
    settings.MEDIA_ROOT = tmp_path
    sale = make_sale(status=SaleStatus.COMPLETED)
    path = f"/api/v1/transactions/{sale.external_id}/photos"
    assert api.post(path, {"files": [jpeg("a.jpg"), jpeg("b.jpg")]}, format="multipart").status_code == 200
    encrypted = api.get(path)
    assert encrypted.status_code == 200
    assert encrypted.json()["alg"] == "A256GCM"

    decrypted = webcrypto_decrypt(key=HEX_KEY, path=path, data=encrypted.json()["data"])

    body = json.loads(decrypted)
    assert body["external_id"] == sale.external_id
    assert body["photo_count"] == 2


def test_webcrypto_refuses_an_answer_moved_to_another_path(api, make_sale, gcm):
    sale = make_sale()
    encrypted = api.get(f"/api/v1/transactions/external/{sale.external_id}").json()["data"]
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: install Node.js 20+")

    result = subprocess.run(
        [node, str(NODE_DIR / "webcrypto_decrypt.mjs")],
        input=json.dumps({"key": HEX_KEY, "path": "/api/v1/transactions/external/TRX-OTHER", "data": encrypted}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "decryption failed" in result.stderr


def test_the_readme_shows_the_same_webcrypto_code_the_test_runs():
    script = (NODE_DIR / "webcrypto_decrypt.mjs").read_text()
    function = script[script.index("async function decryptResponse") : script.index("\n}\n") + 2]

    assert function in README.read_text()
