"""Demo data: one clinic, its clinicians and patients. Idempotent: re-running adds nothing twice.

Large cohorts (``--patients 10000``) use bulk inserts and one shared password hash.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounts.models import Clinic, ClinicMembership, Patient, Role, User

DEMO_PASSWORD = "alliance-demo-2026"  # noqa: S105 - published demo credential
CLINIC_NAME = "Demo Dermatology Clinic"
DERM_EMAIL = "derm@demo.test"
STAFF_EMAIL = "staff@demo.test"
PATIENT_EMAIL = "patient@demo.test"
ADMIN_EMAIL = "admin@demo.test"
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


@dataclass
class DemoSummary:
    clinic: Clinic
    created_patients: int
    total_patients: int


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
    _user(ADMIN_EMAIL, "Ada", "Admin", password_hash, is_staff=True, is_superuser=True)
    derm = _user(DERM_EMAIL, "Maya", "Okafor", password_hash)
    staff = _user(STAFF_EMAIL, "Sam", "Rivera", password_hash)
    ClinicMembership.objects.get_or_create(
        user=derm, defaults={"clinic": clinic, "role": Role.DERMATOLOGIST}
    )
    ClinicMembership.objects.get_or_create(
        user=staff, defaults={"clinic": clinic, "role": Role.STAFF}
    )
    demo_patient = _user(PATIENT_EMAIL, "Jordan", "Lee", password_hash)
    Patient.objects.get_or_create(
        user=demo_patient,
        defaults={"clinic": clinic, "dermatologist": derm, "timezone": "Europe/London"},
    )
    return clinic, derm, staff


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
    rng = random.Random(numbers[0])
    users = [
        User(
            email=synthetic_email(n), password=password_hash,
            first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES),
        )
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


def seed_demo(*, patients: int = 32, progress: Progress | None = None) -> DemoSummary:
    password_hash = make_password(DEMO_PASSWORD)
    clinic, derm, _staff = seed_core(password_hash)
    created = seed_cohort(
        clinic=clinic, dermatologist=derm, patients=patients,
        password_hash=password_hash, progress=progress,
    )
    return DemoSummary(
        clinic=clinic, created_patients=created,
        total_patients=Patient.objects.filter(clinic=clinic).count(),
    )
