import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.decorators import patient_required
from accounts.selectors import acting_caregiver_link, patient_of

from . import services
from .forms import CaregiverRemindersForm, PushSubscriptionForm, ReminderSettingsForm
from .selectors import combines_reminders, next_reminder_for, push_optin_for

# The submit button's name of the caregiver's own form on the Reminders page.
CAREGIVER_FORM = "caregiver"


@patient_required
def reminder_settings(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    current = services.settings_for(patient)
    saved = services.timing_of(patient, current)  # before the form writes posted values into it
    link = acting_caregiver_link(request.user)
    posted = request.POST if request.method == "POST" else None
    # A caregiver acting for a child also chooses what comes to them (their own form).
    mine = None if link is None else CaregiverRemindersForm(
        posted if posted is not None and CAREGIVER_FORM in posted else None,
        initial={"receives": link.receives_reminders,
                 "combined": combines_reminders(request.user)})
    if mine is not None and mine.is_bound:
        if mine.is_valid():
            services.caregiver_reminders_choose(link=link, **mine.cleaned_data)
            messages.success(request, _("Your reminder choices saved."))
            return redirect("reminder_settings")
        posted = None
    form = ReminderSettingsForm(posted, instance=current)
    if link is not None:  # the child's reminders, not the caregiver's own
        form.fields["enabled"].label = _("Reminders for %(name)s") % {
            "name": services.child_name(patient)}
        form.fields["local_time"].label = _("At (%(name)s's local time)") % {
            "name": services.child_name(patient)}
        # Quoting the goal in the patient's own emails is the patient's privacy choice.
        del form.fields["include_goal"]
    if posted is not None and form.is_valid():
        form.instance.patient = patient
        form.instance.updated_by = request.user  # the patient, or a caregiver acting for them
        form.save()
        messages.success(request, _("Reminder settings saved."))
        return redirect("reminder_settings")
    return render(request, "reminders/settings.html", {
        "form": form, "patient": patient, "enabled": saved.enabled,
        # Shown in the patient's zone (core.viewer_timezone), which the page names.
        "upcoming": next_reminder_for(patient, saved, timezone.now()),
        "push": push_optin_for(patient), "caregiver_form": mine,
        "caregiver_form_name": CAREGIVER_FORM, "child_name": services.child_name(patient),
    })


# The link works without logging in (its random token authorises it) and mail clients may POST
# to it directly (RFC 8058 one-click); no session is involved, so CSRF does not apply.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    check = services.unsubscribe_link_check(token, now=timezone.now())
    if check.patient is None:
        # 400 for a link that never existed or was altered, 410 for one that stopped working.
        status = 400 if check.state == services.LinkState.INVALID else 410
        return render(request, "reminders/unsubscribe.html", {
            "state": check.state, "days": services.UNSUBSCRIBE_LINK_DAYS}, status=status)
    # A caregiver's link names the child it is about (the email it came in did too).
    child = services.child_name(check.patient) if check.caregiver_link else ""
    if request.method == "POST":
        if check.caregiver_link is not None:
            services.caregiver_reminders_stop(link=check.caregiver_link)
        else:
            services.reminders_turn_off(patient=check.patient)
        return render(request, "reminders/unsubscribe.html", {"done": True, "child": child})
    return render(request, "reminders/unsubscribe.html", {"ask": True, "child": child})


# A PushSubscription.toJSON() is well under 1 KB; anything much bigger is not one.
PUSH_BODY_MAX_BYTES = 4096


def _json_body(request: HttpRequest) -> dict | None:
    if len(request.body) > PUSH_BODY_MAX_BYTES:
        return None
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _bad_request(error: str) -> JsonResponse:
    return JsonResponse({"error": error}, status=400)


@patient_required
@require_POST
def push_subscribe(request: HttpRequest) -> JsonResponse:
    """Send reminders to this browser: the body is its ``PushSubscription.toJSON()``."""
    if not settings.WEBPUSH_ENABLED:
        raise Http404
    body = _json_body(request)
    keys = body.get("keys") if body is not None else None
    if body is None or not isinstance(keys, dict):
        return _bad_request("Send the subscription as JSON: {endpoint, keys: {p256dh, auth}}.")
    fields = {"endpoint": body.get("endpoint"), "p256dh": keys.get("p256dh"),
              "auth": keys.get("auth")}
    if not all(isinstance(value, str) for value in fields.values()):
        return _bad_request("The endpoint and both keys are required, as text.")
    form = PushSubscriptionForm(fields)
    if not form.is_valid():
        return _bad_request(" ".join(error for errors in form.errors.values()
                                     for error in errors))
    services.push_subscription_save(patient=patient_of(request.user), now=timezone.now(),
                                    **form.cleaned_data)
    return JsonResponse({"subscribed": True}, status=201)


@patient_required
@require_POST
def push_unsubscribe(request: HttpRequest) -> JsonResponse:
    """Stop reminders to this browser (``{"endpoint": ...}``); works when push is off too."""
    body = _json_body(request)
    endpoint = body.get("endpoint") if body is not None else None
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1024:
        return _bad_request("Send the subscription's endpoint as JSON: {endpoint}.")
    services.push_subscription_delete(patient=patient_of(request.user), endpoint=endpoint)
    return JsonResponse({"subscribed": False})
