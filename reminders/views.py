from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
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
        messages.success(request, "Reminder settings saved.")
        return redirect("reminder_settings")
    return render(request, "reminders/settings.html", {
        "form": form, "patient": patient, "enabled": saved.enabled,
        # Shown in the patient's zone (core.viewer_timezone), which the page names.
        "upcoming": next_reminder_for(patient, saved, timezone.now()),
    })


# The link works without logging in (signed token) and mail clients may POST to it directly
# (RFC 8058 one-click); the token, not a session, authorises it, so CSRF does not apply.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    patient = services.patient_for_unsubscribe(token)
    if patient is None:
        return render(request, "reminders/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        services.reminders_turn_off(patient=patient)
        return render(request, "reminders/unsubscribe.html", {"done": True})
    return render(request, "reminders/unsubscribe.html", {"token": token})
