"""Django's database sessions, except that a database outage while saving stays an outage.

Django's database backend turns any database error on updating a session into ``UpdateError``,
which its session middleware answers with a 400 ("the session was deleted before the request
completed"). Since messages live in the session, most form posts save it: an outage must give
the 503 page (``core.views.server_error``), not tell the patient their request was bad.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from core.faults import DATABASE_UNAVAILABLE


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as error:
            if isinstance(error.__context__, DATABASE_UNAVAILABLE):
                raise error.__context__ from None
            raise
