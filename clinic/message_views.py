"""The clinic's inbox (issue 19): the clinic's conversations with its patients by state, one
thread with its history, the reply and the actions on it, the clinic's reply templates, and a
conversation the clinic starts from the patient page.

Every thread is reached through ``messaging.selectors.thread_for_clinician`` (scoped to the
clinic and audited: a foreign id is a 404); every write goes through ``messaging.services``,
whose refusals are shown as they are, nothing saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.caregiving import caregiver_labels, done_by
from accounts.decorators import clinician_required
from accounts.models import AuditEvent, ClinicMembership, Role
from accounts.selectors import clinician_membership_of, patient_record_for_clinician
from messaging import selectors as inbox
from messaging.models import ReplyTemplate, Status, Thread
from messaging.services import (
    MessageRefused,
    message_post,
    reply_template_save,
    thread_assign,
    thread_hand_to_dermatologist,
    thread_mark_read,
    thread_set_status,
    thread_start_from_clinic,
)

from .forms import ClinicMessageForm, ReplyTemplateForm, ThreadAssignForm
from .views import _patient_page

INBOX_PAGE_SIZE = 50

# The inbox's tabs, one per messaging.selectors.INBOX_VIEWS (in its order; the first is the
# default): a test holds them equal.
INBOX_TABS = {
    "waiting": gettext_lazy("Waiting for us"),
    "mine": gettext_lazy("Mine"),
    "unassigned": gettext_lazy("Unassigned"),
    "for_dermatologist": gettext_lazy("For the dermatologist"),
    "waiting_on_patient": gettext_lazy("Waiting on the patient"),
    "closed": gettext_lazy("Closed"),
}

# The thread page's POST buttons: action -> status it sets (the rest are handled apart).
STATUS_ACTIONS = {
    "waiting_on_patient": Status.WAITING_ON_PATIENT,
    "close": Status.CLOSED,
    "reopen": Status.OPEN,
}
STATUS_DONE = {
    "waiting_on_patient": gettext_lazy("Marked as waiting on the patient."),
    "close": gettext_lazy("Conversation closed. The patient's next message reopens it."),
    "reopen": gettext_lazy("Conversation reopened."),
}


def waited_words(since: datetime, now: datetime) -> str:
    """How long the patient has waited, in words: minutes, then hours, then calendar days
    counted in the current zone (the clinic's, on clinic pages)."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 1:
        return _("waiting under a minute")
    if minutes < 60:
        return ngettext("waiting %(n)d minute", "waiting %(n)d minutes", minutes) % {
            "n": minutes}
    if minutes < 24 * 60:
        hours = minutes // 60
        return ngettext("waiting %(n)d hour", "waiting %(n)d hours", hours) % {"n": hours}
    days = max((timezone.localdate(now) - timezone.localdate(since)).days, 1)
    return ngettext("waiting %(n)d day", "waiting %(n)d days", days) % {"n": days}


@dataclass(frozen=True)
class InboxRow:
    thread: Thread
    waited: str  # "" when the patient waits for nothing
    unread: bool  # something arrived since this clinician last read it


def _row(thread: Thread, now: datetime) -> InboxRow:
    return InboxRow(
        thread=thread,
        waited=waited_words(thread.waiting_since, now) if thread.waiting_since else "",
        unread=thread.read_at is None or thread.read_at < thread.last_message_at)


@clinician_required
def clinic_inbox(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view", inbox.INBOX_VIEWS[0])
    if view not in INBOX_TABS:
        raise Http404
    # Two queries a page whatever the inbox holds: the count, and the page's threads with
    # their patient, assignee and this clinician's read mark.
    page = Paginator(inbox.inbox_for_clinician(request.user, view=view),
                     INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    page.object_list = [_row(thread, now) for thread in page.object_list]
    return render(request, "clinic/inbox.html", {
        "page": page, "view": view, "tabs": INBOX_TABS.items(),
        "tab_label": INBOX_TABS[view],
    })


@clinician_required
def clinic_inbox_count(request: HttpRequest) -> HttpResponse:
    """The navigation's waiting count (htmx polls it; without JavaScript each page has it)."""
    return render(request, "clinic/_inbox_count.html",
                  {"inbox_waiting": inbox.waiting_count_for_clinician(request.user)})


@clinician_required
def clinic_thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = inbox.thread_for_clinician(user=request.user, thread_id=thread_id)
    template = _chosen_template(request)
    form = ClinicMessageForm(initial={"body": template.body} if template else None)
    return _thread_page(request, thread, reply_form=form, chosen_template=template,
                        mark_read=True)


def _chosen_template(request: HttpRequest) -> ReplyTemplate | None:
    """"Use a template": one of the clinic's active templates, by id (unknown ids: none)."""
    value = request.GET.get("template", "")
    if not value.isdigit() or len(value) > 18:
        return None
    return inbox.reply_templates_for(request.user).filter(pk=int(value)).first()


def _thread_page(request: HttpRequest, thread: Thread, *, status: int = 200,
                 reply_form: ClinicMessageForm | None = None,
                 assign_form: ThreadAssignForm | None = None,
                 chosen_template: ReplyTemplate | None = None,
                 mark_read: bool = False) -> HttpResponse:
    now = timezone.now()
    messages_ = list(thread.messages.all())
    read_before = thread.reads.filter(user=request.user).values_list("read_at", flat=True)
    read_before = next(iter(read_before), None)
    roles = dict(ClinicMembership.objects.filter(
        user_id__in={m.author_id for m in messages_ if m.from_clinic}).values_list(
            "user_id", "role"))
    labels = caregiver_labels([thread.patient_id])
    if mark_read:
        thread_mark_read(thread=thread, user=request.user, now=now)
    return render(request, "clinic/thread.html", {
        "thread": thread, "patient": thread.patient,
        "history": [(m, Role(roles[m.author_id]).label if m.author_id in roles else "",
                     read_before is not None and m.created_at > read_before
                     and m.author_id != request.user.pk,
                     # A caregiver's message: "written by Mum (for Mia)".
                     None if m.from_clinic else done_by(labels, patient=thread.patient,
                                                        user_id=m.author_id))
                    for m in messages_],
        "waited": waited_words(thread.waiting_since, now) if thread.waiting_since else "",
        "reply_form": reply_form or ClinicMessageForm(),
        "assign_form": assign_form or ThreadAssignForm(
            user=request.user, initial={"assignee": thread.assignee_id}),
        "reply_templates": inbox.reply_templates_for(request.user),
        "chosen_template": chosen_template,
        "zone": clinician_membership_of(request.user).clinic.timezone,
        "Status": Status,
    }, status=status)


def _thread_for_change(request: HttpRequest, thread_id: int) -> Thread:
    """The thread a POST changes: found (or 404, audited) before the method is checked, so a
    foreign id answers 404 whatever the method."""
    return inbox.thread_for_clinician(
        user=request.user, thread_id=thread_id,
        action=AuditEvent.Action.CHANGE if request.method == "POST" else AuditEvent.Action.VIEW)


@clinician_required
def clinic_thread_reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    """POST: the clinic's answer. Refused (too long, empty): the page again with the reason
    and the text typed, nothing saved."""
    thread = _thread_for_change(request, thread_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ClinicMessageForm(request.POST)
    if form.is_valid():
        try:
            message_post(thread=thread, by=request.user, from_clinic=True,
                         body=form.cleaned_data["body"], now=timezone.now())
        except MessageRefused as refused:
            form.add_error("body", str(refused))
    if not form.is_valid():
        return _thread_page(request, thread, reply_form=form, status=400)
    messages.success(request, _("Reply sent. The patient is told there is a new message."))
    return redirect("clinic_thread", thread_id=thread.pk)


@clinician_required
def clinic_thread_action(request: HttpRequest, thread_id: int) -> HttpResponse:
    """POST: assign, assign to me, hand to the dermatologist, waiting on the patient, close,
    reopen. Anything else, or someone not of the clinic: the page with the reason, unchanged."""
    thread = _thread_for_change(request, thread_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    action, now = request.POST.get("action", ""), timezone.now()
    assign_form = None
    try:
        if action == "assign":
            assign_form = ThreadAssignForm(request.POST, user=request.user)
            if not assign_form.is_valid():
                return _thread_page(request, thread, assign_form=assign_form, status=400)
            assignee = assign_form.cleaned_data["assignee"]
            thread_assign(thread=thread, by=request.user, assignee=assignee, now=now)
            done = (_("Assigned to %(name)s.") % {"name": assignee.display_name} if assignee
                    else _("Nobody is assigned now."))
        elif action == "assign_me":
            thread_assign(thread=thread, by=request.user, assignee=request.user, now=now)
            done = _("Assigned to you.")
        elif action == "hand_to_dermatologist":
            thread_hand_to_dermatologist(thread=thread, by=request.user, now=now)
            done = _("Handed to %(name)s, the patient's dermatologist.") % {
                "name": thread.patient.dermatologist.display_name}
        elif action in STATUS_ACTIONS:
            thread_set_status(thread=thread, by=request.user, status=STATUS_ACTIONS[action],
                              now=now)
            done = str(STATUS_DONE[action])
        else:
            raise MessageRefused(_("Choose one of the buttons to change the conversation."))
    except MessageRefused as refused:
        messages.error(request, str(refused))
        return _thread_page(request, thread, assign_form=assign_form, status=400)
    messages.success(request, done)
    return redirect("clinic_thread", thread_id=thread.pk)


@clinician_required
def clinic_thread_start(request: HttpRequest, patient_id: int) -> HttpResponse:
    """POST from the patient page: the clinic writes to the patient first. Refused: the patient
    page again with the reason and the text typed, nothing saved."""
    patient = patient_record_for_clinician(
        user=request.user, patient_id=patient_id, object_type="message_thread",
        action=AuditEvent.Action.CREATE if request.method == "POST" else AuditEvent.Action.VIEW)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ClinicMessageForm(request.POST)
    if form.is_valid():
        try:
            thread = thread_start_from_clinic(patient=patient, by=request.user,
                                              body=form.cleaned_data["body"], now=timezone.now())
        except MessageRefused as refused:
            form.add_error("body", str(refused))
    if not form.is_valid():
        return _patient_page(request, patient, message_form=form, status=400)
    messages.success(request, _("Message sent. The patient is told there is a new message."))
    return redirect("clinic_thread", thread_id=thread.pk)


# --- Reply templates -------------------------------------------------------------------------

@clinician_required
def clinic_reply_templates(request: HttpRequest) -> HttpResponse:
    """The clinic's reply templates (in use first), and a form to add one."""
    form = ReplyTemplateForm(request.POST or None)
    if request.method == "POST" and _save_template(request, form):
        messages.success(request, _("Template added."))
        return redirect("clinic_reply_templates")
    templates = inbox.reply_templates_for(request.user, active_only=False).order_by(
        "-active", "title", "id")
    return render(request, "clinic/reply_templates.html", {"form": form, "templates": templates},
                  status=400 if form.is_bound else 200)


@clinician_required
def clinic_reply_template_edit(request: HttpRequest, reply_template_id: int) -> HttpResponse:
    template = get_object_or_404(inbox.reply_templates_for(request.user, active_only=False),
                                 pk=reply_template_id)
    form = ReplyTemplateForm(request.POST or None, initial={
        "title": template.title, "body": template.body, "active": template.active})
    if request.method == "POST" and _save_template(request, form, template):
        messages.success(request, _("Template saved."))
        return redirect("clinic_reply_templates")
    return render(request, "clinic/reply_template_edit.html",
                  {"form": form, "template": template}, status=400 if form.is_bound else 200)


@clinician_required
def clinic_reply_template_active(request: HttpRequest, reply_template_id: int) -> HttpResponse:
    """POST: take a template out of use, or back into use (templates are never deleted)."""
    template = get_object_or_404(inbox.reply_templates_for(request.user, active_only=False),
                                 pk=reply_template_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    active = request.POST.get("active") == "1"
    reply_template_save(clinic_id=template.clinic_id, by=request.user, title=template.title,
                        body=template.body, template=template, active=active, now=timezone.now())
    done = (_("“%(title)s” is offered when replying again.") if active
            else _("“%(title)s” is no longer offered when replying."))
    messages.success(request, done % {"title": template.title})
    return redirect("clinic_reply_templates")


def _save_template(request: HttpRequest, form: ReplyTemplateForm,
                   template: ReplyTemplate | None = None) -> bool:
    if not form.is_valid():
        return False
    try:
        reply_template_save(clinic_id=clinician_membership_of(request.user).clinic_id,
                            by=request.user, title=form.cleaned_data["title"],
                            body=form.cleaned_data["body"], active=form.cleaned_data["active"],
                            template=template, now=timezone.now())
    except MessageRefused as refused:
        form.add_error(None, str(refused))
        return False
    return True
