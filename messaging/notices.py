"""Telling a patient that the clinic wrote: an email that says only that there is a message and
where to sign in. Never the text, a medicine or a condition (email is not a private channel).
A young child kept without a mailbox is told through their caregivers (``notice_recipients``);
a private conversation never through anyone but the patient."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User

from .models import Message, MessageNotice, Thread


def message_notice_send(*, message_id: int, now: datetime) -> bool:
    """Email the patient (or a child's caregivers, ``notice_recipients``) about one clinic
    message, once (a redelivered task sends nothing). Returns whether an email went out. The
    row is written in the same transaction as the send, so a failed send leaves nothing
    recorded and the task's retry tries again."""
    with transaction.atomic():
        message = (Message.objects.select_related("thread__patient__user",
                                                  "thread__patient__clinic")
                   .filter(pk=message_id, from_clinic=True).first())
        if message is None:
            return False
        _notice, created = MessageNotice.objects.select_for_update().get_or_create(
            message=message, defaults={"sent_at": now})
        if not created:
            return False
        thread = message.thread
        patient = thread.patient
        sent = False
        for user, for_name, path in notice_recipients(thread, now=now):
            with translation.override(user.language or settings.LANGUAGE_CODE):
                subject = gettext("New message from your care team")
                body = render_to_string("messaging/email/new_message.txt", {
                    "first_name": user.first_name, "clinic_name": patient.clinic.name,
                    "for_name": for_name,
                    "link": settings.SITE_URL.rstrip("/") + path})
            send_mail(subject=subject, message=body, from_email=None,
                      recipient_list=[user.email])
            sent = True
    return sent


def notice_recipients(thread: Thread, *, now: datetime) -> list[tuple[User, str, str]]:
    """Who is told of a clinic message in ``thread``: (user, whose message it is for a
    caregiver's email or "", the path to sign in to). The patient when they have a mailbox; a
    child kept without one, through their current caregivers whose access opens messages
    today; a private conversation's, the patient only (nobody else, ever)."""
    from accounts.caregiving import Section, care_access, links_of_patient

    patient = thread.patient
    if patient.user.has_mailbox:
        return [(patient.user, "", reverse("message_thread", args=[thread.pk]))]
    if thread.private:
        return []
    name = patient.user.first_name or patient.user.display_name
    links = links_of_patient(patient).filter(ended_at__isnull=True)
    return [(link.caregiver, name, reverse("caregiver_choose")) for link in links
            if link.caregiver.has_mailbox
            and care_access(link, now=now).opens(Section.MESSAGES)]


def pending_notice_ids(*, before: datetime) -> list[int]:
    """Clinic messages older than ``before`` never notified (their task was lost)."""
    return list(Message.objects.filter(from_clinic=True, created_at__lte=before,
                                       notice__isnull=True)
                .values_list("pk", flat=True)[:500])
