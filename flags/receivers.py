"""The flags app takes on what check-ins and patients' messages ask for
(checkins.signals.attention_requested)."""

from __future__ import annotations

from datetime import datetime

from django.dispatch import receiver

from checkins.models import AttentionRequest
from checkins.signals import attention_requested

from .services import flag_raise_severe_side_effect


@receiver(attention_requested, dispatch_uid="flags.severe_side_effect")
def raise_flag_for_attention(
    sender: object, request: AttentionRequest, now: datetime, **kwargs: object
) -> bool:
    if request.kind != AttentionRequest.Kind.SEVERE_SIDE_EFFECT:
        return False
    flag_raise_severe_side_effect(request=request, now=now)
    return True
