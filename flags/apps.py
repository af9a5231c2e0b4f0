from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    verbose_name = "Flags and the review queue"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to checkins.signals)
