"""How a reminder reaches the patient. Email now; SMS or push implement the same interface."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Protocol

from django.core.mail import EmailMessage, get_connection


@dataclass(frozen=True)
class ReminderMessage:
    to: str
    subject: str
    body: str
    unsubscribe_url: str


class ReminderChannel(Protocol):
    def connection(self) -> AbstractContextManager[object | None]:
        """A connection held open for a batch of sends (None if the channel has none)."""
        ...

    def send(self, message: ReminderMessage, connection: object | None = None) -> None: ...


# Failures worth retrying with backoff; anything else is a bug and fails the task.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPDataError,
    smtplib.SMTPHeloError, ConnectionError, TimeoutError,
)


class EmailChannel:
    @contextmanager
    def connection(self) -> Iterator[object]:
        """One SMTP session (or one outbox file) for a whole dispatcher batch: a TLS handshake
        and login per message would cost more than the message itself."""
        backend = get_connection(fail_silently=False)
        backend.open()
        try:
            yield backend
        finally:
            # A session that broke mid-batch may fail to say goodbye; the sends already done or
            # rolled back are what counts.
            with suppress(*TRANSIENT_ERRORS, smtplib.SMTPException):
                backend.close()

    def send(self, message: ReminderMessage, connection: object | None = None) -> None:
        EmailMessage(
            subject=message.subject, body=message.body, to=[message.to], connection=connection,
            headers={
                "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        ).send(fail_silently=False)


CHANNELS: dict[str, ReminderChannel] = {"email": EmailChannel()}


class Outbox:
    """The channels' connections, opened on first use and closed together at the end of a
    batch (``with Outbox() as outbox: outbox.send(channel, message)``)."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._connections: dict[str, object | None] = {}

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def send(self, channel: str, message: ReminderMessage) -> None:
        if channel not in self._connections:
            self._connections[channel] = self._stack.enter_context(CHANNELS[channel].connection())
        CHANNELS[channel].send(message, connection=self._connections[channel])
