"""GET /api/v1/kiosk/packages: the kiosk's menu (docs/kiosk-contract.md). The answer is made by
the serializer that documents it (pricing/api/serializers.py); the errors are in pricing/api/schema.py."""

import hashlib
import json

from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import RESPONSE_HEADERS
from core.ratelimit import MissLimitedMixin, MissThrottle
from locations.auth import KioskKeyAuthentication, check_kiosk_location, kiosk_key
from locations.services import active_location
from pricing import selectors
from pricing.api import schema
from pricing.api.serializers import PackagesQuerySerializer, PackagesSerializer


def _plain_query(request) -> dict:
    """The query string as one value per name. A name given twice is refused rather than one of its
    values picked; and as a plain dict, an empty `location_id=` is an invalid number, not a missing one."""
    repeated = sorted(name for name, values in request.query_params.lists() if len(values) > 1)
    if repeated:
        raise ValidationError({name: ErrorDetail("Give this parameter once.", code="invalid") for name in repeated})
    return request.query_params.dict()


def _etag(answer: dict) -> str:
    digest = hashlib.sha256(json.dumps(answer, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f'"{digest[:32]}"'


class PackagesView(MissLimitedMixin, APIView):
    """The active prices this kiosk may sell, cheapest first."""

    # Authorization: Bearer <kiosk key> (locations/auth.py); 404s count against RATE_LIMIT_PHOTO_MISSES,
    # as for the other kiosk reads that take a key (the photo list, cancel).
    authentication_classes = [KioskKeyAuthentication]
    throttle_classes = [MissThrottle]

    @extend_schema(
        operation_id="list_packages",
        summary="The kiosk's menu: the prices it may sell",
        description="The active prices offered at this kiosk's location (a price limited to other locations is "
        "left out), cheapest first, each with its quota and what is left of it. Checks in this order: kiosk key, "
        "`location_id`, the key's location, the location (unknown, inactive: as sale creation answers them). "
        "Cacheable for a short while, with an ETag. Never encrypted.",
        tags=["sales"],
        parameters=[schema.LOCATION_ID, schema.IF_NONE_MATCH],
        responses=schema.PACKAGES_RESPONSES,
        extensions={RESPONSE_HEADERS: schema.RESPONSE_HEADERS},
    )
    def get(self, request):
        key = kiosk_key(request)
        query = PackagesQuerySerializer(data=_plain_query(request), location_required=key is None)
        query.is_valid(raise_exception=True)
        location_id = query.validated_data.get("location_id", key.location_id if key else None)
        check_kiosk_location(request, location_id)
        location = active_location(location_id)
        prices = selectors.menu(location_id=location.pk, now=timezone.now())
        answer = PackagesSerializer.answer(prices)
        etag = _etag(answer)
        # Django's conditional-request rules (If-None-Match lists, weak tags, "*"), as for the QR image.
        response = get_conditional_response(request._request, etag=etag) or Response(answer)
        response["ETag"] = etag
        # Private: with a key and no location_id, one URL gives each kiosk its own menu.
        patch_cache_control(response, private=True, max_age=schema.MAX_AGE)
        patch_vary_headers(response, ["Authorization"])
        return response
