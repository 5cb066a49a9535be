"""How large a photo upload may be, refused before (or while) its body is read.

A kiosk uploads a whole session in one multipart request: at most PHOTO_MAX_COUNT files of at most
PHOTO_MAX_BYTES each, plus the multipart framing around them. Anything larger cannot be a valid
upload, so it is answered 413 without reading it:

- by its `Content-Length`, in the view, once the kiosk and the sale are known (`refuse_oversized`);
- while the multipart parser streams it (`UploadLimitHandler`), should a body ever reach the parser
  without a trustworthy length.

Under WSGI (gunicorn) a body without `Content-Length` (`Transfer-Encoding: chunked`) is never read
at all: Django reads at most CONTENT_LENGTH bytes of `wsgi.input`, and with none it sees an empty
body (and gunicorn drains at most 64 KB of what is left before it closes the connection). So the
`Content-Length` check is the one that matters there; the handler is the second line.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

from core import errors

# Each part's boundary line and headers: Content-Disposition with a file name of up to 255
# characters (percent-encoded ones are longer) and Content-Type. Generous: it only has to be more
# than any real kiosk sends.
PART_OVERHEAD = 4 * 1024
# The closing boundary and any small form fields besides the files.
BODY_OVERHEAD = 64 * 1024


def max_upload_bytes() -> int:
    """The largest body a valid upload can have: PHOTO_MAX_COUNT full-size photos and their framing
    (with the defaults 30 x (10 MiB + 4 KiB) + 64 KiB = 314,761,216 bytes, just over 300 MiB)."""
    return settings.PHOTO_MAX_COUNT * (settings.PHOTO_MAX_BYTES + PART_OVERHEAD) + BODY_OVERHEAD


class UploadTooLarge(errors.TooLarge):
    def __init__(self, max_bytes: int):
        super().__init__("Request body too large", details={"max_bytes": max_bytes})


def declared_length(request) -> int:
    """The request's Content-Length; 0 when it has none or an unreadable one (Django then reads
    nothing of the body either)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def refuse_oversized(request) -> None:
    """413 for a declared body larger than any valid upload; nothing of it is read."""
    limit = max_upload_bytes()
    if declared_length(request) > limit:
        raise UploadTooLarge(limit)


class UploadLimitHandler(FileUploadHandler):
    """Counts the file bytes the multipart parser streams and stops the upload (413) as soon as
    they pass the limit, before the other handlers write them to memory or a temporary file.

    Goes first in `request.upload_handlers`: a handler only sees the chunks the ones before it
    pass on. The exception leaves the parser (a `StopUpload` would be swallowed and the request
    would go on with the files parsed so far), so the view answers 413 in the API's envelope.
    """

    def __init__(self, request=None, *, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = max_upload_bytes() if limit is None else limit
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge(self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file
