from django.urls import path

from payments import qr
from payments.api import views as api

urlpatterns = [
    path("transactions", api.SaleCreateView.as_view(), name="sale-create"),
    path("transactions/external/<str:external_id>", api.poll_view(api.SaleStatusView.as_view()), name="sale-status"),
    path("transactions/external/<str:external_id>/qr.svg", qr.sale_qr_svg, name="sale-qr-svg"),
    path("transactions/external/<str:external_id>/qr.png", qr.sale_qr_png, name="sale-qr-png"),
    path("transactions/<str:external_id>/cancel", api.SaleCancelView.as_view(), name="sale-cancel"),
    path("webhooks/xendit", api.XenditWebhookView.as_view(), name="xendit-webhook"),
    path("simulator/transactions/<str:external_id>/pay", api.SimulatePaymentView.as_view(), name="simulate-payment"),
]
