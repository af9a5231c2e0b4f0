from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import patient_required
from accounts.selectors import patient_of


@patient_required
def today(request: HttpRequest) -> HttpResponse:
    patient = patient_of(request.user)
    return render(
        request, "checkins/today.html", {"patient": patient, "local_date": patient.local_today()}
    )
