"""The fake Xendit and the fake Cloudinary (tests/fakes) started on 127.0.0.1, with the settings
pointed at them, so the real clients and SDKs make real HTTP calls the tests can read and steer."""

from collections.abc import Iterator
from contextlib import contextmanager

from tests.fakes.cloudinary import FakeCloudinary, FakeCloudinaryServer
from tests.fakes.xendit import FakeXendit, FakeXenditServer


@contextmanager
def running_fake_xendit(settings) -> Iterator[FakeXendit]:
    """The real XenditClient, pointed at a fake Xendit on 127.0.0.1."""
    server = FakeXenditServer()
    with server as fake:
        settings.PAYMENT_GATEWAY = "xendit"
        settings.XENDIT_API_URL = server.url
        settings.XENDIT_API_KEY = fake.api_key
        settings.XENDIT_READ_TIMEOUT = 1.0
        settings.XENDIT_CONNECT_TIMEOUT = 1.0
        yield fake


@contextmanager
def running_fake_cloudinary(settings) -> Iterator[FakeCloudinary]:
    """The real CloudinaryStorage (and SDK), pointed at a fake Cloudinary on 127.0.0.1."""
    server = FakeCloudinaryServer()
    with server as fake:
        settings.PHOTO_STORAGE = "cloudinary"
        settings.CLOUDINARY_CLOUD_NAME = fake.cloud_name
        settings.CLOUDINARY_API_KEY = fake.api_key
        settings.CLOUDINARY_API_SECRET = fake.api_secret
        settings.CLOUDINARY_UPLOAD_PREFIX = server.url
        settings.CLOUDINARY_FOLDER = "photobox"
        settings.CLOUDINARY_TIMEOUT = 2.0
        yield fake
