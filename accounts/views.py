from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .decorators import dermatologist_required
from .forms import LanguageForm, PatientInviteForm
from .models import AuditEvent, User
from .selectors import membership_of, role_of
from .services import (
    CaregiverDetails,
    CaregiverError,
    audit_record,
    invitation_accept,
    patient_invite_with_caregiver,
    user_language_set,
)

HOME_BY_ROLE = {
    "patient": "today",
    "dermatologist": "my_patients",
    "staff": "flagged_patients",
    "admin": "admin:index",
    # A caregiver acting for nobody yet chooses whom (acting, their role reads "patient").
    "caregiver": "caregiver_choose",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    if role is None:
        if request.user.is_staff:
            return redirect("admin:index")
        return render(request, "accounts/no_role.html", status=403)
    return redirect(HOME_BY_ROLE[role])


@dermatologist_required
def patient_invite_view(request: HttpRequest) -> HttpResponse:
    clinic = membership_of(request.user).clinic
    now = timezone.now()
    form = PatientInviteForm(request.POST or None, clinic=clinic, now=now)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        caregiver = CaregiverDetails(
            email=data["caregiver_email"], first_name=data["caregiver_first_name"],
            last_name=data["caregiver_last_name"], relationship=data["relationship"],
            called=data["called"]) if form.has_caregiver else None
        try:
            patient_invite_with_caregiver(
                invited_by=request.user, clinic=clinic, email=data["email"],
                first_name=data["first_name"], last_name=data["last_name"],
                timezone_name=data["timezone"], date_of_birth=data["date_of_birth"],
                caregiver=caregiver, now=now)
        except CaregiverError as refusal:
            form.add_error(None, str(refusal))
        else:
            # The same answer whether or not an address already had an account (anywhere).
            if not data["email"]:
                messages.success(request, _(
                    "%(name)s added, without a login of their own. Invitation sent to "
                    "%(email)s.") % {"name": data["first_name"], "email": data["caregiver_email"]})
            elif caregiver is not None:
                messages.success(request, _("Invitations sent to %(email)s and %(caregiver)s.")
                                 % {"email": data["email"], "caregiver": data["caregiver_email"]})
            else:
                messages.success(request, _("Invitation sent to %(email)s.")
                                 % {"email": data["email"]})
            return redirect("my_patients")
    return render(request, "accounts/patient_invite.html", {"form": form})


def invitation_accept_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = _invited_user(uidb64)
    if user is None or not default_token_generator.check_token(user, token):
        # One answer for every refusal (garbage, unknown id, a clinician's id, a used or
        # expired link): the link must not tell whose account an id is.
        return render(request, "accounts/invitation_invalid.html", status=400)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation_accept(user=user, password=form.cleaned_data["new_password1"],
                          now=timezone.now())
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        # Not allauth's login flow, so its login signal (which audits) is not sent.
        audit_record(actor=user, patient=None, action=AuditEvent.Action.LOGIN,
                     object_type="session", object_id="invitation")
        messages.success(request, _("Welcome! Your password is set."))
        return redirect("home")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitee": user})


def _invited_user(uidb64: str) -> User | None:
    """The patient or caregiver the link's id names, or None (not an id, nobody, or neither)."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return get_user_model().objects.filter(
        Q(patient__isnull=False) | Q(is_caregiver=True), pk=pk).first()


@login_required
@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    """The language chosen on the Account page (the form is in templates/account/email.html)."""
    form = LanguageForm(request.POST)
    if form.is_valid():
        language = form.cleaned_data["language"]
        user_language_set(user=request.user, language=language)
        # The confirmation already reads in the new language (blank: the browser's).
        translation.activate(language or translation.get_language_from_request(request))
        messages.success(request, _("Language saved."))
    return redirect("account_email")
