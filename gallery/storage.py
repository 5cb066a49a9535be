"""Where photos live: Cloudinary, or local files under MEDIA_ROOT (the demo), behind one interface.

Keys are built by us from the sale and the photo's content, never from a client's file name, and
the same photo always gets the same key, so a retried upload overwrites instead of duplicating.
"""

import contextlib
import functools
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import requests
from django.conf import settings

logger = logging.getLogger("gallery.storage")

CHUNK = 64 * 1024
THUMBNAIL = "c_fill,w_480,h_480,q_auto,f_auto"
# How long an upload may go without a sign of life before what it left behind counts as abandoned
# (its worker was killed, or restarted past GUNICORN_GRACEFUL_TIMEOUT): settings.PHOTO_UPLOAD_STALE_SECONDS,
# this when unset. A running upload shows it is alive every fifth of this time, however slow the
# storage (gallery/uploads.py); a local write takes well under a second.
DEFAULT_UPLOAD_STALE_SECONDS = 300
# The temporary files of LocalStorage.save: tempfile's "tmp" names with our suffix.
PARTIAL_FILES = "tmp*.part"


def upload_stale_seconds() -> float:
    return float(getattr(settings, "PHOTO_UPLOAD_STALE_SECONDS", DEFAULT_UPLOAD_STALE_SECONDS))


class StorageError(Exception):
    """The photo storage did not do what we asked."""


class StorageRateLimited(StorageError):
    """The storage's API budget is used up for now; try again later."""


@dataclass(frozen=True)
class StoredPhoto:
    key: str
    url: str


@dataclass
class DeleteResult:
    deleted: set[str] = field(default_factory=set)  # "not found" counts as deleted
    failed: set[str] = field(default_factory=set)
    # Admin API calls left this hour, when the storage tells (Cloudinary does).
    budget_remaining: int | None = None
    calls: int = 0


class PhotoStorage(Protocol):
    name: str
    # How many keys one delete call may carry.
    delete_batch_size: int

    def key_for(self, *, external_id: str, position: int, checksum: str, extension: str) -> str: ...

    def save(self, *, key: str, content: bytes, filename: str) -> StoredPhoto: ...

    def delete(self, keys: list[str]) -> DeleteResult: ...

    def thumbnail_url(self, url: str) -> str: ...

    def download_url(self, url: str, filename: str) -> str: ...

    def open(self, key: str, url: str) -> Iterator[bytes]: ...


class CloudinaryStorage:
    """Cloudinary through its SDK; credentials passed per call, so nothing global is configured."""

    name = "cloudinary"
    delete_batch_size = 100  # Admin API: at most 100 public ids per delete_resources call

    def __init__(
        self, *, cloud_name: str, api_key: str, api_secret: str, folder: str, upload_prefix: str, timeout: float
    ) -> None:
        self.folder = folder
        self.timeout = timeout
        self.options = {
            "cloud_name": cloud_name,
            "api_key": api_key,
            "api_secret": api_secret,
            "upload_prefix": upload_prefix,
        }
        self.http = requests.Session()

    def key_for(self, *, external_id: str, position: int, checksum: str, extension: str) -> str:
        # The full public id, folder included: `delete_resources` and delivery URLs use it in
        # both of Cloudinary's folder modes.
        return f"{self.folder}/{external_id}/{position:02d}-{checksum[:16]}"

    def save(self, *, key: str, content: bytes, filename: str) -> StoredPhoto:
        try:
            result = cloudinary.uploader.upload(
                content,
                public_id=key,
                asset_folder=key.rsplit("/", 1)[0],
                overwrite=True,
                unique_filename=False,
                use_filename=False,
                resource_type="image",
                tags=["photobox"],
                filename=filename,
                timeout=self.timeout,
                **self.options,
            )
        except cloudinary.exceptions.Error as exc:
            raise StorageError(f"Cloudinary refused the upload: {exc}") from exc
        except Exception as exc:  # urllib3 errors surface raw on some paths
            raise StorageError(f"Cloudinary upload failed: {type(exc).__name__}") from exc
        url = result.get("secure_url") or result.get("url")
        if not url:
            raise StorageError("Cloudinary answered without a URL")
        return StoredPhoto(key=result.get("public_id", key), url=url)

    def delete(self, keys: list[str]) -> DeleteResult:
        result = DeleteResult(calls=1)
        try:
            response = cloudinary.api.delete_resources(
                keys, resource_type="image", type="upload", invalidate=True, timeout=self.timeout, **self.options
            )
        except cloudinary.exceptions.RateLimited as exc:
            raise StorageRateLimited(str(exc)) from exc
        except Exception as exc:  # the Admin API raises a bare Exception for unusual statuses
            logger.warning("Cloudinary delete of %d photos failed: %s", len(keys), exc)
            result.failed.update(keys)
            return result
        outcome = response.get("deleted") or {}
        for key in keys:
            if outcome.get(key) in ("deleted", "not_found"):
                result.deleted.add(key)
            else:
                result.failed.add(key)
        result.budget_remaining = getattr(response, "rate_limit_remaining", None)
        return result

    def thumbnail_url(self, url: str) -> str:
        return url.replace("/image/upload/", f"/image/upload/{THUMBNAIL}/", 1)

    def download_url(self, url: str, filename: str) -> str:
        # Cross-origin links ignore the `download` attribute: ask Cloudinary for an attachment,
        # named like the link says (Cloudinary adds the extension itself).
        stem = quote(filename.rsplit(".", 1)[0], safe="")
        return url.replace("/image/upload/", f"/image/upload/fl_attachment:{stem}/", 1)

    def open(self, key: str, url: str) -> Iterator[bytes]:
        try:
            with self.http.get(url, stream=True, timeout=self.timeout) as response:
                response.raise_for_status()
                yield from response.iter_content(CHUNK)
        except requests.RequestException as exc:
            raise StorageError(f"Could not fetch {key} from Cloudinary") from exc


class LocalStorage:
    """Files under MEDIA_ROOT, served by Django: the demo and development.

    A worker killed while writing leaves its temporary file (`tmp….part`) behind: the next write
    into that sale's folder, or the cleanup that deletes the folder, removes those older than
    `partial_max_age` seconds (a write still under way is younger).
    """

    name = "local"
    delete_batch_size = 1000

    def __init__(self, *, root: Path, base_url: str, partial_max_age: float = DEFAULT_UPLOAD_STALE_SECONDS) -> None:
        self.root = Path(root)
        self.base_url = base_url
        self.partial_max_age = partial_max_age

    def key_for(self, *, external_id: str, position: int, checksum: str, extension: str) -> str:
        return f"photos/{external_id}/{position:02d}-{checksum[:16]}.{extension}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise StorageError(f"Key escapes the media root: {key!r}")
        return path

    def save(self, *, key: str, content: bytes, filename: str) -> StoredPhoto:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.remove_dead_partials(path.parent)
            # A temporary file of its own, then an atomic rename: a reader never sees half a
            # photo, and two uploads of the same photo at once don't trip over each other.
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as partial:
                try:
                    partial.write(content)
                except OSError:
                    Path(partial.name).unlink(missing_ok=True)
                    raise
            Path(partial.name).replace(path)
        except OSError as exc:
            raise StorageError(f"Could not write {key}: {exc.strerror}") from exc
        return StoredPhoto(key=key, url=f"{self.base_url}/{key}")

    def delete(self, keys: list[str]) -> DeleteResult:
        result = DeleteResult(calls=1)
        for key in keys:
            try:
                self._path(key).unlink(missing_ok=True)
                result.deleted.add(key)
            except (OSError, StorageError):  # a key escaping the root fails alone, not the whole run
                result.failed.add(key)
        for folder in {self._path(key).parent for key in result.deleted}:
            self.remove_dead_partials(folder)
            with contextlib.suppress(OSError):  # not empty, or already gone
                folder.rmdir()
        return result

    def remove_dead_partials(self, folder: Path) -> int:
        """Delete the temporary files in `folder` that no write still running can own (older than
        `partial_max_age`); how many were deleted."""
        cutoff = time.time() - self.partial_max_age
        removed = 0
        with contextlib.suppress(OSError):  # the folder is gone: nothing to remove
            for partial in folder.glob(PARTIAL_FILES):
                try:
                    if partial.stat().st_mtime < cutoff:
                        partial.unlink()
                        removed += 1
                except OSError:  # removed meanwhile by another worker
                    continue
        if removed:
            logger.info("removed %d temporary files of interrupted writes in %s", removed, folder.name)
        return removed

    def thumbnail_url(self, url: str) -> str:
        return url

    def download_url(self, url: str, filename: str) -> str:
        # The `download` attribute only works on the same origin: ask the media view for an
        # attachment with this name instead.
        return f"{url}?{urlencode({'download': filename})}"

    def open(self, key: str, url: str) -> Iterator[bytes]:
        try:
            with self._path(key).open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        except OSError as exc:
            raise StorageError(f"Could not read {key}") from exc


@functools.lru_cache(maxsize=8)
def _build(kind: str, *options) -> PhotoStorage:
    if kind == "cloudinary":
        cloud_name, api_key, api_secret, folder, upload_prefix, timeout = options
        return CloudinaryStorage(
            cloud_name=cloud_name,
            api_key=api_key,
            api_secret=api_secret,
            folder=folder,
            upload_prefix=upload_prefix,
            timeout=timeout,
        )
    root, base_url, partial_max_age = options
    return LocalStorage(root=Path(root), base_url=base_url, partial_max_age=partial_max_age)


def get_photo_storage() -> PhotoStorage:
    if settings.PHOTO_STORAGE == "cloudinary":
        return _build(
            "cloudinary",
            settings.CLOUDINARY_CLOUD_NAME,
            settings.CLOUDINARY_API_KEY,
            settings.CLOUDINARY_API_SECRET,
            settings.CLOUDINARY_FOLDER,
            settings.CLOUDINARY_UPLOAD_PREFIX,
            settings.CLOUDINARY_TIMEOUT,
        )
    return _build(
        "local",
        str(settings.MEDIA_ROOT),
        f"{settings.API_BASE_URL}/{settings.MEDIA_URL.strip('/')}",
        upload_stale_seconds(),
    )
