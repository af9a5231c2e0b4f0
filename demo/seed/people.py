"""The demo's people: the clinic, its dermatologist, staff member and administrator (each enrolled
in two-step verification with the published secret), patient@demo.test, and the synthetic cohort
patient00001@demo.test, patient00002@demo.test ..., created in bulk with one shared password hash.

Also how the later stages tell the demo's patients apart: ``DemoPatient`` and its number, which
seeds each patient's random choices (0 is patient@demo.test).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.db import transaction
from django.utils import timezone

from accounts.models import Clinic, ClinicMembership, Patient, Role, User

DEMO_PASSWORD = "alliance-demo-2026"  # noqa: S105 - published demo credential
CLINIC_NAME = "Demo Dermatology Clinic"
DERM_EMAIL = "derm@demo.test"
STAFF_EMAIL = "staff@demo.test"
PATIENT_EMAIL = "patient@demo.test"
ADMIN_EMAIL = "admin@demo.test"
# Published demo credential: the demo clinicians' and administrator's authenticator-app secret.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105
CHUNK = 1000

FIRST_NAMES = [
    "Aisha", "Ben", "Chloe", "Diego", "Elena", "Farah", "George", "Hana", "Ivan", "Jade",
    "Kofi", "Leila", "Mateo", "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
    "Uma", "Victor", "Wen", "Xavier", "Yara", "Zane",
]
LAST_NAMES = [
    "Adams", "Brennan", "Chen", "Dubois", "Eriksen", "Fernandes", "Gupta", "Haddad", "Ito",
    "Jansen", "Kowalski", "Lopez", "Mensah", "Novak", "O'Brien", "Patel", "Quispe", "Rossi",
    "Singh", "Tanaka", "Usman", "Varga", "Walsh", "Yilmaz", "Zhou",
]
TIMEZONES = [
    "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
    "Asia/Kolkata", "Pacific/Auckland", "Australia/Sydney", "America/Sao_Paulo",
]

Progress = Callable[[int, int], None]


def _user(email: str, first: str, last: str, password_hash: str, **extra: object) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"first_name": first, "last_name": last, **extra}
    )
    if created:
        user.password = password_hash
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": True, "verified": True}
    )
    return user


@transaction.atomic
def seed_core(password_hash: str) -> tuple[Clinic, User, User]:
    clinic, _ = Clinic.objects.get_or_create(
        name=CLINIC_NAME, defaults={"timezone": "Europe/London"}
    )
    # The clinic's administrator, not a superuser: the admin site shows them this clinic only.
    # A platform operator spanning clinics is a separate role the demo does not hand out.
    admin = _user(ADMIN_EMAIL, "Ada", "Admin", password_hash, is_staff=True)
    if admin.is_superuser:  # seeded as a superuser by an earlier version of the demo
        admin.is_superuser = False
        admin.save(update_fields=["is_superuser"])
    derm = _user(DERM_EMAIL, "Maya", "Okafor", password_hash)
    staff = _user(STAFF_EMAIL, "Sam", "Rivera", password_hash)
    for user in (admin, derm, staff):
        _enrol_in_mfa(user)
    ClinicMembership.objects.get_or_create(
        user=derm, defaults={"clinic": clinic, "role": Role.DERMATOLOGIST}
    )
    ClinicMembership.objects.get_or_create(
        user=staff, defaults={"clinic": clinic, "role": Role.STAFF}
    )
    ClinicMembership.objects.get_or_create(
        user=admin, defaults={"clinic": clinic, "role": Role.ADMIN}
    )
    demo_patient = _user(PATIENT_EMAIL, "Jordan", "Lee", password_hash)
    Patient.objects.get_or_create(
        user=demo_patient,
        defaults={"clinic": clinic, "dermatologist": derm, "timezone": "Europe/London"},
    )
    return clinic, derm, staff


def _enrol_in_mfa(user: User) -> None:
    """Clinicians and administrators must use two-step verification (accounts.middleware)."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)


def demo_totp_code() -> str:
    """The code an authenticator app holding ``DEMO_TOTP_SECRET`` shows right now."""
    return format_hotp_value(
        hotp_value(DEMO_TOTP_SECRET, int(timezone.now().timestamp()) // mfa_settings.TOTP_PERIOD)
    )


def synthetic_name(number: int) -> tuple[str, str]:
    """A first and last name of its own for synthetic patient ``number`` (names repeat only
    after 26 x 25 x 27 patients): the first name cycles every 26 patients and the last name
    shifts with each cycle, so no pair comes twice; later rounds add a middle initial."""
    first_index, cycle = number % len(FIRST_NAMES), number // len(FIRST_NAMES)
    last = LAST_NAMES[(cycle + 7 * first_index) % len(LAST_NAMES)]
    first = FIRST_NAMES[first_index]
    if initial := cycle // len(LAST_NAMES):
        first = f"{first} {string.ascii_uppercase[(initial - 1) % 26]}."
    return first, last


def synthetic_email(number: int) -> str:
    return f"patient{number:05d}@demo.test"


def seed_cohort(
    *, clinic: Clinic, dermatologist: User, patients: int, password_hash: str,
    progress: Progress | None = None,
) -> int:
    """Create synthetic patients 1..N that do not exist yet, in bulk; returns how many were new."""
    wanted = {synthetic_email(n): n for n in range(1, patients + 1)}
    existing = set(User.objects.filter(email__in=wanted).values_list("email", flat=True))
    missing = [n for email, n in wanted.items() if email not in existing]
    created = 0
    for start in range(0, len(missing), CHUNK):
        numbers = missing[start:start + CHUNK]
        with transaction.atomic():
            created += _bulk_patients(clinic, dermatologist, numbers, password_hash)
        if progress:
            progress(created, len(missing))
    return created


def _bulk_patients(
    clinic: Clinic, dermatologist: User, numbers: list[int], password_hash: str
) -> int:
    users = [
        User(email=synthetic_email(n), password=password_hash,
             first_name=synthetic_name(n)[0], last_name=synthetic_name(n)[1])
        for n in numbers
    ]
    User.objects.bulk_create(users)
    # bulk_create sets pks on PostgreSQL and SQLite >= 3.35; re-read to be portable.
    users = list(User.objects.filter(email__in=[u.email for u in users]))
    EmailAddress.objects.bulk_create(
        EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users
    )
    Patient.objects.bulk_create(
        Patient(
            user=u, clinic=clinic, dermatologist=dermatologist,
            timezone=TIMEZONES[u.pk % len(TIMEZONES)],
        )
        for u in users
    )
    return len(users)


# --- Who is who, for the later stages -------------------------------------------------------------

SYNTHETIC_EMAIL = re.compile(r"^patient(\d+)@demo\.test$")


@dataclass(frozen=True)
class DemoPatient:
    pk: int
    number: int  # seeds this patient's random choices: 0 is patient@demo.test
    timezone: str
    dermatologist_id: int


def _patient_number(pk: int, email: str) -> int:
    if email == PATIENT_EMAIL:
        return 0
    match = SYNTHETIC_EMAIL.match(email)
    return int(match.group(1)) if match else 1_000_000 + pk
