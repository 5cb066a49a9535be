"""On the sale's page: its photos (thumbnails, an interrupted upload) and each attempt to email them."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backoffice.tools import ReadOnlyAdminMixin
from gallery import selectors
from gallery.models import EmailOutbox, Photo
from gallery.storage import get_photo_storage


class PhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Photo
    verbose_name_plural = "photos (click one to open it full size)"
    fields = ["position", "thumbnail", "original_name", "dimensions", "bytes", "stored_at"]
    readonly_fields = fields
    extra = 0
    # Above the photos: "upload interrupted", and how to send the email with the stored ones.
    template = "admin/gallery/photo/tabular.html"

    def get_formset(self, request, obj=None, **kwargs):
        # A fresh inline per request (ModelAdmin.get_inline_instances): the template reads these.
        self.upload_state = selectors.upload_state(obj) if obj is not None else None
        self.resend_url = None
        if obj is not None and request.user.has_perm("payments.resend_customer_email"):
            self.resend_url = reverse("admin:payments_sale_resend-email", args=[obj.pk])
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="photo")
    def thumbnail(self, photo: Photo):
        if not photo.url:
            if selectors.is_abandoned(photo):
                return "⚠ upload interrupted: not stored"
            return "not stored yet"
        storage = get_photo_storage()
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="photo {}" style="height:80px"></a>',
            photo.url,
            storage.thumbnail_url(photo.url),
            photo.position,
        )

    @admin.display(description="size (px)")
    def dimensions(self, photo: Photo) -> str:
        return f"{photo.width} × {photo.height}"


class EmailOutboxInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EmailOutbox
    verbose_name_plural = "photo email (each attempt to send it)"
    fields = ["kind", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
