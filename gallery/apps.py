from django.apps import AppConfig
from django.conf import settings


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = "Gallery"

    def ready(self) -> None:
        from PIL import Image

        # Pillow's decompression-bomb guard, at our limit (it applies to every image we open).
        Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
