"""Email backend for the embedded development mode: every message is written to a file
under ``var/outbox/email`` *and* to the console, so a person trying the demo can read the
codes the portal sends them."""

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class DevelopmentEmailBackend(FileBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._console = ConsoleBackend(*args, **kwargs)

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        self._console.send_messages(email_messages)
        return sent
