"""Response encryption for kiosks (ENCRYPTION_ENABLED=true), in one of two modes.

`cbc` (the default) is compatible with kiosks built for the earlier service: AES-256-CBC with
PKCS#7 padding and a static IV, Base64 output. The key is the configured text truncated to 32
characters or right-padded with '0' (a 32-hex-character key is used as text, not hex-decoded);
the IV likewise to 16. It is deterministic and malleable: it exists so deployed kiosks decrypt the
poll response unchanged. With DEBUG off, start-up refuses a key or IV that would be truncated or
padded (photobox/settings/security.py) unless ENCRYPTION_LEGACY_KEY_PADDING=true says kiosks were built on
such values; the warnings below are then what is left of it, once per process.

`gcm` is for new kiosks: AES-256-GCM with a fresh 96-bit nonce per response and the request path
as associated data (a response cannot be replayed as another sale's), the key a 64-hex-character
ENCRYPTION_KEY; the body is `{"data": base64(nonce || ciphertext || tag), "alg": "A256GCM"}`.
"""

import base64
import functools
import logging
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

logger = logging.getLogger("photobox.encryption")

KEY_LENGTH = 32
IV_LENGTH = 16


def _fit(text: str, length: int) -> bytes:
    return text[:length].ljust(length, "0").encode("utf-8")


class ResponseCipher:
    def __init__(self, key: str, iv: str) -> None:
        if not key.isascii() or len(key) != KEY_LENGTH:
            logger.warning(
                "ENCRYPTION_KEY is not exactly %d ASCII characters; it is truncated or padded with '0'.", KEY_LENGTH
            )
        if not iv.isascii() or len(iv) != IV_LENGTH:
            logger.warning(
                "ENCRYPTION_IV is not exactly %d ASCII characters; it is truncated or padded with '0'.", IV_LENGTH
            )
        # Characters are fitted first, then encoded, as the earlier service did; a non-ASCII key
        # therefore yields more than 32 bytes, which AES refuses: keep only the first 32 bytes.
        self._key = _fit(key, KEY_LENGTH)[:KEY_LENGTH]
        self._iv = _fit(iv, IV_LENGTH)[:IV_LENGTH]

    def encrypt(self, plaintext: bytes) -> str:
        padder = padding.PKCS7(algorithms.AES.block_size).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def seal(self, plaintext: bytes, *, path: str) -> dict:
        """The encrypted response body for `plaintext` (the path is not used in this mode)."""
        return {"data": self.encrypt(plaintext)}


class GcmResponseCipher:
    alg = "A256GCM"
    NONCE_LENGTH = 12

    def __init__(self, hex_key: str) -> None:
        key = bytes.fromhex(hex_key)
        if len(key) != 32:
            raise ValueError("ENCRYPTION_KEY must be 64 hexadecimal characters for ENCRYPTION_MODE=gcm")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, *, path: str) -> dict:
        nonce = os.urandom(self.NONCE_LENGTH)
        sealed = self._aead.encrypt(nonce, plaintext, path.encode("utf-8"))
        return {"data": base64.b64encode(nonce + sealed).decode("ascii"), "alg": self.alg}


@functools.lru_cache(maxsize=4)
def _cipher(mode: str, key: str, iv: str) -> ResponseCipher | GcmResponseCipher:
    if mode == "gcm":
        return GcmResponseCipher(key)
    return ResponseCipher(key, iv)


def response_cipher() -> ResponseCipher | GcmResponseCipher | None:
    """The configured cipher, or None when encryption is off."""
    if not settings.ENCRYPTION_ENABLED:
        return None
    return _cipher(settings.ENCRYPTION_MODE, settings.ENCRYPTION_KEY, settings.ENCRYPTION_IV)
