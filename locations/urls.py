from django.urls import path

from locations.api import views as api

urlpatterns = [
    path("kiosk/heartbeat", api.HeartbeatView.as_view(), name="kiosk-heartbeat"),
    path("kiosk/activate", api.ActivateView.as_view(), name="kiosk-activate"),
]
