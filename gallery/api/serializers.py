"""What the photo and cleanup endpoints read and answer. The output serializers produce the
answers, and drf-spectacular documents the same classes (gallery/api/schema.py adds the errors)."""

from rest_framework import serializers

from core.openapi import JakartaDateTimeField, LengthField


# Documents the upload's body; the view reads `files` itself (checked by content, not by DRF).
class PhotoUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        help_text="One part named `files` per photo: JPEG or PNG (checked by content), at most 10 MB each.",
    )


# From `{"filename": the name the kiosk sent, "photo": the stored Photo}`.
class UploadedPhotoSerializer(serializers.Serializer):
    filename = serializers.CharField(help_text="The name the kiosk sent.")
    url = serializers.URLField(source="photo.url")
    size = serializers.IntegerField(source="photo.bytes", help_text="Bytes.")


class PhotoUploadResultSerializer(serializers.Serializer):
    uploaded_count = LengthField(source="photos")
    folder_url = serializers.URLField(help_text="The customer's gallery link (the one emailed).")
    email_sent = serializers.BooleanField(help_text="false: the photos are kept and the email is retried.")
    email_sent_at = JakartaDateTimeField(allow_null=True)
    photos = UploadedPhotoSerializer(many=True)


# From the photo's URL.
class ListedPhotoSerializer(serializers.Serializer):
    url = serializers.URLField(source="*")


# From `{"sale": the Sale, "expiry_date": when its photos go, "photos": their URLs}`.
class PhotoListSerializer(serializers.Serializer):
    external_id = serializers.CharField(source="sale.external_id")
    photo_count = LengthField(source="photos")
    email_sent_at = JakartaDateTimeField(source="sale.email_sent_at", allow_null=True)
    expiry_date = JakartaDateTimeField(allow_null=True, help_text="When the photos will be deleted.")
    photos = ListedPhotoSerializer(many=True, help_text="In upload order.")


# From a gallery.cleanup.CleanupReport.
class CleanupReportSerializer(serializers.Serializer):
    deleted_count = LengthField(source="deleted")
    folders = serializers.ListField(
        source="deleted", child=serializers.CharField(), help_text="External ids of the sales cleaned."
    )
    failed_count = LengthField(source="failed")
    failed_folders = serializers.ListField(source="failed", child=serializers.CharField())
    message = serializers.CharField(help_text="`5 folders deleted successfully`")
