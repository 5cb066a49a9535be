"""Placeholder: the customer email builder lands with the email templates."""

from django.core.mail import EmailMultiAlternatives


def build_customer_email(*, sale, gallery_url: str) -> EmailMultiAlternatives:
    return EmailMultiAlternatives(subject="Foto Photobox Anda Sudah Siap! 📸", body=gallery_url, to=[sale.email])
