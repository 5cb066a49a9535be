from django.urls import path

from pricing.api import views as api

urlpatterns = [
    path("kiosk/packages", api.PackagesView.as_view(), name="kiosk-packages"),
]
