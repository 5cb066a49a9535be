"""Opening encrypted responses as kiosks do (docs/kiosk-contract.md, Encryption), to check what the
product sends: the product itself only encrypts (core/encryption.py). Independent of the app's
cipher classes: the library's AES, with raw key bytes."""

import base64

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

GCM_NONCE_LENGTH = 12


def cbc_decrypt(token: str, *, key: bytes, iv: bytes) -> bytes:
    """ENCRYPTION_MODE=cbc: Base64 of AES-256-CBC with PKCS#7 padding."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(base64.b64decode(token, validate=True)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def gcm_open(token: str, *, hex_key: str, path: str) -> bytes:
    """ENCRYPTION_MODE=gcm: Base64 of nonce || ciphertext || tag, the request path as associated data.
    Raises cryptography's InvalidTag for another key, another path or a changed byte."""
    raw = base64.b64decode(token)
    return AESGCM(bytes.fromhex(hex_key)).decrypt(raw[:GCM_NONCE_LENGTH], raw[GCM_NONCE_LENGTH:], path.encode("utf-8"))
