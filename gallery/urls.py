from django.urls import path

from gallery import api

urlpatterns = [
    path("transactions/<str:external_id>/photos", api.SalePhotosView.as_view(), name="sale-photos"),
    path("maintenance/cleanup", api.CleanupView.as_view(), name="maintenance-cleanup"),
    path("maintenance/cleanup-old-folders", api.CleanupView.as_view(), name="maintenance-cleanup-old-folders"),
]
