"""The payments app's models, one module per subject; every name is importable from here (migration
0001 names payments.models.new_gallery_key)."""

from payments.models.events import (
    OPEN_UNMATCHED,
    OPEN_UNMATCHED_LOOKUPS,
    EventOutcome,
    EventSource,
    PaymentEvent,
)
from payments.models.history import SaleCause, SaleHistory
from payments.models.idempotency import IdempotencyKey
from payments.models.refunds import Refund, RefundOrigin, RefundStatus
from payments.models.reviews import ReviewNote, SaleReview, reviews_prefetch
from payments.models.sale import (
    EXTERNAL_ID_PATTERN,
    FREE_SESSION_CHANNEL,
    GALLERY_KEY_PATTERN,
    PAID_STATUSES,
    UNASKED_STATUSES,
    Sale,
    SaleStatus,
    is_external_id,
    new_gallery_key,
)

__all__ = [
    "EXTERNAL_ID_PATTERN",
    "FREE_SESSION_CHANNEL",
    "GALLERY_KEY_PATTERN",
    "OPEN_UNMATCHED",
    "OPEN_UNMATCHED_LOOKUPS",
    "PAID_STATUSES",
    "UNASKED_STATUSES",
    "EventOutcome",
    "EventSource",
    "IdempotencyKey",
    "PaymentEvent",
    "Refund",
    "RefundOrigin",
    "RefundStatus",
    "ReviewNote",
    "Sale",
    "SaleCause",
    "SaleHistory",
    "SaleReview",
    "SaleStatus",
    "is_external_id",
    "new_gallery_key",
    "reviews_prefetch",
]
