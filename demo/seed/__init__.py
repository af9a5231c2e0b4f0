"""Demo data: one clinic, its clinicians and patients, each patient with a profile and a care plan.

Idempotent: re-running adds nothing twice. Large cohorts (``--patients 10000``) use bulk inserts
and one shared password hash. Care plans come from four condition templates (acne, eczema,
rosacea, psoriasis) and carry back-dated revision history, starting 8-12 weeks before the
patient's today. They hold every schedule kind: daily, weekdays, every few days, a dupilumab
pen every 2 weeks with a 3-day late window, a monthly blood test on the 1st with a 5-day
window, 12-week doxycycline courses with an end date, and hydrocortisone "when needed".
Patients then get weeks of daily check-ins against the revision in effect each day, following a
few adherence patterns a clinic meets (steady, weekend gaps, a decline, falling satisfaction and
alliance, a severe side effect, a missed injection); a dated dose is logged once in its window,
an as-needed use uncounted. The next visit shows each state: patient@demo.test's plan is reviewed
tomorrow (the day-before reminder), one patient is overdue, one was seen 2 days ago (plan review
and pulse due), the others are reviewed 2-10 weeks out. Nothing here prints health data:
callers only get counts.

``seed_demo`` runs the stages in this order, one module each:

- ``people``: the clinic, its clinicians and administrator (two-step verification on),
  patient@demo.test and the synthetic cohort;
- ``catalogue``: the clinic's products and medicines and its four regimen templates;
- ``plans``: each patient's profile, back-dated care plan, revisions, concerns and recorded
  clinic visit, from the ``stories`` decided for them (over the condition templates of
  ``plan_templates``);
- ``history``: weeks of check-ins, step logs, pulses and attention requests, from each
  patient's ``timeline`` (drawn from their logging pattern in ``patterns``);
- ``family``: parent@demo.test caring for two children with atopic dermatitis, an 8-year-old
  without a login of her own and a 14-year-old (teen@demo.test) who agreed: plans, profiles
  and four weeks of check-ins mostly logged by their mum (after the cohort's history, which
  passes over them, and before the flags);
- ``flags``: the flags that history raises (every rule the sweep raises, the missed injection
  included, whatever the day it is seeded);
- ``photos``: the photo diary of two patients (consent, photo series of two areas each, their
  thumbnails and a dermatologist's note), for the Photos page and the compare view;
- ``messages``: conversations between a few patients and the care team in each state of the
  clinic inbox (waiting, assigned, answered, closed, with the dermatologist, a severe side
  effect, an answered outreach from a flag, a diary photo, a plan step) and reply templates.

``bulk`` holds the INSERT / COPY helpers the plan and history writes share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import make_password

from accounts.models import Clinic, Patient
from demo.seed.catalogue import seed_catalogue
from demo.seed.family import PARENT_EMAIL, TEEN_EMAIL, seed_family
from demo.seed.flags import seed_flags
from demo.seed.history import HISTORY_DAYS, seed_history
from demo.seed.messages import seed_messages
from demo.seed.people import (
    ADMIN_EMAIL,
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    DERM_EMAIL,
    PATIENT_EMAIL,
    STAFF_EMAIL,
    Progress,
    demo_totp_code,
    seed_cohort,
    seed_core,
)
from demo.seed.photos import seed_photos
from demo.seed.plans import seed_plans

__all__ = [
    "ADMIN_EMAIL", "DEMO_PASSWORD", "DEMO_TOTP_SECRET", "DERM_EMAIL", "HISTORY_DAYS",
    "PARENT_EMAIL", "PATIENT_EMAIL", "STAFF_EMAIL", "TEEN_EMAIL", "DemoSummary", "demo_totp_code",
    "seed_cohort", "seed_core", "seed_demo", "seed_family", "seed_flags", "seed_history",
    "seed_messages", "seed_photos", "seed_plans",
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
    catalogue_items: int = 0
    regimen_templates: int = 0
    created_photos: int = 0
    created_conversations: int = 0
    reply_templates: int = 0
    family_children: int = 0


def seed_demo(
    *, now: datetime, patients: int = 32, days: int = HISTORY_DAYS,
    progress: Progress | None = None, plan_progress: Progress | None = None,
    history_progress: Progress | None = None, flags: bool = True,
) -> DemoSummary:
    """The demo clinic as it stands at ``now``: plans, history and flags all end there."""
    password_hash = make_password(DEMO_PASSWORD)
    clinic, derm, _staff = seed_core(password_hash)
    catalogue = seed_catalogue(clinic)
    created = seed_cohort(
        clinic=clinic, dermatologist=derm, patients=patients,
        password_hash=password_hash, progress=progress,
    )
    plans = seed_plans(clinic=clinic, replier=derm, now=now, progress=plan_progress)
    history = seed_history(clinic=clinic, now=now, days=days, progress=history_progress)
    # After the cohort's plans and history (they pass over the family), before the flags.
    family_children = seed_family(clinic=clinic, dermatologist=derm, password_hash=password_hash,
                                  now=now, days=days)
    summary = DemoSummary(
        clinic=clinic, created_patients=created,
        total_patients=Patient.objects.filter(clinic=clinic).count(), created_plans=plans,
        history_patients=history.patients, created_checkins=history.checkins,
        opened_flags=seed_flags(clinic, now=now) if flags else 0,
        catalogue_items=catalogue["catalogue_items"],
        regimen_templates=catalogue["regimen_templates"],
        created_photos=seed_photos(clinic=clinic, now=now), family_children=family_children,
    )
    # After the flags (an outreach comes from one) and the photos (a message attaches one).
    summary.created_conversations, summary.reply_templates = seed_messages(
        clinic=clinic, now=now, flags=flags)
    return summary
