from django.urls import path

from payments import api

urlpatterns = [
    path("transactions", api.SaleCreateView.as_view(), name="sale-create"),
    path("transactions/external/<str:external_id>", api.SaleStatusView.as_view(), name="sale-status"),
    path("webhooks/xendit", api.XenditWebhookView.as_view(), name="xendit-webhook"),
    path("simulator/transactions/<str:external_id>/pay", api.SimulatePaymentView.as_view(), name="simulate-payment"),
]
