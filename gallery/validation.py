"""Is an uploaded file really a JPEG or PNG photo we are willing to store?

Checked by content with Pillow, never by the file name or the Content-Type the client sent.
"""

import hashlib
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import Image, UnidentifiedImageError
from rest_framework import status

from photobox.api import ApiError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png"}
PNG_END = b"IEND\xae\x42\x60\x82"
JPEG_END = b"\xff\xd9"


@dataclass(frozen=True)
class CheckedPhoto:
    original_name: str
    file: BinaryIO  # the upload, kept on disk by Django when large; read again only to store it
    size: int
    format: str  # "JPEG" or "PNG"
    extension: str
    width: int
    height: int
    checksum: str

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


class InvalidPhoto(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST


def _display_name(name: str) -> str:
    # For messages and the admin only; never a storage path.
    cleaned = "".join(ch for ch in (name or "") if ch.isprintable()).replace("\\", "/").rsplit("/", 1)[-1]
    return cleaned[:255] or "unnamed"


def invalid_format(name: str, detected: str) -> InvalidPhoto:
    return InvalidPhoto(
        f"File '{name}' has invalid format. Allowed: JPG, JPEG, PNG",
        details={"filename": name, "format": detected},
    )


TAIL = 64 * 1024


def _has_trailing_data(file: BinaryIO, size: int, image_format: str) -> bool:
    """Bytes after the image's end marker: a polyglot (say, a PNG with HTML appended)."""
    file.seek(max(size - TAIL, 0))
    tail = file.read()
    end_marker = PNG_END if image_format == "PNG" else JPEG_END
    end = tail.rfind(end_marker)
    if end < 0:
        return True
    return bool(tail[end + len(end_marker) :].strip(b"\x00\r\n\t "))


def _sha256(file: BinaryIO) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


def check_size(*, name: str, size: int) -> None:
    """Before reading anything: a file over the limit is refused by its declared size."""
    max_bytes = settings.PHOTO_MAX_BYTES
    if size > max_bytes:
        name = _display_name(name)
        raise InvalidPhoto(
            f"File '{name}' exceeds maximum size of {max_bytes / 1048576:.0f}MB (size: {size / 1048576:.2f}MB)",
            details={"filename": name, "size": size, "max_size": max_bytes},
        )


def check_photo(*, name: str, file: BinaryIO, size: int) -> CheckedPhoto:
    check_size(name=name, size=size)
    name = _display_name(name)
    if size == 0:
        raise invalid_format(name, "empty")
    file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                detected = image.format or "unknown"
                if detected not in ALLOWED_FORMATS:
                    raise invalid_format(name, detected.lower())
                width, height = image.size
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidPhoto(
            f"File '{name}' has too many pixels (limit {settings.PHOTO_MAX_PIXELS:,})",
            details={"filename": name, "max_pixels": settings.PHOTO_MAX_PIXELS},
        ) from None
    except UnidentifiedImageError:
        raise invalid_format(name, "unknown") from None
    except InvalidPhoto:
        raise
    except Exception:  # Pillow raises many types for corrupt data: all mean "not a valid image"
        raise InvalidPhoto(
            f"File '{name}' is damaged and cannot be read as an image", details={"filename": name, "format": "corrupt"}
        ) from None
    if _has_trailing_data(file, size, detected):
        raise InvalidPhoto(
            f"File '{name}' has data after the end of the image", details={"filename": name, "format": "polyglot"}
        )
    return CheckedPhoto(
        original_name=name,
        file=file,
        size=size,
        format=detected,
        extension=ALLOWED_FORMATS[detected],
        width=width,
        height=height,
        checksum=_sha256(file),
    )
