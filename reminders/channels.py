"""How a reminder reaches the patient. Email now; SMS or push implement the same interface."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from typing import Protocol

from django.core.mail import EmailMessage


@dataclass(frozen=True)
class ReminderMessage:
    to: str
    subject: str
    body: str
    unsubscribe_url: str


class ReminderChannel(Protocol):
    def send(self, message: ReminderMessage) -> None: ...


# Failures worth retrying with backoff; anything else is a bug and fails the task.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPDataError,
    smtplib.SMTPHeloError, ConnectionError, TimeoutError,
)


class EmailChannel:
    def send(self, message: ReminderMessage) -> None:
        EmailMessage(
            subject=message.subject, body=message.body, to=[message.to],
            headers={
                "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        ).send(fail_silently=False)


CHANNELS: dict[str, ReminderChannel] = {"email": EmailChannel()}
