"""Demo data: one clinic, its clinicians and patients, each patient with a profile and a care plan.

Idempotent: re-running adds nothing twice. Large cohorts (``--patients 10000``) use bulk inserts
and one shared password hash. Care plans come from four condition templates (acne, eczema,
rosacea, psoriasis) and carry back-dated revision history, starting 8-12 weeks before the
patient's today. Patients then get weeks of daily check-ins against the revision in effect each
day, following a few adherence patterns a clinic meets (steady, weekend gaps, a decline, falling
satisfaction and alliance, a severe side effect). Nothing here prints health data: callers only
get counts.
"""

from __future__ import annotations

import csv
import functools
import gc
import io
import itertools
import math
import random
import re
import string
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.auth.hashers import make_password
from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Clinic, ClinicMembership, Patient, Role, User
from careplans.fit import FitPreference, FitProfile, FitWarning, check_fit
from careplans.models import (
    CarePlan,
    Concern,
    ConcernCategory,
    Currency,
    DailyPattern,
    Frequency,
    ItemKind,
    PatientProfile,
    PlanItem,
    PlanRevision,
    Preference,
    TimeOfDay,
)
from careplans.schedule import due_steps
from careplans.selectors import fit_profile
from checkins.models import (
    AlliancePulse,
    AttentionRequest,
    CheckIn,
    SideEffect,
    SkipReason,
    StepLog,
)
from checkins.services import ALLIANCE_GAP_DAYS, next_partnership_question

DEMO_PASSWORD = "alliance-demo-2026"  # noqa: S105 - published demo credential
CLINIC_NAME = "Demo Dermatology Clinic"
DERM_EMAIL = "derm@demo.test"
STAFF_EMAIL = "staff@demo.test"
PATIENT_EMAIL = "patient@demo.test"
ADMIN_EMAIL = "admin@demo.test"
# Published demo credential: the demo clinicians' and administrator's authenticator-app secret.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105
CHUNK = 1000
PG_PAGE_SIZE = 5000  # rows per INSERT statement on PostgreSQL

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
    created_plans: int = 0
    history_patients: int = 0
    created_checkins: int = 0
    opened_flags: int = 0


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


# --- Care plan templates -------------------------------------------------------------------------
# Plausible, generic regimens for demo data only; no licensed questionnaire content.


@dataclass(frozen=True, eq=False)
class StepSpec:
    """One plan item of a template; ``step`` names "the same step" across revisions."""

    step: str
    kind: str
    name: str
    instructions: str
    time_of_day: str
    minutes: int
    monthly_cost: Decimal  # in GBP; priced per currency with PRICE_LEVEL
    frequency: str = Frequency.DAILY
    weekdays: str = ""
    every_n_days: int | None = None
    ramp_every_n_days: int | None = None
    ramp_days: int | None = None
    contains_fragrance: bool = False
    animal_derived: bool = False
    pregnancy_unsafe: bool = False

    @property
    def key(self) -> str:  # what the fit check names a conflicting item by
        return self.step


@dataclass(frozen=True, eq=False)
class RevisionSpec:
    reason: str
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True, eq=False)
class ConcernSpec:
    step: str
    category: str
    text: str
    reply: str


@dataclass(frozen=True, eq=False)
class Condition:
    name: str
    goals: tuple[str, ...]
    concern: ConcernSpec


@dataclass(frozen=True, eq=False)
class PlanTemplate:
    condition: Condition
    revisions: tuple[RevisionSpec, ...]


ITEM_FIELDS = (
    "kind", "name", "instructions", "time_of_day", "frequency", "weekdays", "every_n_days",
    "ramp_every_n_days", "ramp_days", "minutes", "monthly_cost", "contains_fragrance",
    "animal_derived", "pregnancy_unsafe",
)
MORNING, EVENING, BOTH = TimeOfDay.MORNING, TimeOfDay.EVENING, TimeOfDay.BOTH

ACNE_CLEANSER = StepSpec(
    "cleanser", ItemKind.SKINCARE, "Gentle foaming cleanser",
    "Wash with lukewarm water, then pat dry. No scrubs or flannels.", BOTH, 2, Decimal("6.00"),
)
BENZOYL_PEROXIDE = StepSpec(
    "benzoyl-peroxide", ItemKind.TOPICAL, "Benzoyl peroxide 4% wash",
    "Lather onto the spotty areas, leave for a minute, then rinse. It can bleach towels and "
    "pillowcases.", MORNING, 2, Decimal("7.50"),
)
ADAPALENE = StepSpec(
    "adapalene", ItemKind.TOPICAL, "Adapalene 0.1% gel",
    "A pea-sized amount spread thinly over the whole face on dry skin. Alternate nights for "
    "14 days, then nightly.", EVENING, 1, Decimal("18.50"),
    ramp_every_n_days=2, ramp_days=14, pregnancy_unsafe=True,
)
ADAPALENE_GENERIC = StepSpec(
    "adapalene", ItemKind.TOPICAL, "Adapalene 0.1% gel (generic)",
    "Same medicine, lower price: a pea-sized amount spread thinly over the whole face on dry "
    "skin, every night.", EVENING, 1, Decimal("6.50"),
    ramp_every_n_days=2, ramp_days=14, pregnancy_unsafe=True,
)
SPF_MOISTURISER = StepSpec(
    "spf", ItemKind.SKINCARE, "SPF 30 moisturiser",
    "Last step every morning, cloudy days too: adapalene makes skin burn more easily.",
    MORNING, 1, Decimal("9.00"),
)
DOXYCYCLINE = StepSpec(
    "doxycycline", ItemKind.ORAL, "Doxycycline 100 mg capsule",
    "One capsule with breakfast and a full glass of water; stay upright for 30 minutes "
    "afterwards. Use sun protection.", MORNING, 1, Decimal("4.00"), pregnancy_unsafe=True,
)
SOAP_SUBSTITUTE = StepSpec(
    "soap-substitute", ItemKind.SKINCARE, "Soap-free wash",
    "Use instead of soap or shower gel; pat dry gently.", MORNING, 2, Decimal("5.00"),
)
EMOLLIENT_CREAM = StepSpec(
    "emollient", ItemKind.SKINCARE, "Emollient cream",
    "Smooth on generously in the direction of hair growth, on clear skin too. Reapply after "
    "washing.", BOTH, 3, Decimal("8.00"),
)
EMOLLIENT_OINTMENT = StepSpec(
    "emollient", ItemKind.SKINCARE, "Emollient ointment with lanolin",
    "Richer than the cream: use it generously on dry areas, morning and night.",
    BOTH, 3, Decimal("9.50"), animal_derived=True,
)
HYDROCORTISONE = StepSpec(
    "hydrocortisone", ItemKind.TOPICAL, "Hydrocortisone 1% cream",
    "A thin layer on red, itchy flare areas only, once a day until calm (up to 7 days). Leave "
    "30 minutes between it and the emollient.", EVENING, 2, Decimal("4.50"),
)
BLEACH_BATH = StepSpec(
    "bleach-bath", ItemKind.SKINCARE, "Dilute bleach bath",
    "Half a cup (120 ml) of plain household bleach in a full bath; soak for 10 minutes, rinse, "
    "pat dry, then apply the emollient.", EVENING, 15, Decimal("1.50"),
    frequency=Frequency.WEEKDAYS, weekdays="03",
)
ROSACEA_CLEANSER = StepSpec(
    "cleanser", ItemKind.SKINCARE, "Gentle non-foaming cleanser",
    "Massage in with fingertips and rinse with cool water; avoid hot water.",
    BOTH, 2, Decimal("7.00"),
)
AZELAIC_ACID = StepSpec(
    "azelaic-acid", ItemKind.TOPICAL, "Azelaic acid 15% gel",
    "A thin layer over the whole face after cleansing. Mild tingling in the first weeks is "
    "common.", BOTH, 1, Decimal("16.00"),
)
AZELAIC_ACID_ONCE = StepSpec(
    "azelaic-acid", ItemKind.TOPICAL, "Azelaic acid 15% gel",
    "Once a day for now, in the evening: a thin layer over the whole face after cleansing.",
    EVENING, 1, Decimal("12.00"),
)
IVERMECTIN = StepSpec(
    "ivermectin", ItemKind.TOPICAL, "Ivermectin 1% cream",
    "A pea-sized amount on each area (forehead, chin, nose, each cheek), once a day.",
    EVENING, 1, Decimal("22.00"), pregnancy_unsafe=True,
)
MINERAL_SPF = StepSpec(
    "spf", ItemKind.SKINCARE, "Mineral SPF 50 sunscreen",
    "Every morning, all year round: sun is a common rosacea trigger.", MORNING, 1,
    Decimal("12.00"),
)
PSORIASIS_EMOLLIENT = StepSpec(
    "emollient", ItemKind.SKINCARE, "Emollient cream",
    "Generously on the plaques and dry skin; it softens scale so the treatments work better.",
    BOTH, 3, Decimal("8.00"),
)
CALCIPOTRIOL_FOAM = StepSpec(
    "calcipotriol-foam", ItemKind.TOPICAL, "Calcipotriol/betamethasone foam",
    "Once a day on the plaques only; not on the face, groin or skin folds. Wash your hands "
    "afterwards.", EVENING, 2, Decimal("28.00"),
)
CALCIPOTRIOL_FOAM_TWICE_WEEKLY = StepSpec(
    "calcipotriol-foam", ItemKind.TOPICAL, "Calcipotriol/betamethasone foam",
    "Twice a week, on the places where plaques were, to stop them coming back.",
    EVENING, 2, Decimal("14.00"), frequency=Frequency.WEEKDAYS, weekdays="25",
)
COAL_TAR_SHAMPOO = StepSpec(
    "coal-tar-shampoo", ItemKind.TOPICAL, "Coal tar shampoo",
    "Instead of your usual shampoo: massage into the scalp, leave for 5 minutes, rinse well.",
    EVENING, 5, Decimal("6.00"), frequency=Frequency.EVERY_N_DAYS, every_n_days=3,
    contains_fragrance=True,
)
COAL_TAR_SHAMPOO_EVERY_OTHER_DAY = StepSpec(
    "coal-tar-shampoo", ItemKind.TOPICAL, "Coal tar shampoo",
    "Every other day for now: massage into the scalp, leave for 5 minutes, rinse well.",
    EVENING, 5, Decimal("9.00"), frequency=Frequency.EVERY_N_DAYS, every_n_days=2,
    contains_fragrance=True,
)

ACNE = Condition("acne", (
    "Clear skin for my wedding in June.",
    "To stop feeling self-conscious on video calls at work.",
    "Not having to hide behind make-up every day.",
    "Fewer spots before I start university.",
), ConcernSpec(
    "benzoyl-peroxide", ConcernCategory.IRRITATING,
    "The wash leaves my skin tight and flaky by lunchtime.",
    "That is common in the first weeks. Rinse it off after a minute and use the moisturiser "
    "straight after; if it is still flaky in two weeks, tell us and we will change the plan.",
))
ECZEMA = Condition("eczema", (
    "Sleeping through the night without scratching.",
    "Hands that don't crack and bleed at work.",
    "Swimming with my kids again without a flare afterwards.",
    "Wearing wool jumpers again.",
), ConcernSpec(
    "emollient", ConcernCategory.NO_TIME,
    "I can't find time for the cream in the mornings before work.",
    "The evening layer matters most. In the morning, just do your hands and face: that takes "
    "a minute.",
))
ROSACEA = Condition("rosacea", (
    "Less redness when I present at work.",
    "Going for a run without my face burning for hours.",
    "People to stop asking if I'm sunburnt.",
), ConcernSpec(
    "spf", ConcernCategory.TOO_EXPENSIVE, "The mineral sunscreen costs more than I expected.",
    "Any fragrance-free SPF 30 or higher works; a supermarket own-brand one is fine.",
))
PSORIASIS = Condition("psoriasis", (
    "Wearing short sleeves this summer.",
    "No more flakes on my dark work clothes.",
    "Playing football without worrying about my knees showing.",
), ConcernSpec(
    "coal-tar-shampoo", ConcernCategory.UNCLEAR,
    "Do I use the shampoo instead of my normal one, or as well?",
    "Instead of your normal shampoo on the days it is due; on the other days use your usual one.",
))

ACNE_START = RevisionSpec(
    "Your first plan: a gentle routine to clear spots and stop new ones forming.",
    (ACNE_CLEANSER, BENZOYL_PEROXIDE, ADAPALENE, SPF_MOISTURISER),
)
ACNE_GENERIC = RevisionSpec(
    "Switched to the generic adapalene to fit your budget.",
    (ACNE_CLEANSER, BENZOYL_PEROXIDE, ADAPALENE_GENERIC, SPF_MOISTURISER),
)
ACNE_FLARE = RevisionSpec(
    "Added doxycycline for up to 12 weeks to calm the inflamed spots faster.",
    (ACNE_CLEANSER, BENZOYL_PEROXIDE, ADAPALENE_GENERIC, SPF_MOISTURISER, DOXYCYCLINE),
)
ECZEMA_START = RevisionSpec(
    "Your first plan: repair your skin barrier and calm the flare.",
    (SOAP_SUBSTITUTE, EMOLLIENT_CREAM, HYDROCORTISONE),
)
ROSACEA_START = RevisionSpec(
    "Your first plan: calm the redness and protect your skin from triggers.",
    (ROSACEA_CLEANSER, AZELAIC_ACID, MINERAL_SPF),
)
PSORIASIS_START = RevisionSpec(
    "Your first plan: flatten the plaques and clear the scaling on your scalp.",
    (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM, COAL_TAR_SHAMPOO),
)
PSORIASIS_MAINTENANCE = RevisionSpec(
    "Your plaques have flattened, so the foam is now twice a week to keep them away.",
    (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM_TWICE_WEEKLY, COAL_TAR_SHAMPOO),
)

ACNE_PLAN = PlanTemplate(ACNE, (ACNE_START, ACNE_GENERIC))
ACNE_PLAN_WITH_DOXYCYCLINE = PlanTemplate(ACNE, (ACNE_START, ACNE_GENERIC, ACNE_FLARE))
TEMPLATES: tuple[PlanTemplate, ...] = (
    ACNE_PLAN,
    ACNE_PLAN_WITH_DOXYCYCLINE,
    PlanTemplate(ECZEMA, (ECZEMA_START, RevisionSpec(
        "Added a dilute bleach bath twice a week to cut down the skin infections that set off "
        "your flares.", (SOAP_SUBSTITUTE, EMOLLIENT_CREAM, HYDROCORTISONE, BLEACH_BATH),
    ))),
    PlanTemplate(ECZEMA, (ECZEMA_START, RevisionSpec(
        "Changed to a richer ointment because the cream was not keeping your skin moist.",
        (SOAP_SUBSTITUTE, EMOLLIENT_OINTMENT, HYDROCORTISONE),
    ))),
    PlanTemplate(ROSACEA, (ROSACEA_START, RevisionSpec(
        "Added ivermectin cream at night for the bumps that azelaic acid alone did not clear.",
        (ROSACEA_CLEANSER, AZELAIC_ACID, MINERAL_SPF, IVERMECTIN),
    ))),
    PlanTemplate(ROSACEA, (ROSACEA_START, RevisionSpec(
        "Azelaic acid once a day instead of twice, because it was stinging.",
        (ROSACEA_CLEANSER, AZELAIC_ACID_ONCE, MINERAL_SPF),
    ))),
    PlanTemplate(PSORIASIS, (PSORIASIS_START, PSORIASIS_MAINTENANCE)),
    PlanTemplate(PSORIASIS, (PSORIASIS_START, RevisionSpec(
        "The shampoo is now every other day, because the scalp scaling came back quickly.",
        (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM, COAL_TAR_SHAMPOO_EVERY_OTHER_DAY),
    ), RevisionSpec(
        "Your plaques have flattened, so the foam is now twice a week to keep them away.",
        (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM_TWICE_WEEKLY, COAL_TAR_SHAMPOO_EVERY_OTHER_DAY),
    ))),
)


# --- Profiles, prices and trade-offs -------------------------------------------------------------

CURRENCY_BY_TIMEZONE = {
    "Europe/London": Currency.GBP, "Europe/Berlin": Currency.EUR,
    "America/New_York": Currency.USD, "America/Los_Angeles": Currency.USD,
    "Asia/Kolkata": Currency.INR, "Pacific/Auckland": Currency.NZD,
    "Australia/Sydney": Currency.AUD, "America/Sao_Paulo": Currency.BRL,
}
# Rough local price level of the GBP template prices, not an exchange rate.
PRICE_LEVEL = {
    Currency.GBP: Decimal("1"), Currency.EUR: Decimal("1.2"), Currency.USD: Decimal("1.3"),
    Currency.AUD: Decimal("2"), Currency.NZD: Decimal("2.2"), Currency.BRL: Decimal("5"),
    Currency.INR: Decimal("60"),
}
BUDGET_STEP = {Currency.BRL: Decimal("20"), Currency.INR: Decimal("250")}
DEFAULT_BUDGET_STEP = Decimal("5")
DAILY_PATTERNS = (
    (DailyPattern.REGULAR, "Office job, home by six most evenings."),
    (DailyPattern.REGULAR, "Works from home; the gym three evenings a week."),
    (DailyPattern.SHIFT_WORK, "Rotating night shifts; sleeps during the day after nights."),
    (DailyPattern.CAREGIVING, "Looks after two young children; mornings are rushed."),
    (DailyPattern.TRAVEL, "Away for work two or three nights most weeks; packs light."),
    (DailyPattern.IRREGULAR, "Freelance hours that change from week to week."),
)
MORNING_MINUTES = (5, 10, 10, 15, 20)
EVENING_MINUTES = (5, 10, 15, 15, 20, 30)
PLAN_START_DAYS = (8 * 7, 12 * 7)  # plans start 8-12 weeks before the patient's today
REVIEW_WEEKS = (8, 10, 12)
# Share of the cohort whose plan fits; the rest accept a trade-off or leave a warning open.
FITS, ACCEPTED, OPEN = "fits", "accepted", "open"
SCENARIO_WEIGHTS = {FITS: 70, ACCEPTED: 15, OPEN: 15}
TRADE_OFF_PREFERENCES = ("topical-over-oral", "vegan", "fragrance-free")
# Notes a dermatologist writes when accepting a warning, by warning code without the item key.
# Pregnancy conflicts have no note: the demo never accepts them.
ACCEPTANCE_NOTES = {
    "budget": "This is the most effective option for your skin right now; we will look for "
              "cheaper alternatives at the review.",
    "time": "The extra minutes are only needed until the review, when we will simplify.",
    "pref:topical-over-oral": "Doxycycline is the quickest way to calm this flare; we will stop "
                              "it at the review.",
    "pref:vegan": "The lanolin ointment is what stopped your skin cracking; we can try a "
                  "plant-based one at the review.",
    "pref:fragrance-free": "The tar shampoo has a mild scent, but it is the most effective "
                           "scalp treatment for you; tell us if it irritates.",
    "pref:fewest-steps": "Each step does a different job for now; we will cut back once your "
                         "skin has settled.",
}
# Synthetic patient N raises a concern when N % CONCERN_EVERY is one of these.
CONCERN_EVERY = 8
OPEN_CONCERN_AT, ANSWERED_CONCERN_AT = 3, 6
DEMO_PATIENT_CONCERN = ConcernSpec(
    "adapalene", ConcernCategory.IRRITATING, "It stings after a few nights", ""
)
SYNTHETIC_EMAIL = re.compile(r"^patient(\d+)@demo\.test$")


@dataclass(frozen=True)
class DemoPatient:
    pk: int
    number: int  # seeds this patient's random choices: 0 is patient@demo.test
    timezone: str
    dermatologist_id: int


@dataclass(frozen=True)
class ProfileSeed:
    daily_pattern: str
    lifestyle_notes: str
    morning_minutes: int
    evening_minutes: int
    monthly_budget: Decimal
    currency: str
    preference_keys: tuple[str, ...]
    what_matters: str


@dataclass(frozen=True)
class ConcernSeed:
    spec: ConcernSpec
    answered: bool
    raised_at: datetime


@dataclass(frozen=True)
class Story:
    """Everything decided for one patient before any row is built."""

    patient: DemoPatient
    template: PlanTemplate
    profile: ProfileSeed
    effective: tuple[date, ...]  # per revision, oldest first
    reviews_on: date  # of the latest revision
    accept_trade_offs: bool
    keys: dict[str, uuid.UUID]  # step -> PlanItem.key, the same across revisions
    concern: ConcernSeed | None


@dataclass(frozen=True)
class TemplateNeeds:
    """What the latest revision of a template asks of a patient, in one currency."""

    monthly_cost: Decimal
    morning_minutes: int
    evening_minutes: int
    clashes_now: frozenset[str]  # preference keys the latest revision goes against
    clashes_ever: frozenset[str]  # ... that any revision goes against


def _price(gbp: Decimal, currency: str) -> Decimal:
    """The template price in the patient's currency, to the nearest half unit."""
    halves = (gbp * PRICE_LEVEL[currency] * 2).quantize(Decimal("1"), ROUND_HALF_UP)
    return (halves / 2).quantize(Decimal("0.01"))


def _round_to(amount: Decimal, step: Decimal, rounding: str) -> Decimal:
    return ((amount / step).quantize(Decimal("1"), rounding) * step).quantize(Decimal("0.01"))


@functools.cache
def _item_fields(spec: StepSpec, currency: str) -> dict[str, object]:
    values = {name: getattr(spec, name) for name in ITEM_FIELDS}
    values["monthly_cost"] = _price(spec.monthly_cost, currency)
    return values


@functools.cache
def _first_revision_of_step(template: PlanTemplate) -> dict[str, int]:
    first: dict[str, int] = {}
    for index, revision in enumerate(template.revisions):
        for spec in revision.steps:
            first.setdefault(spec.step, index)
    return first


def _clashing_preferences(report_codes: list[str]) -> frozenset[str]:
    return frozenset(code.split(":")[1] for code in report_codes if code.startswith("pref:"))


class _PricedStep:
    """A template step with its price in one currency, for the fit check of a template."""

    def __init__(self, spec: StepSpec, currency: str) -> None:
        self.key = spec.step
        self.__dict__.update(_item_fields(spec, currency))


@functools.cache
def _template_needs(
    template: PlanTemplate, currency: str, preferences: tuple[FitPreference, ...]
) -> TemplateNeeds:
    unlimited = FitProfile(Decimal("1e9"), currency, 10_000, 10_000, preferences)
    reports = [
        check_fit(unlimited, [_PricedStep(s, currency) for s in revision.steps])
        for revision in template.revisions
    ]
    latest = reports[-1]
    return TemplateNeeds(
        monthly_cost=latest.total_monthly_cost,
        morning_minutes=latest.morning_minutes,
        evening_minutes=latest.evening_minutes,
        clashes_now=_clashing_preferences([w.code for w in latest.warnings]),
        clashes_ever=frozenset().union(
            *(_clashing_preferences([w.code for w in r.warnings]) for r in reports)
        ),
    )


# --- Stories: what each patient's profile and plan look like --------------------------------------


def _patient_number(pk: int, email: str) -> int:
    if email == PATIENT_EMAIL:
        return 0
    match = SYNTHETIC_EMAIL.match(email)
    return int(match.group(1)) if match else 1_000_000 + pk


def _random_key(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _step_keys(rng: random.Random, template: PlanTemplate) -> dict[str, uuid.UUID]:
    return {step: _random_key(rng) for step in _first_revision_of_step(template)}


def _revision_dates(rng: random.Random, today: date, count: int) -> tuple[date, ...]:
    """The first revision 8-12 weeks ago, the others spread evenly until a few weeks ago."""
    span = rng.randint(*PLAN_START_DAYS)
    start = today - timedelta(days=span)
    later = [
        start + timedelta(days=span * i // count + rng.randint(-3, 3)) for i in range(1, count)
    ]
    return (start, *later)


def _minutes_at_least(rng: random.Random, choices: Sequence[int], needed: int) -> int:
    return max(rng.choice(choices), -(-needed // 5) * 5)


def _trade_off(
    rng: random.Random, scenario: str, needs: TemplateNeeds
) -> tuple[bool, tuple[str, ...]]:
    """(over budget?, preferences that clash) for a patient whose plan does not fit."""
    if scenario == ACCEPTED:
        options = ["budget", *(k for k in TRADE_OFF_PREFERENCES if k in needs.clashes_now)]
    else:
        options = ["budget", *(["fewest-steps"] if "fewest-steps" in needs.clashes_now else [])]
    choice = rng.choice(options)
    return (True, ()) if choice == "budget" else (False, (choice,))


def _profile_seed(
    rng: random.Random, template: PlanTemplate, currency: str, needs: TemplateNeeds,
    scenario: str, offered: Sequence[str],
) -> ProfileSeed:
    pattern, notes = rng.choice(DAILY_PATTERNS)
    step = BUDGET_STEP.get(currency, DEFAULT_BUDGET_STEP)
    budget = _round_to(needs.monthly_cost, step, ROUND_CEILING) + step * rng.choice((0, 0, 1, 2))
    fitting = [key for key in offered if key not in needs.clashes_ever]
    preferences = rng.sample(fitting, k=min(len(fitting), rng.choice((0, 1, 1, 2))))
    if scenario != FITS:
        over_budget, clashing = _trade_off(rng, scenario, needs)
        if over_budget:
            budget = _round_to(needs.monthly_cost * Decimal("0.8"), step, ROUND_FLOOR)
        preferences = [*clashing, *preferences]
    return ProfileSeed(
        daily_pattern=pattern, lifestyle_notes=notes,
        morning_minutes=_minutes_at_least(rng, MORNING_MINUTES, needs.morning_minutes),
        evening_minutes=_minutes_at_least(rng, EVENING_MINUTES, needs.evening_minutes),
        monthly_budget=budget, currency=currency, preference_keys=tuple(preferences),
        what_matters=rng.choice(template.condition.goals),
    )


def _concern_seed(
    rng: random.Random, number: int, template: PlanTemplate, now: datetime
) -> ConcernSeed | None:
    kind = number % CONCERN_EVERY
    if kind not in (OPEN_CONCERN_AT, ANSWERED_CONCERN_AT):
        return None
    raised_at = now - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 12))
    return ConcernSeed(template.condition.concern, kind == ANSWERED_CONCERN_AT, raised_at)


def _cohort_story(
    patient: DemoPatient, today: date, now: datetime, fit_preferences: tuple[FitPreference, ...]
) -> Story:
    rng = random.Random(patient.number)
    template = rng.choice(TEMPLATES)
    currency = CURRENCY_BY_TIMEZONE.get(patient.timezone, Currency.GBP)
    needs = _template_needs(template, currency, fit_preferences)
    scenario = rng.choices(list(SCENARIO_WEIGHTS), weights=list(SCENARIO_WEIGHTS.values()))[0]
    offered = [p.key for p in fit_preferences]
    effective = _revision_dates(rng, today, len(template.revisions))
    return Story(
        patient=patient, template=template,
        profile=_profile_seed(rng, template, currency, needs, scenario, offered),
        effective=effective,
        reviews_on=effective[-1] + timedelta(weeks=rng.choice(REVIEW_WEEKS)),
        accept_trade_offs=scenario == ACCEPTED, keys=_step_keys(rng, template),
        concern=_concern_seed(rng, patient.number, template, now),
    )


def _demo_patient_story(patient: DemoPatient, today: date, now: datetime) -> Story:
    """patient@demo.test: acne, three revisions over 12 weeks, an accepted trade-off and an
    open concern."""
    rng = random.Random(patient.number)
    profile = ProfileSeed(
        daily_pattern=DailyPattern.REGULAR, lifestyle_notes=DAILY_PATTERNS[0][1],
        morning_minutes=10, evening_minutes=15, monthly_budget=Decimal("35.00"),
        currency=Currency.GBP, preference_keys=("topical-over-oral", "fragrance-free"),
        what_matters="Clear skin for my wedding in June.",
    )
    effective = tuple(today - timedelta(weeks=weeks) for weeks in (12, 6, 2))
    return Story(
        patient=patient, template=ACNE_PLAN_WITH_DOXYCYCLINE, profile=profile,
        effective=effective, reviews_on=effective[-1] + timedelta(weeks=8),
        accept_trade_offs=True, keys=_step_keys(rng, ACNE_PLAN_WITH_DOXYCYCLINE),
        concern=ConcernSeed(DEMO_PATIENT_CONCERN, answered=False,
                            raised_at=now - timedelta(days=2)),
    )


# --- Rows ----------------------------------------------------------------------------------------


def _saved_at(day: date, zone_name: str, now: datetime) -> datetime:
    """When a back-dated row was saved: late morning that day, patient-local, never later than
    now."""
    return min(datetime.combine(day, time(11, 0), tzinfo=ZoneInfo(zone_name)), now)


def _plan_items(story: Story, index: int) -> list[PlanItem]:
    currency = story.profile.currency
    first = _first_revision_of_step(story.template)
    return [
        PlanItem(
            key=story.keys[spec.step], position=position,
            starts_on=story.effective[first[spec.step]], **_item_fields(spec, currency),
        )
        for position, spec in enumerate(story.template.revisions[index].steps, start=1)
    ]


def _acceptance_note(code: str) -> str:
    """The note for a warning code: 'budget', 'time:evening', 'pref:vegan:<item key>' ..."""
    parts = code.split(":")
    family = ":".join(parts[:2]) if parts[0] == "pref" else parts[0]
    return ACCEPTANCE_NOTES.get(family, "")


def _warning_rows(story: Story, warnings: list[FitWarning]) -> list[dict[str, object]]:
    """The fit warnings as a revision saves them, accepted with a note where the story says so."""
    rows = []
    for warning in warnings:
        note = _acceptance_note(warning.code) if story.accept_trade_offs else ""
        rows.append({"code": warning.code, "message": warning.message,
                     "accepted": bool(note), "note": note})
    return rows


def _reviews_on(story: Story, index: int) -> date:
    """A revision runs until the review that made the next one (the latest: a future visit)."""
    is_latest = index == len(story.effective) - 1
    return story.reviews_on if is_latest else story.effective[index + 1]


def _revision_with_items(
    story: Story, index: int, plan_id: int, profile: FitProfile, now: datetime
) -> tuple[PlanRevision, list[PlanItem]]:
    items = _plan_items(story, index)
    report = check_fit(profile, items)
    revision = PlanRevision(
        plan_id=plan_id, number=index + 1, author_id=story.patient.dermatologist_id,
        created_at=_saved_at(story.effective[index], story.patient.timezone, now),
        effective_from=story.effective[index], reviews_on=_reviews_on(story, index),
        reason=story.template.revisions[index].reason,
        fit_warnings=_warning_rows(story, report.warnings),
        total_monthly_cost=report.total_monthly_cost,
    )
    return revision, items


def _profile_row(story: Story, now: datetime) -> PatientProfile:
    seed = story.profile
    return PatientProfile(
        patient_id=story.patient.pk, daily_pattern=seed.daily_pattern,
        lifestyle_notes=seed.lifestyle_notes, morning_minutes=seed.morning_minutes,
        evening_minutes=seed.evening_minutes, monthly_budget=seed.monthly_budget,
        currency=seed.currency, preference_notes="", what_matters=seed.what_matters,
        updated_at=_saved_at(story.effective[0], story.patient.timezone, now),
    )


def _reply_fields(seed: ConcernSeed, replier_id: int, now: datetime) -> dict[str, object]:
    if not seed.answered:
        return {"status": Concern.Status.OPEN, "reply": "", "replied_by_id": None,
                "replied_at": None}
    return {"status": Concern.Status.ANSWERED, "reply": seed.spec.reply,
            "replied_by_id": replier_id,
            "replied_at": min(seed.raised_at + timedelta(hours=20), now)}


def _concern_row(
    story: Story, seed: ConcernSeed, revision_id: int, replier_id: int, now: datetime
) -> Concern:
    """A concern about a step of the latest revision, open or answered by ``replier_id``."""
    latest = story.template.revisions[-1].steps
    name = next(spec.name for spec in latest if spec.step == seed.spec.step)
    return Concern(
        patient_id=story.patient.pk, item_key=story.keys[seed.spec.step], item_name=name,
        raised_on_revision_id=revision_id, category=seed.spec.category, text=seed.spec.text,
        created_at=seed.raised_at, resolved_by_revision_id=None,
        **_reply_fields(seed, replier_id, now),
    )


# --- Writing -------------------------------------------------------------------------------------


def _database(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]  # not the proxy: it is read per value


def _uses_psycopg2(database: BaseDatabaseWrapper) -> bool:
    if database.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return not is_psycopg3


def _quoted(
    model: type[models.Model], attnames: Sequence[str], database: BaseDatabaseWrapper
) -> tuple[str, str]:
    """The model's table and the columns of ``attnames``, quoted for SQL."""
    quote, meta = database.ops.quote_name, model._meta
    return quote(meta.db_table), ", ".join(quote(meta.get_field(n).column) for n in attnames)


def _executemany(
    database: BaseDatabaseWrapper, table: str, columns: str, values: Sequence[Sequence[object]]
) -> None:
    """One prepared INSERT run over all rows (``bulk_create`` on SQLite would split the rows
    into statements of at most 999 parameters)."""
    placeholders = ", ".join(["%s"] * len(values[0]))
    with database.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - metadata
            values,
        )


def _insert(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """INSERT model instances in bulk, every value exactly as set on the instance.

    ``auto_now``/``auto_now_add`` are not applied: callers set those timestamps (back-dated
    history needs that) and read generated ids back with one query. On PostgreSQL with psycopg2,
    whose ``executemany`` runs row by row, ``execute_values`` sends thousands of rows per
    statement.
    """
    if not rows:
        return
    meta = model._meta
    database = _database(model)
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    table, columns = _quoted(model, [f.attname for f in fields], database)
    values = [[f.get_db_prep_save(getattr(row, f.attname), database) for f in fields]
              for row in rows]
    if not _uses_psycopg2(database):
        _executemany(database, table, columns, values)
        return
    from psycopg2.extras import execute_values

    with database.cursor() as cursor:
        execute_values(cursor.cursor, f"INSERT INTO {table} ({columns}) VALUES %s",  # noqa: S608
                       values, page_size=PG_PAGE_SIZE)


def _load(
    model: type[models.Model], attnames: Sequence[str], values: Sequence[Sequence[object]]
) -> None:
    """INSERT rows of plain values in ``attnames`` order: None, numbers, text, booleans, dates,
    times, UUIDs, each as ``get_db_prep_save`` gives it.

    SQLite: ``executemany``. PostgreSQL with psycopg2: ``COPY`` from CSV, about four times
    faster than ``execute_values`` for the millions of step logs of a large cohort.
    """
    if not values:
        return
    database = _database(model)
    table, columns = _quoted(model, attnames, database)
    if not _uses_psycopg2(database):
        _executemany(database, table, columns, values)
        return
    buffer = io.StringIO()
    csv.writer(buffer).writerows(values)
    buffer.seek(0)
    with database.cursor() as cursor:
        cursor.cursor.copy_expert(_copy_sql(model, attnames, database, table, columns), buffer)


def _copy_sql(
    model: type[models.Model], attnames: Sequence[str], database: BaseDatabaseWrapper,
    table: str, columns: str,
) -> str:
    """CSV writes None as an empty field, which COPY reads as NULL; FORCE_NOT_NULL reads the
    empty fields of NOT NULL columns as ''. (So '' in a nullable column would load as NULL.)"""
    not_null = [database.ops.quote_name(field.column) for field in
                (model._meta.get_field(name) for name in attnames) if not field.null]
    force = f", FORCE_NOT_NULL ({', '.join(not_null)})" if not_null else ""
    return f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv{force})"


def _insert_profiles(
    stories: list[Story], preferences: dict[str, Preference], now: datetime
) -> None:
    """Profiles for patients who have none yet (a patient may have opened theirs already)."""
    by_patient = {story.patient.pk: story for story in stories}
    existing = set(PatientProfile.objects.filter(patient_id__in=by_patient)
                   .values_list("patient_id", flat=True))
    new = [story for pk, story in by_patient.items() if pk not in existing]
    _insert(PatientProfile, [_profile_row(story, now) for story in new])
    profile_ids = dict(PatientProfile.objects.filter(patient_id__in=[s.patient.pk for s in new])
                       .values_list("patient_id", "pk"))
    through = PatientProfile.preferences.through
    _insert(through, [
        through(patientprofile_id=profile_ids[story.patient.pk], preference_id=preferences[key].pk)
        for story in new for key in story.profile.preference_keys if key in preferences
    ])


def _fit_profiles(patient_ids: list[int]) -> dict[int, FitProfile]:
    profiles = PatientProfile.objects.filter(patient_id__in=patient_ids)
    return {p.patient_id: fit_profile(p) for p in profiles.prefetch_related("preferences")}


def _insert_plans(stories: list[Story], now: datetime) -> dict[int, int]:
    """Care plans with ``current_number`` set to their latest revision; patient id -> plan id."""
    _insert(CarePlan, [
        CarePlan(
            patient_id=story.patient.pk, starts_on=story.effective[0],
            current_number=len(story.effective),
            created_at=_saved_at(story.effective[0], story.patient.timezone, now),
        )
        for story in stories
    ])
    return dict(CarePlan.objects.filter(patient_id__in=[s.patient.pk for s in stories])
                .values_list("patient_id", "pk"))


def _insert_revisions(
    stories: list[Story], plan_ids: dict[int, int], now: datetime
) -> dict[tuple[int, int], int]:
    """Every revision and its items; returns (plan id, number) -> revision id."""
    fit_profiles = _fit_profiles(list(plan_ids))
    built = [
        _revision_with_items(story, index, plan_ids[story.patient.pk],
                             fit_profiles[story.patient.pk], now)
        for story in stories for index in range(len(story.effective))
    ]
    _insert(PlanRevision, [revision for revision, _ in built])
    revision_ids = {
        (plan_id, number): pk for plan_id, number, pk in PlanRevision.objects
        .filter(plan_id__in=plan_ids.values()).values_list("plan_id", "number", "pk")
    }
    for revision, items in built:
        for item in items:
            item.revision_id = revision_ids[revision.plan_id, revision.number]
    _insert(PlanItem, [item for _, items in built for item in items])
    return revision_ids


def _insert_concerns(
    stories: list[Story], plan_ids: dict[int, int], revision_ids: dict[tuple[int, int], int],
    replier_id: int, now: datetime,
) -> None:
    _insert(Concern, [
        _concern_row(story, story.concern,
                     revision_ids[plan_ids[story.patient.pk], len(story.effective)],
                     replier_id, now)
        for story in stories if story.concern is not None
    ])


def _seed_plan_chunk(
    patients: list[DemoPatient], preferences: dict[str, Preference], replier_id: int,
    now: datetime,
) -> None:
    fit_preferences = tuple(
        FitPreference(key=p.key, label=p.label, conflict=p.conflict) for p in preferences.values()
    )
    stories = [_story(patient, now, fit_preferences) for patient in patients]
    _insert_profiles(stories, preferences, now)
    plan_ids = _insert_plans(stories, now)
    revision_ids = _insert_revisions(stories, plan_ids, now)
    _insert_concerns(stories, plan_ids, revision_ids, replier_id, now)


def _story(
    patient: DemoPatient, now: datetime, fit_preferences: tuple[FitPreference, ...]
) -> Story:
    today = timezone.localdate(now, timezone=ZoneInfo(patient.timezone))
    if patient.number == 0:
        return _demo_patient_story(patient, today, now)
    return _cohort_story(patient, today, now, fit_preferences)


def _patients_without_plan(clinic: Clinic) -> list[DemoPatient]:
    rows = (
        Patient.objects.filter(clinic=clinic, user__email__endswith="@demo.test",
                               care_plan__isnull=True)
        .order_by("pk").values_list("pk", "user__email", "timezone", "dermatologist_id")
    )
    return [DemoPatient(pk, _patient_number(pk, email), zone, derm_id)
            for pk, email, zone, derm_id in rows]


def seed_plans(
    *, clinic: Clinic, replier: User, now: datetime, progress: Progress | None = None
) -> int:
    """Give every demo patient without a care plan a profile and a plan back-dated from
    ``now``, in bulk.

    ``replier`` answers the concerns that the demo shows as answered. Returns how many plans
    were new.
    """
    patients = _patients_without_plan(clinic)
    preferences = {p.key: p for p in Preference.objects.filter(clinic__isnull=True)}
    done = 0
    for start in range(0, len(patients), CHUNK):
        chunk = patients[start:start + CHUNK]
        with transaction.atomic():
            _seed_plan_chunk(chunk, preferences, replier.pk, now)
        done += len(chunk)
        if progress:
            progress(done, len(patients))
    return done


# --- Check-in history ----------------------------------------------------------------------------
# Each demo patient logs most days against the revision in effect that day. The patterns a clinic
# meets are assigned by patient number, so even the default cohort holds each of them: steady;
# weekend gaps (weekends often unlogged or partial, cf. Carroll et al. 2004); a decline after the
# first three weeks; satisfaction and alliance falling over the last weeks; and a severe side
# effect that leaves a pending attention request. Days without a check-in are simply absent.

HISTORY_DAYS = 84
HISTORY_CHUNK = 500  # patients per transaction
SQLITE_LOAD_CACHE_KIB = 64 * 1024  # SQLite's page cache while loading (its default is 2 MB)
EVENING_CHECKIN = time(20, 30)  # patient-local; after it, a cohort patient has logged today


@dataclass(frozen=True)
class Pattern:
    """How a patient logs: the chance a day is logged and the chance a due step is done."""

    name: str
    done: tuple[float, float]  # the patient's own done rate is drawn from this range
    logged: float
    weekend_logged: float
    weekend_done: float  # factor on the done rate at weekends
    declines: bool = False  # the done rate falls between weeks 3 and 8 ...
    decline_to: float = 0.48  # ... to this (Carroll et al. 2004: ~50 % by week 8)
    decline_weeks: tuple[int, int] = (3, 8)  # (the first falling week, the week it ends)
    logging_falls: bool = True  # while declining, fewer days are logged too
    alliance_falls: bool = False  # satisfaction and pulse fall over the last weeks
    late_drop: bool = False  # the done rate falls to ~35 % over the last ten days
    quiet_days: int = 0  # logs nothing over the last this many days


STEADY = Pattern("steady", (0.86, 0.95), 0.94, 0.9, 1.0)
WEEKEND_GAPS = Pattern("weekend gaps", (0.82, 0.92), 0.93, 0.35, 0.6)
DECLINING = Pattern("declining", (0.84, 0.9), 0.95, 0.9, 0.95, declines=True)
# Falls much faster than the published curve, by plan week 5, and keeps logging what it
# skips: the "below expected" story. (Fewer logged days would leave plan weeks under the
# rule's minimum of logged days on some calendar dates, and the demo without the flag.)
STEEP_DECLINE = Pattern("steep decline", (0.84, 0.9), 0.95, 0.9, 0.95, declines=True,
                        decline_to=0.25, decline_weeks=(2, 5), logging_falls=False)
PATCHY = Pattern("patchy", (0.6, 0.8), 0.7, 0.6, 0.9)
FALLING_ALLIANCE = Pattern("falling alliance", (0.8, 0.9), 0.95, 0.9, 0.95, alliance_falls=True)
DEMO_ROUTINE = Pattern("demo routine", (0.93, 0.93), 0.97, 0.55, 0.65)
# A steady logger who has logged nothing for the last five days ("gone quiet").
GONE_QUIET = Pattern("gone quiet", (0.86, 0.95), 0.97, 0.95, 1.0, quiet_days=5)
# Falling satisfaction and alliance, and then adherence too: the "alliance at risk" story.
AT_RISK = Pattern("alliance at risk", (0.84, 0.9), 0.97, 0.95, 0.95, alliance_falls=True,
                  late_drop=True)
# Synthetic patient N follows COHORT_PATTERNS[N % 8]; when N % 16 == 12 (a steady patient) they
# also report one severe side effect in the last weeks. Every sixteenth patient from 9 goes
# quiet, from 15 has the alliance-at-risk story and from 3 declines steeply (so each flag rule
# has patients to show).
COHORT_PATTERNS = (
    STEADY, STEADY, WEEKEND_GAPS, DECLINING, STEADY, PATCHY, WEEKEND_GAPS, FALLING_ALLIANCE,
)
SEVERE_EVERY, SEVERE_AT = 16, 12
STORY_EVERY, STORY_PATTERNS = 16, {3: STEEP_DECLINE, 9: GONE_QUIET, 15: AT_RISK}

SLOT_SKIP_SHARE = 0.4  # of the skipped steps, the share skipped as a whole morning/evening


@dataclass(frozen=True)
class Weighted:
    """Options and their cumulative weights, for ``random.choices``."""

    options: tuple[str, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, weights: dict[str, int]) -> Weighted:
        return cls(tuple(weights), tuple(itertools.accumulate(weights.values())))


SLOT_SKIP_REASONS = Weighted.of(
    {SkipReason.FORGOT: 45, SkipReason.NO_TIME: 40, SkipReason.OTHER: 15}
)
STEP_SKIP_REASONS = Weighted.of({
    SkipReason.FORGOT: 30, SkipReason.NO_TIME: 22, SkipReason.CHOSE_NOT_TO: 10,
    SkipReason.RAN_OUT: 6, SkipReason.SIDE_EFFECTS: 6, SkipReason.OTHER: 5,
    SkipReason.TOO_EXPENSIVE: 4,
})
SATISFACTION_RATE, ITCH_RATE, NOTE_RATE = 0.88, 0.85, 0.05
PARTNERSHIP_SKIP_RATE = 0.15  # the week's question left blank (asked again next check-in)
MODERATE_RATE, MILD_RATE = 0.005, 0.035  # per check-in (mild includes moderate)
NOTES = (
    "Busy day, but got it done.",
    "Skin feels calmer this week.",
    "Hot weather, skin felt a bit oily.",
    "The reminder helped today.",
    "Slept badly, itchy at night.",
    "Away overnight, did what I could.",
    "New tube feels a bit thicker than the last one.",
)
SIDE_EFFECT_TEXTS = {
    (SideEffect.MILD, False): ("A little stinging after putting it on.",
                               "Skin felt dry and tight afterwards.",
                               "Some redness for an hour or so.", "Mild peeling around the nose."),
    (SideEffect.MILD, True): ("Felt a bit queasy after taking it.",
                              "Slight stomach upset this morning."),
    (SideEffect.MODERATE, False): ("Red and sore where I put it on; it lasted all evening.",),
    (SideEffect.MODERATE, True): ("Queasy most of the morning after taking it.",),
    (SideEffect.SEVERE, False): ("Blistering and swelling where I put it on; I have stopped "
                                 "using it.",),
    (SideEffect.SEVERE, True): ("Hives and a swollen lip after taking it; I have stopped it.",),
}
MEDICINES = (ItemKind.TOPICAL, ItemKind.ORAL)
CHECKIN_COLUMNS = (
    "patient_id", "local_date", "revision_id", "steps_due", "steps_done", "satisfaction", "itch",
    "side_effect", "side_effect_item_id", "side_effect_text", "note", "partnership_question",
    "partnership", "created_at", "updated_at",
)
STEP_COLUMNS = ("checkin_id", "item_id", "item_key", "slot", "done", "skip_reason")
PULSE_COLUMNS = ("checkin_id", "patient_id", "local_date", *AlliancePulse.QUESTIONS, "total")
ATTENTION_COLUMNS = ("patient_id", "checkin_id", "kind", "created_at", "processed_at")


def history_pattern(number: int) -> Pattern:
    """The logging pattern of demo patient ``number`` (0 is patient@demo.test)."""
    if number == 0:
        return DEMO_ROUTINE
    return STORY_PATTERNS.get(number % STORY_EVERY) or COHORT_PATTERNS[
        number % len(COHORT_PATTERNS)]


def _ramp(value: float, start: float, end: float) -> float:
    """0 up to ``start``, 1 from ``end``, linear in between."""
    if end <= start:
        return float(value >= end)
    return min(max((value - start) / (end - start), 0.0), 1.0)


def _decline(index: int, length: int, weeks: tuple[int, int] = (3, 8)) -> float:
    """From the start of the first of ``weeks`` of the history to the end of the second;
    proportionally earlier in a history shorter than that."""
    first, last = weeks
    scale = min(1.0, length / (7 * last))
    return _ramp(index, 7 * (first - 1) * scale, 7 * last * scale)


def _fall(index: int, length: int) -> float:
    """Ten days ending three days before the history ends: a recent fall, against weeks of a
    steady partnership, that the weekly answers and ratings show (docs/flags.md)."""
    end = max(length - 3, 1)
    return _ramp(index, max(end - 10, 0), end)


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


def _pulse_answers(rng: random.Random, total: int) -> tuple[int, ...]:
    """Four 0-10 answers adding up to ``total``, a little spread between the questions."""
    answers = [total // 4 + (1 if index < total % 4 else 0) for index in range(4)]
    for _ in range(2):
        up, down = rng.sample(range(4), 2)
        if answers[up] < 10 and answers[down] > 0:
            answers[up] += 1
            answers[down] -= 1
    return tuple(answers)


@dataclass(frozen=True)
class _Step:
    item_id: int
    key: object  # PlanItem.key as the database stores it
    slot: str
    kind: str


class _RevisionSteps:
    """The steps one revision makes due, by day. Once every item has started and every ramp-up
    is over, the schedule repeats every ``period`` days; each day of that cycle is computed once.
    """

    def __init__(
        self, pk: int, effective_from: date, items: list[PlanItem], plan_starts_on: date,
        keys: dict[int, object],
    ) -> None:
        self.pk, self.effective_from, self.items = pk, effective_from, items
        self.plan_starts_on, self.keys = plan_starts_on, keys
        self.repeats_from = max([plan_starts_on, *(
            item.starts_on + timedelta(days=item.ramp_days or 0) for item in items
        )])
        self.period = math.lcm(7, *(max(item.every_n_days or 1, 1) for item in items
                                    if item.frequency == Frequency.EVERY_N_DAYS))
        self.cycle: dict[int, tuple[_Step, ...]] = {}

    def on(self, day: date) -> tuple[_Step, ...]:
        if day < self.repeats_from:
            return self._due(day)
        position = day.toordinal() % self.period
        if position not in self.cycle:
            self.cycle[position] = self._due(day)
        return self.cycle[position]

    def _due(self, day: date) -> tuple[_Step, ...]:
        return tuple(
            _Step(step.item.id, self.keys[step.item.id], step.slot, step.item.kind)
            for step in due_steps(self.items, day, plan_starts_on=self.plan_starts_on)
        )


@dataclass(frozen=True)
class _PatientPlan:
    patient: DemoPatient
    starts_on: date
    revisions: tuple[_RevisionSteps, ...]  # by effective date, then number

    def revision_on(self, day: date) -> _RevisionSteps | None:
        """As ``careplans.selectors.revision_in_effect``: the latest to take effect by ``day``."""
        in_effect = None
        for revision in self.revisions:
            if revision.effective_from > day:
                break
            in_effect = revision
        return in_effect


@dataclass(slots=True)
class _DayLog:
    day: date
    revision_id: int
    answers: list[tuple[_Step, bool, str]]  # step, done, skip reason
    satisfaction: int | None = None
    itch: int | None = None
    side_effect: str = SideEffect.NONE
    side_effect_item_id: int | None = None
    side_effect_text: str = ""
    note: str = ""
    pulse: tuple[int, ...] | None = None
    partnership_question: str = ""  # the week's question, when the check-in asked it
    partnership: int | None = None  # its answer (None: skipped)

    @property
    def steps_done(self) -> int:
        return sum(1 for _, done, _ in self.answers if done)


class _Timeline:
    """One patient's days, decided by the patient's own random stream (seeded by number)."""

    def __init__(self, plan: _PatientPlan, days: list[date], pulse_interval: int) -> None:
        self.plan, self.days, self.pulse_interval = plan, days, pulse_interval
        self.pattern = history_pattern(plan.patient.number)
        self.rng = random.Random(f"history:{plan.patient.number}")
        self.done_rate = self.rng.uniform(*self.pattern.done)
        self.satisfaction = self.rng.uniform(3.8, 4.8)
        self.itch = self.rng.uniform(1.5, 6.0)
        self.pulse_total = self.rng.randint(30, 36)
        self.severe_index = self._severe_index()
        self.stopped: set[int] = set()  # items stopped after a severe side effect
        self.ran_out: dict[int, tuple[date, date]] = {}  # item id -> (ran out on, back on)
        self.last_pulse: date | None = None
        # The week's partnership question draws from its own stream, so adding it left every
        # other answer (and the flags they raise) as it was.
        self.partnership_rng = random.Random(f"partnership:{plan.patient.number}")
        self.last_alliance: date | None = None  # the last pulse or answered weekly question
        self.last_question: str | None = None  # the last weekly question answered
        # patient@demo.test never logs today, and the demo shows them the pulse on Today: they
        # log every day a whole number of pulse intervals before today (and nothing before the
        # first), so their pulses fall on those days and the next is due today.
        self.pulse_today = days[-1] + timedelta(days=1) if (
            days and plan.patient.number == 0) else None
        self.first_pulse_day = next((d for d in days if self._pulse_day(d)), days[0] if days
                                    else None)

    def logs(self) -> list[_DayLog]:
        logs = (self._day(index, day) for index, day in enumerate(self.days))
        return [log for log in logs if log is not None]

    def _severe_index(self) -> int | None:
        if self.plan.patient.number % SEVERE_EVERY != SEVERE_AT or len(self.days) < 5:
            return None
        return len(self.days) - 1 - self.rng.randint(3, min(17, len(self.days) - 1))

    def _day(self, index: int, day: date) -> _DayLog | None:
        revision = self.plan.revision_on(day)
        steps = revision.on(day) if revision else ()
        severe = index == self.severe_index
        logged, done = self._rates(index, day)
        forced = severe or self._pulse_day(day)
        if revision is None or not steps or (not forced and self.rng.random() >= logged):
            return None
        if self.pulse_today and day < self.first_pulse_day:
            return None
        if index >= len(self.days) - self.pattern.quiet_days:
            return None
        log = _DayLog(day, revision.pk, self._answers(steps, done, day))
        self._wellbeing(log, index, severe)
        self._pulse(log, index)
        self._partnership(log, index)
        return log

    def _pulse_day(self, day: date) -> bool:
        return bool(self.pulse_today) and (self.pulse_today - day).days % self.pulse_interval == 0

    def _rates(self, index: int, day: date) -> tuple[float, float]:
        """(chance the day is logged, chance a due step is done)."""
        pattern, length = self.pattern, len(self.days)
        logged, done = pattern.logged, self.done_rate
        if day.weekday() >= 5:
            logged, done = pattern.weekend_logged, done * pattern.weekend_done
        if pattern.declines:
            drop = _decline(index, length, pattern.decline_weeks)
            logged -= 0.2 * drop if pattern.logging_falls else 0.0
            done -= (done - pattern.decline_to) * drop
        if pattern.alliance_falls:
            done -= 0.15 * _fall(index, length)
        if pattern.late_drop:
            done -= (done - 0.35) * _ramp(index, length - 12, length - 5)
        return logged, done

    def _answers(
        self, steps: tuple[_Step, ...], done_rate: float, day: date
    ) -> list[tuple[_Step, bool, str]]:
        skip = 1 - done_rate
        whole = skip * SLOT_SKIP_SHARE
        skipped_slots = {slot: self._reason(SLOT_SKIP_REASONS) for slot in (MORNING, EVENING)
                         if self.rng.random() < whole}
        single = (skip - whole) / (1 - whole)
        return [self._answer(step, day, skipped_slots, single) for step in steps]

    def _answer(
        self, step: _Step, day: date, skipped_slots: dict[str, str], single: float
    ) -> tuple[_Step, bool, str]:
        reason = self._forced_skip(step, day) or skipped_slots.get(step.slot, "")
        if not reason and self.rng.random() < single:
            reason = self._reason(STEP_SKIP_REASONS)
            if reason == SkipReason.RAN_OUT:
                self.ran_out[step.item_id] = (day, day + timedelta(days=self.rng.randint(1, 3)))
        return step, not reason, reason

    def _forced_skip(self, step: _Step, day: date) -> str:
        if step.item_id in self.stopped:
            return SkipReason.SIDE_EFFECTS
        ran_out = self.ran_out.get(step.item_id)
        return SkipReason.RAN_OUT if ran_out and day < ran_out[1] else ""

    def _reason(self, reasons: Weighted) -> str:
        return self.rng.choices(reasons.options, cum_weights=reasons.cumulative)[0]

    def _wellbeing(self, log: _DayLog, index: int, severe: bool) -> None:
        length = len(self.days)
        fall = _fall(index, length) if self.pattern.alliance_falls else 0.0
        decline = (_decline(index, length, self.pattern.decline_weeks)
                   if self.pattern.declines else 0.0)
        if self.rng.random() < SATISFACTION_RATE:
            mood = self.satisfaction - 3.2 * fall - 0.8 * decline - 2 * severe
            log.satisfaction = _clamp(round(mood + self.rng.gauss(0, 0.5)), 1, 5)
        if self.rng.random() < ITCH_RATE:
            itch = self.itch * (1 - 0.4 * index / length) + 3 * severe
            log.itch = _clamp(round(itch + self.rng.gauss(0, 1.2)), 0, 10)
        self._side_effect(log, severe)
        log.note = self._note(log)

    def _side_effect(self, log: _DayLog, severe: bool) -> None:
        roll = self.rng.random()
        if severe:
            level = SideEffect.SEVERE
        elif roll < MODERATE_RATE:
            level = SideEffect.MODERATE
        elif roll < MILD_RATE:
            level = SideEffect.MILD
        else:
            return
        due = [step for step, _, _ in log.answers]
        step = self.rng.choice([s for s in due if s.kind in MEDICINES] or due)
        log.side_effect, log.side_effect_item_id = level, step.item_id
        log.side_effect_text = self.rng.choice(
            SIDE_EFFECT_TEXTS[level, step.kind == ItemKind.ORAL]
        )
        if severe:
            self.stopped.add(step.item_id)

    def _note(self, log: _DayLog) -> str:
        """A note on the day a step that ran out is done again; otherwise, now and then, a
        short everyday one."""
        done_items = {step.item_id for step, done, _ in log.answers if done}
        for item_id, (ran_out_on, back_on) in list(self.ran_out.items()):
            if back_on <= log.day and item_id in done_items:
                del self.ran_out[item_id]
                return f"Ran out on {ran_out_on:%A}, picked up more today."
        return self.rng.choice(NOTES) if self.rng.random() < NOTE_RATE else ""

    def _pulse(self, log: _DayLog, index: int) -> None:
        """Asked on a logged day when none was answered in the last ``pulse_interval`` days."""
        if self.last_pulse and (log.day - self.last_pulse).days < self.pulse_interval:
            return
        self.last_pulse = log.day
        log.pulse = _pulse_answers(self.rng, self._pulse_total(index))

    def _partnership(self, log: _DayLog, index: int) -> None:
        """The week's question, as ``checkins.services.partnership_question_due`` asks it: on a
        logged day without the pulse, when no pulse or answer lies in the 6 days before; the
        question after the last one answered. Answered near the patient's pulse level (its
        total / 4), so a falling alliance answers lower; now and then skipped."""
        if log.pulse is not None:
            self.last_alliance = log.day
            return
        if self.last_alliance and (log.day - self.last_alliance).days < ALLIANCE_GAP_DAYS:
            return
        log.partnership_question = next_partnership_question(self.last_question)
        if self.partnership_rng.random() < PARTNERSHIP_SKIP_RATE:
            return
        level = self._alliance_level(index) / 4 + self.partnership_rng.gauss(0, 0.7)
        log.partnership = _clamp(round(level), 0, 10)
        self.last_alliance, self.last_question = log.day, log.partnership_question

    def _alliance_level(self, index: int) -> float:
        """The pulse total this patient would give on day ``index`` (out of 40), without
        the day's noise: ``_pulse_total``'s story."""
        length = len(self.days)
        if self.pattern.alliance_falls:
            return self.pulse_total + 1 - 14 * _fall(index, length)
        if self.pattern.declines:
            return self.pulse_total - 4 * _decline(index, length, self.pattern.decline_weeks)
        return self.pulse_total

    def _pulse_total(self, index: int) -> int:
        length = len(self.days)
        if self.pattern.alliance_falls:  # from 31-37 to 24 or less
            total = self.pulse_total + 1 - round(14 * _fall(index, length))
            return _clamp(total + self.rng.randint(-1, 1), 0, 40)
        drop = (round(4 * _decline(index, length, self.pattern.decline_weeks))
                if self.pattern.declines else 0)
        return _clamp(self.pulse_total - drop + self.rng.randint(-2, 2), 0, 40)


class _DbValues:
    """Dates and timestamps as the database takes them, each converted once per run."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.connection = connections[router.db_for_write(CheckIn)]
        self.date_field = CheckIn._meta.get_field("local_date")
        self.time_field = CheckIn._meta.get_field("created_at")
        self.dates: dict[date, object] = {}
        self.times: dict[tuple[date, str], object] = {}

    def day(self, day: date) -> object:
        if day not in self.dates:
            self.dates[day] = self.date_field.get_db_prep_save(day, self.connection)
        return self.dates[day]

    def saved_at(self, day: date, zone: str) -> object:
        """When a check-in was saved: that evening, patient-local, never after now."""
        if (day, zone) not in self.times:
            moment = min(datetime.combine(day, EVENING_CHECKIN, tzinfo=ZoneInfo(zone)), self.now)
            self.times[day, zone] = self.time_field.get_db_prep_save(moment, self.connection)
        return self.times[day, zone]


@dataclass(frozen=True)
class _PatientLogs:
    patient: DemoPatient
    logs: list[_DayLog]


def _patients_without_history(clinic: Clinic) -> list[DemoPatient]:
    """Demo patients with a plan and not a single check-in (seeded or their own)."""
    has_checkins = Exists(CheckIn.objects.filter(patient=OuterRef("pk")))
    rows = (
        Patient.objects.filter(clinic=clinic, user__email__endswith="@demo.test",
                               care_plan__isnull=False)
        .exclude(has_checkins)
        .order_by("pk").values_list("pk", "user__email", "timezone", "dermatologist_id")
    )
    return [DemoPatient(pk, _patient_number(pk, email), zone, derm_id)
            for pk, email, zone, derm_id in rows]


def _revision_steps(plans: dict[int, tuple[int, date]]) -> dict[int, list[_RevisionSteps]]:
    """Plan id -> its revisions, by effective date then number, each with its items."""
    starts_on = dict(plans.values())
    revisions = list(PlanRevision.objects.filter(plan_id__in=starts_on)
                     .order_by("effective_from", "number")
                     .values_list("pk", "plan_id", "effective_from"))
    items: dict[int, list[PlanItem]] = {}
    for item in PlanItem.objects.filter(revision_id__in=[pk for pk, _, _ in revisions]):
        items.setdefault(item.revision_id, []).append(item)
    connection = connections[router.db_for_write(StepLog)]
    key_field = PlanItem._meta.get_field("key")
    keys = {item.pk: key_field.get_db_prep_save(item.key, connection)
            for revision_items in items.values() for item in revision_items}
    by_plan: dict[int, list[_RevisionSteps]] = {}
    for pk, plan_id, effective_from in revisions:
        by_plan.setdefault(plan_id, []).append(
            _RevisionSteps(pk, effective_from, items.get(pk, []), starts_on[plan_id], keys)
        )
    return by_plan


def _patient_plans(patients: list[DemoPatient]) -> list[_PatientPlan]:
    plans = {patient_id: (plan_id, starts_on) for patient_id, plan_id, starts_on in
             CarePlan.objects.filter(patient_id__in=[p.pk for p in patients])
             .values_list("patient_id", "pk", "starts_on")}
    revisions = _revision_steps(plans)
    return [
        _PatientPlan(patient, plans[patient.pk][1], tuple(revisions.get(plans[patient.pk][0], [])))
        for patient in patients if patient.pk in plans
    ]


def _history_days(plan: _PatientPlan, days: int, now: datetime) -> list[date]:
    """The last ``days`` days up to the patient's yesterday, from the plan start at the earliest.

    Cohort patients have logged today too once it is evening where they live; patient@demo.test
    never has, so the demo can show today's check-in.
    """
    local_now = now.astimezone(ZoneInfo(plan.patient.timezone))
    logged_today = plan.patient.number != 0 and local_now.time() >= EVENING_CHECKIN
    last = local_now.date() - timedelta(days=0 if logged_today else 1)
    first = max(plan.starts_on, last - timedelta(days=days - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _checkin_rows(histories: list[_PatientLogs], values: _DbValues) -> list[tuple]:
    return [
        (history.patient.pk, values.day(log.day), log.revision_id, len(log.answers),
         log.steps_done, log.satisfaction, log.itch, log.side_effect, log.side_effect_item_id,
         log.side_effect_text, log.note, log.partnership_question, log.partnership, saved, saved)
        for history in histories for log in history.logs
        for saved in [values.saved_at(log.day, history.patient.timezone)]
    ]


def _checkin_ids(histories: list[_PatientLogs]) -> dict[tuple[int, date], int]:
    rows = CheckIn.objects.filter(patient_id__in=[h.patient.pk for h in histories])
    return {(patient_id, day): pk
            for patient_id, day, pk in rows.values_list("patient_id", "local_date", "pk")}


def _step_rows(histories: list[_PatientLogs], ids: dict[tuple[int, date], int]) -> list[tuple]:
    return [
        (ids[history.patient.pk, log.day], step.item_id, step.key, step.slot, done, reason)
        for history in histories for log in history.logs for step, done, reason in log.answers
    ]


def _pulse_rows(
    histories: list[_PatientLogs], ids: dict[tuple[int, date], int], values: _DbValues
) -> list[tuple]:
    return [
        (ids[history.patient.pk, log.day], history.patient.pk, values.day(log.day), *log.pulse,
         sum(log.pulse))
        for history in histories for log in history.logs if log.pulse is not None
    ]


def _attention_rows(
    histories: list[_PatientLogs], ids: dict[tuple[int, date], int], values: _DbValues
) -> list[tuple]:
    """A pending request (``processed_at`` NULL) per severe side effect, as a check-in leaves
    one: the periodic sweep hands it on, so nothing is lost."""
    return [
        (history.patient.pk, ids[history.patient.pk, log.day],
         AttentionRequest.Kind.SEVERE_SIDE_EFFECT,
         values.saved_at(log.day, history.patient.timezone), None)
        for history in histories for log in history.logs
        if log.side_effect == SideEffect.SEVERE
    ]


def _seed_history_chunk(
    patients: list[DemoPatient], days: int, pulse_interval: int, values: _DbValues
) -> int:
    histories = [
        _PatientLogs(plan.patient, _Timeline(
            plan, _history_days(plan, days, values.now), pulse_interval
        ).logs())
        for plan in _patient_plans(patients)
    ]
    _load(CheckIn, CHECKIN_COLUMNS, _checkin_rows(histories, values))
    ids = _checkin_ids(histories)
    _load(StepLog, STEP_COLUMNS, _step_rows(histories, ids))
    _load(AlliancePulse, PULSE_COLUMNS, _pulse_rows(histories, ids, values))
    _load(AttentionRequest, ATTENTION_COLUMNS, _attention_rows(histories, ids, values))
    return sum(len(history.logs) for history in histories)


@dataclass(frozen=True)
class HistorySummary:
    patients: int  # patients who got a history
    checkins: int


def seed_history(
    *, clinic: Clinic, now: datetime, days: int = HISTORY_DAYS, progress: Progress | None = None
) -> HistorySummary:
    """Give every demo patient with a plan and no check-in yet up to ``days`` days of daily
    check-ins up to ``now`` (never before the plan starts), in bulk, 500 patients per
    transaction."""
    patients = _patients_without_history(clinic) if days > 0 else []
    values = _DbValues(now)
    done = checkins = 0
    with _cyclic_gc_paused(), _sqlite_page_cache(SQLITE_LOAD_CACHE_KIB):
        for start in range(0, len(patients), HISTORY_CHUNK):
            chunk = patients[start:start + HISTORY_CHUNK]
            with transaction.atomic():
                _commit_without_waiting_for_disk()
                checkins += _seed_history_chunk(chunk, days, clinic.pulse_interval_days, values)
            done += len(chunk)
            if progress:
                progress(done, len(patients))
    return HistorySummary(patients=done, checkins=checkins)


def _commit_without_waiting_for_disk() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to be flushed (a third
    of the load time for a large cohort). A crash could lose the last chunks, never part of
    one, and re-running the seed adds them again."""
    database = _database(CheckIn)
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The history builds millions of small objects without cycles: collecting cycles meanwhile
    only costs time (a quarter of it). Reference counting still frees each chunk."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _sqlite_page_cache(kib: int) -> Iterator[None]:
    """A larger SQLite page cache while loading: every step log updates indexes all over."""
    database = _database(CheckIn)
    if database.vendor != "sqlite":
        yield
        return
    with database.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-kib:d}")
    try:
        yield
    finally:
        with database.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous):d}")


def seed_demo(
    *, now: datetime, patients: int = 32, days: int = HISTORY_DAYS,
    progress: Progress | None = None, plan_progress: Progress | None = None,
    history_progress: Progress | None = None, flags: bool = True,
) -> DemoSummary:
    """The demo clinic as it stands at ``now``: plans, history and flags all end there."""
    password_hash = make_password(DEMO_PASSWORD)
    clinic, derm, _staff = seed_core(password_hash)
    created = seed_cohort(
        clinic=clinic, dermatologist=derm, patients=patients,
        password_hash=password_hash, progress=progress,
    )
    plans = seed_plans(clinic=clinic, replier=derm, now=now, progress=plan_progress)
    history = seed_history(clinic=clinic, now=now, days=days, progress=history_progress)
    return DemoSummary(
        clinic=clinic, created_patients=created,
        total_patients=Patient.objects.filter(clinic=clinic).count(), created_plans=plans,
        history_patients=history.patients, created_checkins=history.checkins,
        opened_flags=seed_flags(clinic, now=now) if flags else 0,
    )


def seed_flags(clinic: Clinic, *, now: datetime) -> int:
    """Flags for the seeded history, as production would have them by now: the severe side
    effects the check-ins asked attention for, then a sweep of every rule. Idempotent."""
    from checkins.services import attention_dispatch_one
    from flags.models import Flag
    from flags.sweep import sweep

    before = Flag.objects.filter(clinic=clinic).count()
    pending = AttentionRequest.objects.filter(
        patient__clinic=clinic, processed_at__isnull=True).values_list("pk", flat=True)
    for request_id in list(pending):
        attention_dispatch_one(request_id=request_id, now=now)
    sweep(now=now, clinic_ids=[clinic.pk])
    return Flag.objects.filter(clinic=clinic).count() - before
