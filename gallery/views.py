"""The customer's gallery page (server-rendered). Placeholder until the gallery page lands."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from gallery import selectors
from payments.models import Transaction


def _sale_for_key(external_id: str, key: str) -> Transaction:
    sale = get_object_or_404(Transaction, external_id=external_id)
    import hmac

    if not hmac.compare_digest(sale.gallery_key.encode(), key.encode()):
        raise Http404
    return sale


def gallery_page(request, external_id: str, key: str):
    sale = _sale_for_key(external_id, key)
    if sale.photos_deleted_at:
        return HttpResponse("expired", status=410)
    photos = selectors.stored_photos(sale)
    return HttpResponse("".join(f'<img src="{p.url}">' for p in photos))


def gallery_download(request, external_id: str, key: str):
    raise Http404
