"""Mail servers that misbehave, as EMAIL_BACKEND values (settings.EMAIL_BACKEND = DISCONNECTING)."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend

DISCONNECTING = "tests.support.mail.DisconnectingBackend"


class DisconnectingBackend(BaseEmailBackend):
    """Every send fails as a dropped connection does: the outbox keeps the email and retries it."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
