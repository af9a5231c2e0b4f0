"""The flags the seeded history raises, as production would have them by ``now``."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Clinic
from checkins.models import AttentionRequest


def seed_flags(clinic: Clinic, *, now: datetime) -> int:
    """Flags for the seeded history, as production would have them by now: the severe side
    effects the check-ins asked attention for, then a sweep of every rule. Idempotent."""
    from checkins.services import attention_dispatch_one
    from flags.models import Flag
    from flags.sweep import sweep

    before = Flag.objects.filter(clinic=clinic).count()
    pending = AttentionRequest.objects.filter(
        patient__clinic=clinic, processed_at__isnull=True).values_list("pk", flat=True)
    for request_id in list(pending):
        attention_dispatch_one(request_id=request_id, now=now)
    sweep(now=now, clinic_ids=[clinic.pk])
    return Flag.objects.filter(clinic=clinic).count() - before
