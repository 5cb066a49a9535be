"""The sale in other apps' OpenAPI contracts: the `external_id` path parameter and its 404.

The photo endpoints (gallery/api/) address a sale as the sale endpoints do; both use these, so
neither app imports the other's API package.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter

from core.openapi import example
from payments.models import EXTERNAL_ID_PATTERN

EXTERNAL_ID = OpenApiParameter(
    "external_id",
    str,
    OpenApiParameter.PATH,
    description="The sale's external id, as returned by POST /api/v1/transactions "
    "(`TRX-{location_id}-{YYYYmmddHHMMSS}-{8 hex}`).",
    pattern=f"^{EXTERNAL_ID_PATTERN}$",
)

SALE_NOT_FOUND = example(404, "Transaction not found", {"external_id": "TRX-2-20251215162229-57283A15"})
