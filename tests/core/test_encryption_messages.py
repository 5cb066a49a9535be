"""What an operator reads when the encryption key or IV is not what the cipher needs: the warning
says how long each must be, and a bad GCM key is refused naming the variable to fix."""

import logging

import pytest

from core.encryption import GcmResponseCipher, ResponseCipher


@pytest.mark.parametrize(
    ("key", "iv", "warning"),
    [
        ("k" * 30, "i" * 16, "ENCRYPTION_KEY is not exactly 32 ASCII characters; it is truncated or padded with '0'."),
        ("k" * 32, "i" * 15, "ENCRYPTION_IV is not exactly 16 ASCII characters; it is truncated or padded with '0'."),
    ],
)
def test_the_warning_says_how_many_characters_the_key_or_iv_needs(caplog, key, iv, warning):
    caplog.set_level(logging.WARNING, logger="photobox.encryption")

    ResponseCipher(key, iv)

    assert [r.getMessage() for r in caplog.records] == [warning]


@pytest.mark.parametrize("hex_key", ["00" * 16, "00" * 33])
def test_a_gcm_key_of_the_wrong_length_is_refused_naming_the_variable(hex_key):
    with pytest.raises(ValueError, match=r"^ENCRYPTION_KEY must be 64 hexadecimal characters for ENCRYPTION_MODE=gcm$"):
        GcmResponseCipher(hex_key)
