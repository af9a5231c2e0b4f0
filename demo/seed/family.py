"""The demo family (issue 20): parent@demo.test, called "Mum", cares for two children with
atopic dermatitis in the demo clinic.

- Lily, 8, has no login of her own (``no_login_email``): her mum keeps her record whole (the
  child tier). Her plan: an emollient twice daily and, for the flare she came with,
  hydrocortisone 1% (a mild steroid, suited to a young child's skin) each evening; two weeks
  later the flare has settled and the hydrocortisone is kept for flares ("when needed").
- Ethan, 14, signs in as teen@demo.test and has said yes to his mum seeing his routine (the
  teen tier: plan, check-ins, reminders, messages not marked private; his photos and his
  record's access log stay his). His plan: an emollient twice daily with clobetasone butyrate
  0.05% (moderate) each evening for the flare, then tacrolimus 0.03% ointment (a calcineurin
  inhibitor, licensed from 2 years, for the face and neck) each evening to keep it away.

Both have four weeks of daily check-ins (a few days missed, the odd evening step forgotten),
saved through the check-in service as the page saves them: every one of Lily's by her mum,
most of Ethan's by his mum (``submitted_by``) and some by Ethan himself; the alliance pulse
whenever the check-in page asks it.

Runs after the cohort's plans and history (which pass over the family: the child's address is
not a demo address, and on a re-run both already have plans and check-ins) and before the
flags. Idempotent: the parent's links say whether the family exists; a re-run costs one query.
Prints nothing.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from accounts.models import CaregiverLink, Clinic, Patient, User, no_login_email
from accounts.services import caregiver_assent_answer
from careplans.models import Currency, DailyPattern, PatientProfile
from careplans.services import ItemDraft, plan_revise
from checkins.models import SkipReason
from checkins.selectors import day_schedule
from checkins.services import PULSE_FIELDS, StepAnswer, Wellbeing, checkin_submit, pulse_due
from demo.seed.people import _user

PARENT_EMAIL = "parent@demo.test"
TEEN_EMAIL = "teen@demo.test"
FAMILY_TIMEZONE = "Europe/London"
CHILD_AGE, TEEN_AGE = 8, 14
PLAN_WEEKS_AGO = 8  # the first revision (the demo's plans start 8-12 weeks back)
SETTLED_AFTER_WEEKS = 2  # the second revision, once the flare has settled
FAMILY_HISTORY_DAYS = 30  # four weeks and a bit: two alliance pulses
TEEN_LOGS_EVERY = 3  # every third check-in of Ethan's is his own


def _item(position: int, kind: str, name: str, instructions: str, time_of_day: str, *,
          frequency: str = "daily", minutes: int = 2, cost: str = "6.00") -> ItemDraft:
    return ItemDraft(
        key=None, position=position, kind=kind, name=name, instructions=instructions,
        time_of_day=time_of_day, frequency=frequency, weekdays="", every_n_days=None,
        ramp_every_n_days=None, ramp_days=None, minutes=minutes, monthly_cost=Decimal(cost),
        contains_fragrance=False, animal_derived=False, pregnancy_unsafe=False)


EMOLLIENT = ("skincare", "Emollient cream (fragrance-free)",
             "Smooth a generous amount over the whole body, in the direction the hair grows, "
             "after washing and before bed. Keep using it when the skin looks clear.")
CHILD_PLAN = (
    [_item(1, *EMOLLIENT, "both", minutes=5, cost="8.00"),
     _item(2, "topical", "Hydrocortisone 1% cream",
           "A thin layer on the red, itchy patches only, once a day in the evening, "
           "30 minutes after the emollient.", "evening", cost="3.50")],
    [_item(1, *EMOLLIENT, "both", minutes=5, cost="8.00"),
     _item(2, "topical", "Hydrocortisone 1% cream",
           "Only when a patch flares again: a thin layer once a day for up to 7 days, then "
           "stop. Tell us if you need it for more than a week.", "evening",
           frequency="as_needed", cost="3.50")],
)
TEEN_PLAN = (
    [_item(1, *EMOLLIENT, "both", minutes=4, cost="8.00"),
     _item(2, "topical", "Clobetasone butyrate 0.05% cream",
           "A thin layer on the flare on the arms and behind the knees, each evening for two "
           "weeks, after the emollient has soaked in.", "evening", cost="5.00")],
    [_item(1, *EMOLLIENT, "both", minutes=4, cost="8.00"),
     _item(2, "topical", "Tacrolimus 0.03% ointment",
           "A thin layer on the face and neck where the eczema keeps coming back, each "
           "evening. It may sting for the first few days; that settles.", "evening",
           cost="12.00")],
)


def seed_family(*, clinic: Clinic, dermatologist: User, password_hash: str, now: datetime,
                days: int) -> int:
    """The demo family as it stands at ``now``; returns how many children were new (0 on a
    re-run)."""
    if CaregiverLink.objects.filter(caregiver__email=PARENT_EMAIL).exists():
        return 0
    with transaction.atomic():
        parent = _user(PARENT_EMAIL, "Claire", "Bennett", password_hash, is_caregiver=True)
        today = now.astimezone(ZoneInfo(FAMILY_TIMEZONE)).date()
        child = _child(clinic, dermatologist, parent, first="Lily", email=no_login_email(),
                       age=CHILD_AGE, today=today, password_hash=None)
        teen = _child(clinic, dermatologist, parent, first="Ethan", email=TEEN_EMAIL,
                      age=TEEN_AGE, today=today, password_hash=password_hash)
        started = now - timedelta(weeks=PLAN_WEEKS_AGO)
        caregiver_assent_answer(link=teen.caregiver_links.get(caregiver=parent), given=True,
                                now=started)
        for patient, plan in ((child, CHILD_PLAN), (teen, TEEN_PLAN)):
            _plan(patient, dermatologist, plan, started=started, today=today)
            _history(patient, parent, now=now, today=today,
                     days=min(days, FAMILY_HISTORY_DAYS))
    return 2


def _child(clinic: Clinic, dermatologist: User, parent: User, *, first: str, email: str,
           age: int, today: date, password_hash: str | None) -> Patient:
    if password_hash is None:  # no login: no password, no sign-in address
        user = User.objects.create(email=email, first_name=first, last_name="Bennett")
        user.set_unusable_password()
        user.save(update_fields=["password"])
    else:
        user = _user(email, first, "Bennett", password_hash)
    born = today.replace(year=today.year - age, day=1) - timedelta(days=120)
    patient = Patient.objects.create(user=user, clinic=clinic, dermatologist=dermatologist,
                                     timezone=FAMILY_TIMEZONE, date_of_birth=born)
    CaregiverLink.objects.create(caregiver=parent, patient=patient, relationship="parent",
                                 called="Mum", invited_by=dermatologist,
                                 created_at=datetime.combine(
                                     today - timedelta(weeks=PLAN_WEEKS_AGO + 1), time(10),
                                     tzinfo=patient.zone))
    PatientProfile.objects.create(
        patient=patient, daily_pattern=DailyPattern.REGULAR, morning_minutes=10,
        evening_minutes=15, monthly_budget=Decimal("30.00"), currency=Currency.GBP,
        lifestyle_notes="School on weekdays; swimming on Saturdays.",
        what_matters="Sleeping through the night without scratching.")
    return patient


def _plan(patient: Patient, dermatologist: User, revisions: tuple[list[ItemDraft], ...], *,
          started: datetime, today: date) -> None:
    first = plan_revise(patient=patient, author=dermatologist, base_number=0,
                        items=revisions[0], reason="Eczema flare: settle it, then keep it away",
                        reviews_on=today + timedelta(weeks=3), now=started)
    emollient_key = first.items.get(position=1).key
    plan_revise(patient=patient, author=dermatologist, base_number=1,
                items=[replace(revisions[1][0], key=emollient_key), *revisions[1][1:]],
                reason="The flare has settled", reviews_on=today + timedelta(weeks=6),
                now=started + timedelta(weeks=SETTLED_AFTER_WEEKS))


def _history(patient: Patient, parent: User, *, now: datetime, today: date, days: int) -> None:
    """Daily check-ins from ``days`` days ago to yesterday: a missed day now and then (never
    the last ones), the odd evening step forgotten; the pulse whenever it is due."""
    rng = random.Random(f"family:{patient.user.first_name}")
    for index, back in enumerate(range(days, 0, -1)):
        day = today - timedelta(days=back)
        if back > 3 and rng.random() < 0.12:
            continue
        at = datetime.combine(day, time(20, 30), tzinfo=patient.zone)
        offered = [step for step in day_schedule(patient, day).offered
                   if step.slot != "as_needed"]
        answers = None
        if rng.random() < 0.2:
            answers = [StepAnswer(step.item.pk, step.slot, True) for step in offered]
            forgotten = max(range(len(answers)), key=lambda n: answers[n].slot == "evening")
            answers[forgotten] = replace(answers[forgotten], done=False,
                                         skip_reason=SkipReason.FORGOT)
        by_teen = patient.user.has_mailbox and index % TEEN_LOGS_EVERY == 2
        checkin_submit(
            patient=patient, local_date=day, answers=answers, now=at,
            wellbeing=Wellbeing(satisfaction=rng.randint(3, 5),
                                itch=max(1, 7 - index // 5 + rng.randint(-1, 1))),
            pulse=({field: rng.randint(7, 10) for field in PULSE_FIELDS}
                   if pulse_due(patient, day) else None),
            submitted_by=patient.user if by_teen else parent,
        )
