"""The patient's messages: their conversations with the care team, a new one, one thread (read
and answered), and the navigation's unread count for htmx to refresh.

Every read goes through ``messaging.selectors`` scoped to the signed-in patient (another
patient's thread id is a 404); every write through ``messaging.services``."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from accounts.caregiving import (
    Section,
    caregiver_labels,
    done_by,
    keeps_private_messages,
    links_of_patient,
)
from accounts.decorators import patient_required
from accounts.models import Patient, User
from accounts.selectors import patient_of
from careplans.models import PlanItem
from careplans.selectors import plan_of, revision_in_effect
from photos.selectors import consent_of, photos_of

from . import selectors, services
from .forms import MessageForm, ThreadStartForm


def _reply_promise(patient: Patient) -> str:
    days = patient.clinic.message_reply_days
    return ngettext("The clinic usually answers within %(n)d working day.",
                    "The clinic usually answers within %(n)d working days.", days) % {"n": days}


def _photos_open(user: User) -> bool:
    """The patient, or a caregiver whose tier opens the photo diary (a child's)."""
    acting = getattr(user, "acting_for", None)
    return acting is None or acting.opens(Section.PHOTOS)


def _form_choices(patient: Patient, now: datetime, user: User) -> dict:
    """What a message may point at: the patient's diary photos (while they consent to the
    diary, and never to a caregiver whose tier does not open the photos) and the steps of the
    plan in effect today."""
    plan = plan_of(patient)
    revision = revision_in_effect(plan, patient.local_date(now)) if plan else None
    items: list[PlanItem] = list(revision.items.all()) if revision else []
    return {"photos": photos_of(patient) if _photos_open(user) and consent_of(patient) else None,
            "plan_items": items}


def _writer_names(patient: Patient, viewer: User) -> dict[int | None, str]:
    """Who wrote each patient-side message, as the reader of the patient pages says it: "You"
    for their own, the patient's first name for the patient's (to a caregiver), and the
    caregiver's label ("Mum") for a caregiver's (``accounts.caregiving.done_by``)."""
    names: dict[int | None, str] = {viewer.pk: _("You")}
    if viewer.pk != patient.user_id:
        names[patient.user_id] = patient.user.first_name or patient.user.display_name
    for (_patient_id, user_id) in (labels := caregiver_labels([patient.pk])):
        if user_id != viewer.pk:
            names[user_id] = done_by(labels, patient=patient, user_id=user_id) or ""
    return names


def _may_be_private(patient: Patient, user: User) -> bool:
    """Only the patient themself, a teenager or an adult, and only with a caregiver, is
    offered "Private"."""
    return (user.pk == patient.user_id
            and keeps_private_messages(patient, today=patient.local_today())
            and links_of_patient(patient).filter(ended_at__isnull=True).exists())


@patient_required
def messages_page(request: HttpRequest) -> HttpResponse:
    """The patient's conversations, newest first, the ones with an unread answer marked."""
    patient = patient_of(request.user)
    threads = list(selectors.thread_list_for_patient(patient, viewer=request.user))
    names = _writer_names(patient, request.user)
    for thread in threads:
        thread.latest_writer = names.get(thread.latest_author_id) or _("You")
    return render(request, "messaging/messages.html", {
        "threads": threads,
        "patient_timezone": patient.timezone, "reply_promise": _reply_promise(patient),
    })


@patient_required
def thread_new(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: start the conversation; a refusal (e.g. the daily limit) shows the
    form again with the reason and what the patient typed, and saves nothing."""
    patient = patient_of(request.user)
    now = timezone.now()
    choices = _form_choices(patient, now, request.user)
    form = ThreadStartForm(request.POST or None, **choices,
                           offer_private=_may_be_private(patient, request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                thread = services.thread_start(
                    patient=patient, by=request.user, topic=data["topic"], body=data["body"],
                    severity=data["severity"], attachment=form.attachment(), now=now,
                    private=data.get("private", False))
            except services.MessageRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _sent_note(patient))
                return redirect("message_thread", thread_id=thread.pk)
        status = 400
    return render(request, "messaging/new.html", {
        "form": form, "reply_promise": _reply_promise(patient)}, status=status)


@patient_required
def message_thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    """GET: the conversation (marked read). POST: the patient's reply, or the patient making
    it private (``make_private``)."""
    patient = patient_of(request.user)
    thread = selectors.thread_of_patient(patient=patient, thread_id=thread_id,
                                         viewer=request.user)
    now = timezone.now()
    may_be_private = _may_be_private(patient, request.user)
    if request.method == "POST" and "make_private" in request.POST:
        if request.user.pk != patient.user_id:
            raise Http404  # a caregiver never changes who sees a conversation
        services.thread_make_private(thread=thread, by=request.user, now=timezone.now())
        messages.success(request, _("This conversation is now private: only you and your "
                                    "care team see it."))
        return redirect("message_thread", thread_id=thread.pk)
    form = MessageForm(request.POST or None, **_form_choices(patient, now, request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.message_post(thread=thread, by=request.user, from_clinic=False,
                                      body=form.cleaned_data["body"],
                                      attachment=form.attachment(), now=now)
            except services.MessageRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _sent_note(patient))
                return redirect("message_thread", thread_id=thread.pk)
        status = 400
    else:
        services.thread_mark_read(thread=thread, user=request.user, now=now)
    history = list(thread.messages.all())
    names = _writer_names(patient, request.user)
    for message in history:
        message.writer = "" if message.from_clinic else (names.get(message.author_id)
                                                         or _("You"))
    return render(request, "messaging/thread.html", {
        "thread": thread, "history": history, "form": form,
        "offer_private": may_be_private and not thread.private,
        "photos_open": _photos_open(request.user),
        "answering_the_clinic": bool(history) and history[-1].from_clinic,
        "patient_timezone": patient.timezone,
        "reply_promise": _reply_promise(patient)}, status=status)


def _sent_note(patient: Patient) -> str:
    return f'{_("Message sent to your care team.")} {_reply_promise(patient)}'


@never_cache
@patient_required
def messages_unread(request: HttpRequest) -> HttpResponse:
    """The navigation's unread count alone, for htmx to poll (the page works without it)."""
    return render(request, "messaging/_unread_badge.html", {
        "unread_count": selectors.unread_count_for_patient(patient_of(request.user),
                                                           viewer=request.user)})
