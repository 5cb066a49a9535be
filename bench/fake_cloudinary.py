"""The tests' fake Cloudinary (tests/fakes/cloudinary.py), with a multipart parser fast enough
for benchmarks: the fake's own (the email package) spends ~70 ms of CPU on a 3 MB photo, which
would be counted as upload time. What it answers and records is unchanged."""

import re

from tests.fakes.cloudinary import FakeCloudinary, FakeCloudinaryServer, _Handler

_DISPOSITION = re.compile(rb'content-disposition:[^\r\n]*?\bname="([^"]*)"(?:[^\r\n]*?\bfilename="([^"]*)")?', re.I)


class FastMultipartHandler(_Handler):
    def _multipart(self, body: bytes) -> tuple[dict[str, str], bytes | None, str]:
        match = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
        fields: dict[str, str] = {}
        content, filename = None, ""
        if match is None:
            return fields, content, filename
        for part in body.split(b"--" + match.group(1).encode("latin-1"))[1:]:
            if part.startswith(b"--"):
                break
            head, _, payload = part.partition(b"\r\n\r\n")
            payload = payload.removesuffix(b"\r\n")
            disposition = _DISPOSITION.search(head)
            if disposition is None:
                continue
            name = disposition.group(1).decode()
            if name == "file":
                content, filename = payload, (disposition.group(2) or b"").decode()
            else:
                fields[name] = payload.decode()
        return fields, content, filename


def fake_cloudinary_server(**settings) -> FakeCloudinaryServer:
    """A FakeCloudinaryServer (a context manager giving the FakeCloudinary) using the fast parser."""
    server = FakeCloudinaryServer(FakeCloudinary(**settings))
    server._server.RequestHandlerClass = FastMultipartHandler
    return server


def cloudinary_env(server: FakeCloudinaryServer) -> dict[str, str]:
    """The server settings pointing the real Cloudinary SDK at the fake."""
    fake = server.fake
    return {
        "CLOUDINARY_URL": "",
        "CLOUDINARY_CLOUD_NAME": fake.cloud_name,
        "CLOUDINARY_API_KEY": fake.api_key,
        "CLOUDINARY_API_SECRET": fake.api_secret,
        "CLOUDINARY_UPLOAD_PREFIX": server.url,
        "CLOUDINARY_FOLDER": "photobox",
    }
