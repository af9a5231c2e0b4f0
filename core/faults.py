"""Exceptions the portal treats as "the database is unavailable", defined once (the request
middleware, the request log filter, the session store and the periodic tasks all ask it)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
