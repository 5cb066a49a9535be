from django.urls import path

from gallery.api import views as api

urlpatterns = [
    path("transactions/<str:external_id>/photos", api.SalePhotosView.as_view(), name="sale-photos"),
    # One method per path, as documented (the contract's POST, the earlier cron's DELETE): others get 405.
    path(
        "maintenance/cleanup",
        api.CleanupView.as_view(http_method_names=["post", "options"]),
        name="maintenance-cleanup",
    ),
    path(
        "maintenance/cleanup-old-folders",
        api.CleanupView.as_view(http_method_names=["delete", "options"]),
        name="maintenance-cleanup-old-folders",
    ),
]
