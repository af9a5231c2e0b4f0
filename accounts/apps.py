from django.apps import AppConfig
from django.core import checks


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, clinics and audit"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the sign-in signal receivers
        from .checks import cache_is_shared

        checks.register(cache_is_shared, checks.Tags.caches, checks.Tags.security)
