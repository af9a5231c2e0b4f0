from django.db import models


class Heartbeat(models.Model):
    """Proof that work travelled web/beat -> broker -> worker -> database.

    Keyed, so a redelivered or duplicated task updates one row instead of adding another.
    """

    key = models.CharField(max_length=80, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
