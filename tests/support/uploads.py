"""Photos as a kiosk uploads them: small real JPEGs, posted as multipart to the sale's photos."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def jpeg(name="photo.jpg", size=(64, 48), color=(200, 30, 30), quality: int = 75) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=quality)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def photos_of(count: int, *, quality: int = 75) -> list[SimpleUploadedFile]:
    """`count` different JPEGs (so none is a duplicate of another), photo0.jpg, photo1.jpg, …;
    another `quality` encodes the same pictures anew (other bytes, as a kiosk's retry may send)."""
    return [jpeg(f"photo{i}.jpg", color=(i * 7 % 256, i * 13 % 256, 40), quality=quality) for i in range(count)]


def upload(api, sale, files):
    return api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": files}, format="multipart")
