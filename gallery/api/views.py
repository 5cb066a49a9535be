"""The kiosk-facing photo API and the maintenance cleanup endpoint (docs/kiosk-contract.md). Each
answer is made by the serializer that documents it (gallery/api/serializers.py); the errors are in
gallery/api/schema.py."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.client import client_network, header_token_matches
from core.envelope import error_response, validation_error_response
from core.openapi import BODY_REQUIRED
from core.ratelimit import MAINTENANCE_BAD_TOKEN, MissLimitedMixin, MissThrottle
from core.renderers import EncryptedJSONRenderer
from gallery import cleanup, outbox, selectors, uploads
from gallery.api import schema
from gallery.api.serializers import (
    CleanupReportSerializer,
    PhotoListSerializer,
    PhotoUploadResultSerializer,
    PhotoUploadSerializer,
)
from gallery.upload_limits import UploadLimitHandler, refuse_oversized
from gallery.validation import check_photo, check_size
from locations.auth import KioskKeyAuthentication, check_kiosk_location
from payments.schema import EXTERNAL_ID
from payments.selectors import sale_by_external_id


class SalePhotosView(MissLimitedMixin, APIView):
    """POST uploads a paid sale's photos; GET lists them (the kiosk's and gallery's view)."""

    parser_classes = [MultiPartParser]
    # Authorization: Bearer <kiosk key> (locations/auth.py); 404s count against RATE_LIMIT_PHOTO_MISSES.
    authentication_classes = [KioskKeyAuthentication]
    throttle_classes = [MissThrottle]
    # ENCRYPTION_ENABLED seals the photo list, not the upload's answer (core/renderers.py).
    renderer_classes = [EncryptedJSONRenderer]
    encrypted_methods = ("GET",)

    @extend_schema(
        operation_id="upload_photos",
        summary="Upload a paid session's photos",
        description="Every file is checked (by content) before any is stored: one bad file rejects the request and "
        "nothing is stored. A retried upload never stores a photo twice. Then the customer is emailed the gallery "
        "link.",
        tags=["photos"],
        parameters=[EXTERNAL_ID],
        request={"multipart/form-data": PhotoUploadSerializer},
        responses=schema.UPLOAD_RESPONSES,
        extensions={BODY_REQUIRED: True},
    )
    def post(self, request, external_id: str):
        # The kiosk key (authentication, before this method), the sale and whether it takes photos
        # are settled before the body is read: `request.FILES`/`request.data` parse it, so nothing
        # may touch them earlier. An upload larger than any valid one is refused unread.
        sale = sale_by_external_id(external_id)
        check_kiosk_location(request, sale.location_id, external_id=sale.external_id)
        uploads.check_sale_accepts_photos(sale)
        refuse_oversized(request)
        request.upload_handlers.insert(0, UploadLimitHandler(request))
        files = request.FILES.getlist("files")
        if not files:
            given = "files" in request.data
            return validation_error_response(
                [
                    {
                        "field": "files",
                        "message": "Must be a file upload" if given else "At least one file is required",
                        "type": "value_error" if given else "missing",
                    }
                ]
            )
        if len(files) > settings.PHOTO_MAX_COUNT:
            raise uploads.TooManyPhotos(stored=0, uploading=len(files))
        # Every file is checked before any is stored: a rejected request stores nothing.
        for upload in files:
            check_size(name=upload.name, size=upload.size)
        checked = [check_photo(name=upload.name, file=upload, size=upload.size) for upload in files]
        result = uploads.upload_photos(sale=sale, checked=checked)
        answer = {
            "photos": [
                {"filename": upload.name, "photo": photo} for upload, photo in zip(files, result.photos, strict=True)
            ],
            "folder_url": outbox.gallery_url(result.sale),
            "email_sent": result.email_sent,
            "email_sent_at": result.sale.email_sent_at if result.email_sent else None,
        }
        return Response(PhotoUploadResultSerializer(answer).data)

    @extend_schema(
        operation_id="list_photos",
        summary="The stored photos of a sale",
        tags=["photos"],
        parameters=[EXTERNAL_ID],
        responses=schema.PHOTO_LIST_RESPONSES,
    )
    def get(self, request, external_id: str):
        sale = sale_by_external_id(external_id, selectors.sale_for_photo_list())
        check_kiosk_location(request, sale.location_id, external_id=sale.external_id)
        urls = selectors.stored_photo_urls(sale)
        if not urls:
            raise errors.NotFound("No photos found for transaction", details={"external_id": sale.external_id})
        body = PhotoListSerializer({"sale": sale, "expiry_date": selectors.photos_expire_at(sale), "photos": urls}).data
        return Response(body)


class CleanupView(APIView):
    """POST /api/v1/maintenance/cleanup?days=14 (and the earlier cron's DELETE alias)."""

    @extend_schema(
        operation_id="cleanup_photos",
        summary="Delete old photos",
        description="For cron jobs calling over HTTP; `manage.py cleanup` does the same.",
        tags=["maintenance"],
        parameters=[schema.MAINTENANCE_TOKEN, schema.CLEANUP_DAYS],
        request=None,
        responses=schema.CLEANUP_RESPONSES,
    )
    def post(self, request):
        provided = request.headers.get("X-Maintenance-Token")
        if provided is None or not header_token_matches(provided, settings.MAINTENANCE_TOKEN):
            # The webhook's rule: only failures count, atomically, and an address past
            # RATE_LIMIT_WEBHOOK_BAD_TOKEN of them is refused until its window ends.
            if (wait := MAINTENANCE_BAD_TOKEN.hit(client_network(request))) is not None:
                raise exceptions.Throttled(wait)
            if provided is None:
                return error_response(status.HTTP_401_UNAUTHORIZED, "Missing X-Maintenance-Token header")
            return error_response(status.HTTP_403_FORBIDDEN, "Invalid maintenance token")
        raw_days = request.query_params.get("days", str(settings.PHOTO_RETENTION_DAYS))
        if not (raw_days.isascii() and raw_days.isdigit()) or not 1 <= int(raw_days) <= 3650:
            return validation_error_response(
                [{"field": "days", "message": "A whole number of days from 1 to 3650", "type": "int_parsing"}]
            )
        report = cleanup.cleanup_photos(days=int(raw_days))
        return Response(CleanupReportSerializer(report).data)

    @extend_schema(
        operation_id="cleanup_old_folders",
        summary="Delete old photos (the earlier cron job's path)",
        description="The same as POST /api/v1/maintenance/cleanup.",
        tags=["maintenance"],
        deprecated=True,
        parameters=[schema.MAINTENANCE_TOKEN, schema.CLEANUP_DAYS],
        request=None,
        responses=schema.CLEANUP_RESPONSES,
    )
    def delete(self, request):
        return self.post(request)
