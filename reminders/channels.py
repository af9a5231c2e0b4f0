"""How a reminder reaches the patient: email, or Web Push to the phones they subscribed."""

from __future__ import annotations

import functools
import json
import logging
import smtplib
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.signals import setting_changed

logger = logging.getLogger(__name__)


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


class PushServiceUnavailable(Exception):
    """No phone could be reached and a push service was down, slow or busy (429, 5xx, no
    connection): worth retrying like a dropped SMTP session."""


# Failures worth retrying with backoff; anything else is a bug and fails the task.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPDataError,
    smtplib.SMTPHeloError, ConnectionError, TimeoutError, PushServiceUnavailable,
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
                # None for a caregiver's email about several children (a link per child in
                # its text, none stopping them all).
                headers={
                    "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                } if message.unsubscribe_url else {},
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


# --- Web Push ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PushMessage:
    """All a push payload carries: no name, condition, step, medicine or goal (it shows on a
    lock screen), only that a check-in is waiting and where."""

    title: str
    body: str
    url: str
    ttl: int  # seconds the push service may hold it for an offline phone

    def payload(self) -> bytes:
        return json.dumps({"title": self.title, "body": self.body, "url": self.url}).encode()


@dataclass(frozen=True)
class PushTarget:
    """One subscription, as read for a send (``reminders.models.PushSubscription``)."""

    pk: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass
class PushOutcome:
    """Subscription ids by what their push service answered."""

    delivered: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # 404/410: the browser dropped it
    failed: list[int] = field(default_factory=list)  # refused or unreachable
    unavailable: bool = False  # some failure was worth a retry (429, 5xx, no connection)


def push_endpoint_allowed(endpoint: str) -> bool:
    """https at one of ``WEBPUSH_SERVICE_HOSTS`` (exact host, or ".domain" for its hosts), no
    other port, no credentials: the server POSTs nowhere else. http only in tests."""
    try:
        url = urlsplit(endpoint)
        host, port = (url.hostname or "").lower(), url.port
    except ValueError:
        return False
    secure = url.scheme == "https" and port in (None, 443)
    test_only = settings.WEBPUSH_ALLOW_HTTP and url.scheme in ("http", "https")
    control = any(ch.isspace() or ord(ch) < 32 for ch in endpoint)
    return ((secure or test_only) and not control and not url.username and not url.password
            and not url.fragment
            and any(host == allowed or (allowed.startswith(".") and host.endswith(allowed))
                    for allowed in settings.WEBPUSH_SERVICE_HOSTS))


# A push service's answers: gone for good (delete the subscription) or worth a retry.
GONE_STATUSES = frozenset({404, 410})
PUSH_TIMEOUT_SECONDS = 10


@functools.lru_cache(maxsize=2)
def _vapid(private_key: str) -> object:
    from py_vapid import Vapid

    return Vapid.from_string(private_key=private_key)


class WebPushChannel:
    """Sends one reminder to each of a patient's subscriptions (RFC 8030/8291, VAPID), over an
    HTTP session kept per worker process (or thread), as the email channel keeps its SMTP one."""

    def __init__(self) -> None:
        self._local = threading.local()

    def send(self, targets: list[PushTarget], message: PushMessage) -> PushOutcome:
        outcome = PushOutcome()
        for target in targets:
            self._send_one(target, message, outcome)
        return outcome

    def _send_one(self, target: PushTarget, message: PushMessage, outcome: PushOutcome) -> None:
        # Imported on first use: a deployment without VAPID keys never loads pywebpush (and
        # the aiohttp it pulls in) into its web or worker processes.
        import requests
        from pywebpush import WebPushException, webpush

        if not push_endpoint_allowed(target.endpoint):
            outcome.gone.append(target.pk)  # not a push service (any more): never POST there
            return
        try:
            webpush(
                {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh,
                                                       "auth": target.auth}},
                data=message.payload(), vapid_private_key=_vapid(settings.VAPID_PRIVATE_KEY),
                vapid_claims={"sub": settings.VAPID_SUBJECT}, ttl=message.ttl,
                # Urgency: no need to wake a phone in power saving; Topic: a follow-up replaces
                # an undelivered reminder on the push service instead of queueing behind it.
                headers={"Urgency": "normal", "Topic": "checkin"},
                timeout=PUSH_TIMEOUT_SECONDS, requests_session=self._session(),
            )
        except WebPushException as error:
            status = error.status_code
            if status in GONE_STATUSES:
                outcome.gone.append(target.pk)
            else:
                outcome.failed.append(target.pk)
                outcome.unavailable |= status is not None and (status == 429 or status >= 500)
            # The subscription's id only: its endpoint is a credential, the body may echo it.
            logger.info("Push to subscription %s refused (HTTP %s).", target.pk, status)
        except (requests.ConnectionError, requests.Timeout) as error:
            self.close()
            outcome.failed.append(target.pk)
            outcome.unavailable = True
            logger.info("Push to subscription %s: %s.", target.pk, type(error).__name__)
        except ValueError:  # keys that do not make a P-256 point or a 16-byte secret
            outcome.failed.append(target.pk)
            logger.info("Push to subscription %s: unusable keys.", target.pk)
        else:
            outcome.delivered.append(target.pk)

    def _session(self) -> object:
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        self._local.session = None
        if session is not None:
            session.close()


PUSH = WebPushChannel()
