"""Is an uploaded file really a JPEG or PNG photo we are willing to store? And what of it we store.

Checked by content with Pillow, never by the file name or the Content-Type the client sent. Then
its structure is walked (JPEG segments and scan data, PNG chunks) to its real end: nothing may
follow it (a polyglot, say a JPEG with HTML appended). What is stored is the photo without its
metadata: no EXIF (GPS, camera serial numbers), XMP, IPTC, comments or text chunks. The pixels are
not re-encoded; the orientation is kept as the only EXIF tag. The same upload always gives the
same stored bytes, so a retried upload is recognised by their checksum.
"""

import hashlib
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from core import errors

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png"}


@dataclass(frozen=True)
class CheckedPhoto:
    original_name: str
    file: BinaryIO  # what is stored: the photo without its metadata (on disk when large)
    size: int  # of what is stored
    format: str  # "JPEG" or "PNG"
    extension: str
    width: int
    height: int
    checksum: str

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


class InvalidPhoto(errors.Rejected):
    """A file that is not a photo we keep (its format, size or pixels)."""


def _display_name(name: str) -> str:
    # For messages and the admin only; never a storage path.
    cleaned = "".join(ch for ch in (name or "") if ch.isprintable()).replace("\\", "/").rsplit("/", 1)[-1]
    return cleaned[:255] or "unnamed"


def invalid_format(name: str, detected: str) -> InvalidPhoto:
    return InvalidPhoto(
        f"File '{name}' has invalid format. Allowed: JPG, JPEG, PNG",
        details={"filename": name, "format": detected},
    )


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
    file.seek(0)
    original = file.read()
    try:
        stored = strip_jpeg(original) if detected == "JPEG" else strip_png(original)
    except DataAfterEnd:
        raise InvalidPhoto(
            f"File '{name}' has data after the end of the image", details={"filename": name, "format": "polyglot"}
        ) from None
    except Damaged:
        raise InvalidPhoto(
            f"File '{name}' is damaged and cannot be read as an image", details={"filename": name, "format": "corrupt"}
        ) from None
    del original
    # In memory when small, else in a temporary file (gone with it): a request may carry 30 photos.
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115 - kept open
    spool.write(stored)
    spool.seek(0)
    return CheckedPhoto(
        original_name=name,
        file=spool,
        size=len(stored),
        format=detected,
        extension=ALLOWED_FORMATS[detected],
        width=width,
        height=height,
        checksum=hashlib.sha256(stored).hexdigest(),
    )


# --- The structure: the image's real end, and what of it is kept -------------------------------
class Damaged(Exception):
    """The file's structure is broken (a segment or chunk runs past the end, no end marker, …)."""


class DataAfterEnd(Exception):
    """Bytes follow the image's end: a JPEG's end-of-image marker, a PNG's IEND chunk."""


ORIENTATION = 0x0112  # the EXIF tag, the one kept


def _orientation(exif: bytes) -> int | None:
    """The EXIF orientation when it turns or mirrors the image (2-8); None for 1, none or garbage."""
    tags = Image.Exif()
    try:
        tags.load(exif)
        value = tags.get(ORIENTATION)
    except Exception:  # whatever the EXIF block holds, it is dropped; only a readable orientation is kept
        return None
    return value if isinstance(value, int) and 2 <= value <= 8 else None


def _orientation_tiff(value: int) -> bytes:
    """An EXIF block holding nothing but the orientation: a big-endian TIFF header and IFD0 with one
    entry (Orientation, SHORT, 1 value), no next IFD."""
    return b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", ORIENTATION, 3, 1, value, 0) + bytes(4)


# JPEG -------------------------------------------------------------------------------------------
SOI, EOI, SOS, APP0, APP1, APP2, APP14, APP15, COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE, 0xEF, 0xFE
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7: markers without a length


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at `pos` ends: at the next marker, an FF followed by
    anything but 00 (a stuffed FF), D0-D7 (restart markers inside the scan) or FF (fill)."""
    while True:
        ff = data.find(b"\xff", pos)
        if ff < 0 or ff + 1 >= len(data):
            raise Damaged("the scan data runs to the end of the file")
        following = data[ff + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos = ff + 2
        elif following == 0xFF:
            pos = ff + 1
        else:
            return ff


def _jpeg_segments(data: bytes, pos: int = 0) -> tuple[list[tuple[int, int, int]], int]:
    """The JPEG image starting at `pos`: its segments between SOI and EOI as (marker, start, end),
    `start` at the marker's FF, `end` past the segment (past its scan data for SOS), and the offset
    just past its EOI. Raises Damaged when it is not a well-formed JPEG."""
    if data[pos : pos + 2] != b"\xff\xd8":
        raise Damaged("no start-of-image marker")
    pos += 2
    size = len(data)
    segments = []
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise Damaged(f"no marker at {pos}")
        while pos < size and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= size:
            raise Damaged("the file ends in fill bytes")
        marker = data[pos]
        start, pos = pos - 1, pos + 1
        if marker == EOI:
            return segments, pos
        if marker in (0x00, SOI):
            raise Damaged(f"marker {marker:02X} at {start}")
        if marker not in STANDALONE:
            if pos + 2 > size:
                raise Damaged("a segment runs past the end")
            length = int.from_bytes(data[pos : pos + 2], "big")
            if length < 2 or pos + length > size:
                raise Damaged("a segment runs past the end")
            pos += length
            if marker == SOS:
                pos = _scan_end(data, pos)
        segments.append((marker, start, pos))


def _jpeg_segment_kept(marker: int, segment: bytes) -> bytes | None:
    """The segment as stored, or None to drop it. Every APPn and COM segment goes (APP1 Exif and
    XMP, APP13 Photoshop/IPTC, APP2 MPF, makers' segments) except the three that decoders read:
    APP0 JFIF (its thumbnail dropped), APP2 ICC profile, APP14 Adobe (the colour transform)."""
    payload = segment[4:]
    if marker == APP0:
        if not payload.startswith(b"JFIF\x00"):
            return None
        if len(payload) < 14:
            return segment
        # Identifier, version, units, densities; thumbnail size 0x0 and no thumbnail.
        return b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00"
    if marker == APP2:
        return segment if payload.startswith(b"ICC_PROFILE\x00") else None
    if marker == APP14:
        return segment if payload.startswith(b"Adobe") else None
    if APP0 <= marker <= APP15 or marker == COM:
        return None
    return segment


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without its metadata segments; the other segments and the scan data byte for byte.
    Nothing may follow the end-of-image marker (Pillow calls a JPEG with further images appended
    and declared, a camera's MPF preview say, "MPO": refused before this as another format)."""
    segments, end = _jpeg_segments(data)
    if end != len(data):
        raise DataAfterEnd
    exif = next((data[s + 4 : e] for m, s, e in segments if m == APP1 and data[s + 4 : s + 10] == b"Exif\x00\x00"), b"")
    orientation = _orientation(exif) if exif else None
    kept = [segment for m, s, e in segments if (segment := _jpeg_segment_kept(m, data[s:e])) is not None]
    if orientation is not None:
        payload = b"Exif\x00\x00" + _orientation_tiff(orientation)
        app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        # After JFIF's APP0 when there is one (it must come first), else right after SOI.
        at = 1 if kept and kept[0].startswith(b"\xff\xe0") else 0
        kept.insert(at, app1)
    return b"\xff\xd8" + b"".join(kept) + b"\xff\xd9"


# PNG --------------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What decoders read to show the pixels right (and APNG's frames); every other chunk is dropped:
# tEXt, zTXt, iTXt (XMP), eXIf, tIME, and any private chunk.
PNG_KEPT = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND",
    b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs",
    b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def strip_png(data: bytes) -> bytes:
    """The PNG without its text, EXIF and time chunks; the image chunks byte for byte. Nothing may
    follow IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise Damaged("no PNG signature")
    pos, size = len(PNG_SIGNATURE), len(data)
    chunks: list[tuple[bytes, int, int]] = []
    while not chunks or chunks[-1][0] != b"IEND":
        if pos + 12 > size:
            raise Damaged("no IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > size or (not chunks and kind != b"IHDR"):
            raise Damaged(f"chunk {kind!r} at {pos}")
        if zlib.crc32(data[pos + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            raise Damaged(f"chunk {kind!r} at {pos}: bad CRC")
        chunks.append((kind, pos, end))
        pos = end
    if pos != size:
        raise DataAfterEnd
    orientation = next((_orientation(data[s + 8 : e - 4]) for k, s, e in chunks if k == b"eXIf"), None)
    kept = []
    for kind, start, end in chunks:
        if kind == b"IDAT" and orientation is not None:
            kept.append(_png_chunk(b"eXIf", _orientation_tiff(orientation)))  # before the image data
            orientation = None
        if kind in PNG_KEPT:
            kept.append(data[start:end])
    return PNG_SIGNATURE + b"".join(kept)
