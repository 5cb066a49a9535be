from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

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
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
