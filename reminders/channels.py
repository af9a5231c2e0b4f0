"""How a reminder reaches the patient. Email now; SMS or push implement the same interface."""

from __future__ import annotations

import smtplib
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from django.core.mail import EmailMessage, get_connection
from django.core.signals import setting_changed


@dataclass(frozen=True)
class ReminderMessage:
    to: str
    subject: str
    body: str
    unsubscribe_url: str


class ReminderChannel(Protocol):
    def send(self, message: ReminderMessage) -> None:
        """Deliver one message or raise; ``TRANSIENT_ERRORS`` are retried with backoff."""
        ...


# Failures worth retrying with backoff; anything else is a bug and fails the task.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPDataError,
    smtplib.SMTPHeloError, ConnectionError, TimeoutError,
)

# A worker process keeps its SMTP session between send tasks for this long: a TLS handshake and
# login per reminder would cost more than the reminder. Well under the idle timeouts SMTP
# servers use (RFC 5321 asks for at least 5 minutes).
KEEP_OPEN_SECONDS = 30.0


class EmailChannel:
    """Sends through Django's email backend, over one connection per worker process (or
    thread), reopened when it has been idle for ``KEEP_OPEN_SECONDS`` or after an error."""

    def __init__(self) -> None:
        self._local = threading.local()

    def send(self, message: ReminderMessage) -> None:
        backend = self._connection()
        try:
            EmailMessage(
                subject=message.subject, body=message.body, to=[message.to],
                connection=backend,
                headers={
                    "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            ).send(fail_silently=False)
        except BaseException:
            self.close()  # a session that failed once is not trusted with the next message
            raise
        self._local.last_used = time.monotonic()

    def _connection(self) -> object:
        backend = getattr(self._local, "backend", None)
        if backend is not None and time.monotonic() - self._local.last_used > KEEP_OPEN_SECONDS:
            self.close()
            backend = None
        if backend is None:
            backend = get_connection(fail_silently=False)
            backend.open()
            self._local.backend = backend
            self._local.last_used = time.monotonic()
        return backend

    def close(self) -> None:
        backend = getattr(self._local, "backend", None)
        self._local.backend = None
        if backend is not None:
            # A broken session may fail to say goodbye; what was sent or rolled back counts.
            with suppress(*TRANSIENT_ERRORS, smtplib.SMTPException, OSError):
                backend.close()


EMAIL = EmailChannel()
CHANNELS: dict[str, ReminderChannel] = {"email": EMAIL}


def _email_settings_changed(*, setting: str, **_: object) -> None:
    """Tests switch email backends; a kept connection must not outlive the backend it came from."""
    if setting.startswith("EMAIL_"):
        EMAIL.close()


setting_changed.connect(_email_settings_changed)
