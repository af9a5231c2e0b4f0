from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from accounts.decorators import patient_required
from accounts.selectors import patient_of

from . import services
from .forms import ReminderSettingsForm
from .selectors import next_reminder_for


@patient_required
def reminder_settings(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    current = services.settings_for(patient)
    saved = services.timing_of(patient, current)  # before the form writes posted values into it
    form = ReminderSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.instance.patient = patient
        form.save()
        messages.success(request, _("Reminder settings saved."))
        return redirect("reminder_settings")
    return render(request, "reminders/settings.html", {
        "form": form, "patient": patient, "enabled": saved.enabled,
        # Shown in the patient's zone (core.viewer_timezone), which the page names.
        "upcoming": next_reminder_for(patient, saved, timezone.now()),
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
    if request.method == "POST":
        services.reminders_turn_off(patient=check.patient)
        return render(request, "reminders/unsubscribe.html", {"done": True})
    return render(request, "reminders/unsubscribe.html", {"ask": True})
