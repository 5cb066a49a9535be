from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core import views
from demo import kiosk
from gallery import views as gallery_views

# Any exception no view handled: a database that cannot be reached answers 503 with Retry-After.
handler500 = "core.error_pages.server_error"

admin.site.site_header = "Photobox"
admin.site.site_title = "Photobox admin"
admin.site.index_title = "Run the photo booths"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/", include("payments.urls")),
    path("api/v1/", include("pricing.urls")),
    path("api/v1/", include("gallery.urls")),
    path("api/v1/", include("locations.urls")),
    # The OpenAPI schema (YAML; ?format=json for JSON) and its readers, from our own static files.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"), name="redoc"),
    # Must stay after every API route: see core.views.api_not_found.
    re_path(r"^api/", views.api_not_found),
    path("health", views.health, name="health"),
    # A link without its key (or with a trailing slash) gets the gallery's own 404 page.
    path("gallery/<str:external_id>", gallery_views.gallery_page),
    path("gallery/<str:external_id>/", gallery_views.gallery_page),
    path("gallery/<str:external_id>/<str:key>", gallery_views.gallery_page, name="gallery"),
    path("gallery/<str:external_id>/<str:key>/download", gallery_views.gallery_download, name="gallery-download"),
    path(
        "gallery/<str:external_id>/<str:key>/photos/<int:number>/download",
        gallery_views.gallery_photo_download,
        name="gallery-photo-download",
    ),
    # The demo kiosk page (DEBUG or DEMO_KIOSK only; 404 otherwise).
    path("kiosk/", kiosk.kiosk_page, name="kiosk"),
    path("kiosk/gallery-qr.svg", kiosk.gallery_qr, name="kiosk-gallery-qr"),
    # Staff bookmarks from before the sale model was renamed (it was "transaction") keep working.
    re_path(
        r"^admin/payments/transaction/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/payments/sale/%(rest)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
]

if settings.PHOTO_STORAGE == "local":
    # Without Cloudinary, Django serves the photos itself (the demo, development).
    urlpatterns.append(re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", views.media))
