from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from gallery import views as gallery_views
from photobox import views

admin.site.site_header = "Photobox"
admin.site.site_title = "Photobox admin"
admin.site.index_title = "Run the photo booths"

urlpatterns = [
    path("api/v1/", include("payments.urls")),
    path("api/v1/", include("gallery.urls")),
    # Must stay after every API route: see photobox.views.api_not_found.
    re_path(r"^api/", views.api_not_found),
    path("health", views.health, name="health"),
    # A link without its key (or with a trailing slash) gets the gallery's own 404 page.
    path("gallery/<str:external_id>", gallery_views.gallery_page),
    path("gallery/<str:external_id>/", gallery_views.gallery_page),
    path("gallery/<str:external_id>/<str:key>", gallery_views.gallery_page, name="gallery"),
    path("gallery/<str:external_id>/<str:key>/download", gallery_views.gallery_download, name="gallery-download"),
    path("admin/", admin.site.urls),
]

if settings.PHOTO_STORAGE == "local":
    # Without Cloudinary, Django serves the photos itself (the demo, development).
    from django.views.static import serve

    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )
