from django.contrib import admin
from django.utils.html import format_html

from gallery.models import EmailOutbox, Photo
from gallery.storage import get_photo_storage


class PhotoInline(admin.TabularInline):
    model = Photo
    fields = ["position", "thumbnail", "original_name", "dimensions", "bytes", "stored_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="photo")
    def thumbnail(self, photo: Photo):
        if not photo.url:
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


class EmailOutboxInline(admin.TabularInline):
    model = EmailOutbox
    fields = ["kind", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin):
    list_display = ["sale", "kind", "status", "attempts", "next_attempt_at", "sent_at"]
    list_select_related = ["sale"]
    list_filter = ["status", "kind"]
    search_fields = ["=sale__external_id", "sale__email"]
    readonly_fields = ["sale", "kind", "status", "attempts", "next_attempt_at", "sent_at", "last_error", "created_at"]
    fields = readonly_fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
