"""System checks for what the sign-in protections rely on."""

from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

DUMMY_CACHE = "django.core.cache.backends.dummy.DummyCache"
LOCMEM_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def cache_is_shared(app_configs: list[AppConfig] | None = None,
                    **kwargs: object) -> list[CheckMessage]:
    """allauth keeps login rate limits and used TOTP codes in the default cache."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend == DUMMY_CACHE:
        return [Error(
            "The default cache is DummyCache: login rate limits and one-time-code replay "
            "protection would silently do nothing.",
            hint="Set CACHE_URL to Redis (production) or leave it unset for the file cache.",
            id="accounts.E001",
        )]
    if backend == LOCMEM_CACHE:
        return [Warning(
            "The default cache is per-process: each web worker counts login failures apart.",
            hint="Use Redis (CACHE_URL=rediscache://...) or the file cache.",
            id="accounts.W001",
        )]
    return []
