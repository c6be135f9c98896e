"""A real SMTP server (aiosmtpd) on a free loopback port, with Django's email settings
pointed at it: the `smtp` fixture, shared by the tests that read the mails the product sends
(notification emails, invitations)."""

from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from requestdesk.embedded import free_port


class Inbox:
    """aiosmtpd handler: keeps each message received; `refuse` answers DATA with a 451."""

    def __init__(self):
        self.messages, self.refuse = [], False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free port, and the email settings pointed at it."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.DEFAULT_FROM_EMAIL = "requestdesk <noreply@requestdesk.test>"
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 0  # a failed send is due again at once
    yield inbox
    controller.stop()
