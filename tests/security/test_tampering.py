"""Tampered request bodies (issue #7, tests 2 and 3).

2. Another patient's ids in a POST body affect nothing of theirs: a check-in naming patient B
   and B's steps, a concern naming B's item, a plan change for patient A carrying B's ids, a flag
   action carrying another flag's id. B's rows are compared value by value before and after.
3. Extra fields (``is_staff``, ``is_superuser``, ``clinic``, ``patient``, ``dermatologist``,
   ``state``, ``resolved_by``, ``assigned_to`` of another clinic, ``user``...) posted to every
   writing form of the portal are ignored: the form still saves what it owns, and nobody becomes
   staff, no patient changes clinic or dermatologist, no flag jumps state or changes hands.

Patients A and B are both patients of ``derm``'s clinic, each with a plan in effect for 30 days
(a cleanser morning and evening, a retinoid in the evening), an open concern and an open flag.

The helpers at the top (``routine_for``, ``checkin_body``, ``database_rows``...) are shared with
``test_csrf.py`` and ``test_bad_input.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.tokens import default_token_generator
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ClinicMembership, Patient, User
from accounts.services import patient_invite
from careplans.models import (
    CarePlan,
    Concern,
    PatientProfile,
    PlanItem,
    PlanRevision,
)
from careplans.selectors import profile_for
from careplans.services import concern_raise
from checkins.models import AlliancePulse, AttentionRequest, CheckIn, StepLog
from checkins.services import StepAnswer, Wellbeing, checkin_submit
from flags.models import Flag, FlagEvent, Outreach, State
from reminders.models import Delivery, ReminderSettings
from tests.factories import (
    PASSWORD,
    FlagFactory,
    PatientFactory,
    backdated_revision,
    item_draft,
)

pytestmark = pytest.mark.django_db


# --- Shared helpers ---------------------------------------------------------------------------

def routine_for(patient: Patient, derm: User) -> PlanRevision:
    """A plan in effect for 30 days: cleanser morning + evening, retinoid evening (3 steps)."""
    return backdated_revision(
        patient, author=derm, number=1,
        effective_from=patient.local_today() - timedelta(days=30),
        items=[
            item_draft(name="Gentle cleanser", kind="skincare", time_of_day="both", position=1),
            item_draft(name="Adapalene 0.1% gel", position=2),
        ],
    )


def checkin_body(patient: Patient, revision: PlanRevision, **overrides: Any) -> dict[str, Any]:
    """A valid full check-in for today (retinoid skipped for side effects, mild dryness)."""
    cleanser = revision.items.get(name="Gentle cleanser")
    retinoid = revision.items.get(name="Adapalene 0.1% gel")
    data = {
        "local_date": patient.local_today().isoformat(),
        f"step_{cleanser.pk}_morning": "done", f"step_{cleanser.pk}_evening": "done",
        f"step_{retinoid.pk}_evening": "skipped", f"reason_{retinoid.pk}_evening": "side_effects",
        "satisfaction": "4", "itch": "3", "side_effect": "mild",
        "side_effect_item": str(retinoid.pk), "side_effect_text": "Dry patches", "note": "",
    }
    data.update(overrides)
    return data


PROFILE = {
    "what_matters": "Clear skin before the summer", "daily_pattern": "shift_work",
    "morning_minutes": "5", "evening_minutes": "15", "lifestyle_notes": "Night shifts",
    "monthly_budget": "25.00", "currency": "GBP", "preference_notes": "",
    "timezone": "Europe/London",
}

PLAN_ITEM = {
    "key": "", "position": "1", "kind": "topical", "name": "Azelaic acid 15% gel",
    "instructions": "Thin layer", "time_of_day": "evening", "frequency": "daily",
    "every_n_days": "", "ramp_every_n_days": "", "ramp_days": "", "minutes": "2",
    "monthly_cost": "12.50",
}


def plan_body(patient: Patient, items: list[dict] | None = None, *, base_number: int = 1,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plan editor's POST: management form, meta fields and one row per item."""
    items = [PLAN_ITEM] if items is None else items
    data: dict[str, Any] = {
        "items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000",
        "base_number": str(base_number), "reason": "Gentler on your skin", "action": "save",
        "reviews_on": (patient.local_today() + timedelta(weeks=12)).isoformat(),
    }
    for index, item in enumerate(items):
        data.update({f"items-{index}-{k}": v for k, v in item.items()})
    data.update(extra or {})
    return data


def prefixed(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}-{key}": value for key, value in data.items()}


# Tables whose rows a refused request may legitimately write: the session store, and the audit
# trail (views audit every attempt on a patient's record, allowed or not).
VOLATILE = frozenset({"sessions.Session"})
AUDIT = frozenset({"accounts.AuditEvent"})


def database_rows(*, skip: frozenset[str] = VOLATILE) -> dict[str, list[dict]]:
    """Every row of every table, by model label: compare two of them to prove nothing changed."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.label not in skip
    }


def changed_tables(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> list[str]:
    return sorted(label for label in before if before[label] != after.get(label))


def rows_of(patient: Patient) -> dict[str, list[dict]]:
    """Everything that belongs to one patient, value by value."""
    def rows(queryset) -> list[dict]:
        return list(queryset.order_by("pk").values())

    return {
        "patient": rows(Patient.objects.filter(pk=patient.pk)),
        "user": rows(User.objects.filter(pk=patient.user_id)),
        "checkins": rows(CheckIn.objects.filter(patient=patient)),
        "step_logs": rows(StepLog.objects.filter(checkin__patient=patient)),
        "pulses": rows(AlliancePulse.objects.filter(patient=patient)),
        "attention": rows(AttentionRequest.objects.filter(patient=patient)),
        "concerns": rows(Concern.objects.filter(patient=patient)),
        "plan": rows(CarePlan.objects.filter(patient=patient)),
        "revisions": rows(PlanRevision.objects.filter(plan__patient=patient)),
        "items": rows(PlanItem.objects.filter(revision__plan__patient=patient)),
        "profile": rows(PatientProfile.objects.filter(patient=patient)),
        "preferences": rows(PatientProfile.preferences.through.objects.filter(
            patientprofile__patient=patient)),
        "reminders": rows(ReminderSettings.objects.filter(patient=patient)),
        "deliveries": rows(Delivery.objects.filter(patient=patient)),
        "flags": rows(Flag.objects.filter(patient=patient)),
        "flag_events": rows(FlagEvent.objects.filter(flag__patient=patient)),
        "outreach": rows(Outreach.objects.filter(patient=patient)),
    }


@dataclass
class World:
    clinic: Any
    other_clinic: Any
    derm: User
    staff: User
    other_derm: User
    other_staff: User
    a: Patient
    b: Patient
    outsider: Patient  # a patient of the other clinic
    plan_a: PlanRevision
    plan_b: PlanRevision
    concern_a: Concern
    concern_b: Concern
    flag_a: Flag
    flag_b: Flag
    flag_other: Flag
    # Set by the suites that need them.
    invited: Patient | None = None  # an invited patient who has not set a password yet
    admin: User | None = None  # a clinic administrator (the Django admin)
    new_patient: Patient | None = None  # a patient without a plan
    foreign_preference: Any = None  # a preference offered only by the other clinic

    def item(self, revision: PlanRevision, name: str = "Adapalene 0.1% gel") -> PlanItem:
        return revision.items.get(name=name)


def build_world(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
                patient_b) -> World:
    plan_a, plan_b = routine_for(patient_a, derm), routine_for(patient_b, derm)
    outsider = PatientFactory(dermatologist=other_derm)
    routine_for(outsider, other_derm)
    for patient in (patient_a, patient_b, outsider):
        profile_for(patient)  # pages create it on first read; make it exist up front
    retinoid_a = plan_a.items.get(name="Adapalene 0.1% gel")
    retinoid_b = plan_b.items.get(name="Adapalene 0.1% gel")
    return World(
        clinic=clinic, other_clinic=other_clinic, derm=derm, staff=staff,
        other_derm=other_derm, other_staff=other_staff, a=patient_a, b=patient_b,
        outsider=outsider, plan_a=plan_a, plan_b=plan_b,
        concern_a=concern_raise(patient=patient_a, revision=plan_a, item=retinoid_a,
                                category="irritating", text="It stings"),
        concern_b=concern_raise(patient=patient_b, revision=plan_b, item=retinoid_b,
                                category="too_expensive", text="Too dear"),
        flag_a=FlagFactory(patient=patient_a), flag_b=FlagFactory(patient=patient_b),
        flag_other=FlagFactory(patient=outsider),
    )


@pytest.fixture
def world(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
          patient_b, now) -> World:
    """Two patients of one clinic and one of another, the clock held at ``now``."""
    return build_world(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
                       patient_b)


def b_checks_in(world: World, now: datetime) -> CheckIn:
    """Patient B's own check-in for today (with a pulse), so there is something of B's to hit."""
    cleanser = world.item(world.plan_b, "Gentle cleanser")
    retinoid = world.item(world.plan_b)
    return checkin_submit(
        patient=world.b, local_date=world.b.local_date(now), now=now,
        answers=[StepAnswer(cleanser.pk, "morning", True), StepAnswer(cleanser.pk, "evening", True),
                 StepAnswer(retinoid.pk, "evening", False, "forgot")],
        wellbeing=Wellbeing(satisfaction=5, itch=1, note="B's own note"),
        pulse={"heard": 9, "shared_goals": 9, "fits_life": 8, "safe_to_raise": 9},
    )


def b_step_fields(world: World) -> dict[str, str]:
    cleanser = world.item(world.plan_b, "Gentle cleanser")
    retinoid = world.item(world.plan_b)
    return {f"step_{cleanser.pk}_morning": "skipped", f"reason_{cleanser.pk}_morning": "forgot",
            f"step_{cleanser.pk}_evening": "skipped", f"reason_{cleanser.pk}_evening": "forgot",
            f"step_{retinoid.pk}_evening": "skipped", f"reason_{retinoid.pk}_evening": "forgot"}


def a_step_fields(world: World) -> dict[str, str]:
    body = checkin_body(world.a, world.plan_a)
    return {k: v for k, v in body.items() if k.startswith(("step_", "reason_"))}


def b_ids(world: World) -> dict[str, Any]:
    """Every way a body could name patient B or one of B's objects."""
    checkin = CheckIn.objects.filter(patient=world.b).first()
    return {
        "patient": world.b.pk, "patient_id": world.b.pk, "user": world.b.user_id,
        "user_id": world.b.user_id, "checkin": checkin.pk if checkin else "",
        "checkin_id": checkin.pk if checkin else "", "item": world.item(world.plan_b).pk,
        "item_key": world.item(world.plan_b).key, "revision": world.plan_b.pk,
        "raised_on_revision": world.plan_b.pk, "concern": world.concern_b.pk,
        "concern_id": world.concern_b.pk, "flag": world.flag_b.pk, "flag_id": world.flag_b.pk,
        "plan": world.plan_b.plan_id,
    }


# --- 2. Another patient's ids in the body -----------------------------------------------------

CHECKIN_TAMPERING = {
    # id: (how the body is built, whether patient A's check-in is saved)
    "one-tap with patient=B": (
        lambda w: {"all_done": "1", "local_date": w.a.local_today().isoformat(), **b_ids(w)},
        True),
    "full form plus B's steps and ids": (
        lambda w: {**checkin_body(w.a, w.plan_a), **b_step_fields(w), **b_ids(w)}, True),
    "B's steps instead of A's": (
        lambda w: {**{k: v for k, v in checkin_body(w.a, w.plan_a).items()
                      if not k.startswith(("step_", "reason_"))}, **b_step_fields(w)},
        False),
    "side effect on B's item": (
        lambda w: checkin_body(w.a, w.plan_a, side_effect_item=str(w.item(w.plan_b).pk)),
        False),
}


@pytest.mark.parametrize("case", CHECKIN_TAMPERING, ids=list(CHECKIN_TAMPERING))
def test_a_check_in_naming_patient_b_changes_nothing_of_b(client, world, case, now):
    # given: B has checked in today; A is signed in
    build, a_saved = CHECKIN_TAMPERING[case]
    b_checks_in(world, now)
    before = rows_of(world.b)
    client.force_login(world.a.user)
    # when
    response = client.post(reverse("today"), build(world))
    # then
    assert rows_of(world.b) == before
    checkins = list(CheckIn.objects.filter(patient=world.a))
    if a_saved:
        assert response.status_code == 302
        assert [c.steps_due for c in checkins] == [3]
        own_items = set(world.plan_a.items.values_list("pk", flat=True))
        assert set(StepLog.objects.filter(checkin__patient=world.a)
                   .values_list("item_id", flat=True)) <= own_items
    else:
        assert response.status_code in (200, 400)
        assert response.context["form"].errors
        assert checkins == []


def test_a_concern_naming_patient_bs_item_changes_nothing_of_b(client, world):
    # given
    before = rows_of(world.b)
    client.force_login(world.a.user)
    own_item = world.item(world.plan_a, "Gentle cleanser")
    # when: B's item in the URL, then A's item in the URL with B's ids in the body
    foreign = client.post(reverse("raise_concern", args=[world.item(world.plan_b).key]),
                          {"category": "unclear", "text": "Which one?"})
    tampered = client.post(reverse("raise_concern", args=[own_item.key]), {
        "category": "unclear", "text": "Morning or evening?", **b_ids(world),
        "status": "resolved", "reply": "Forged answer", "replied_by": world.derm.pk,
    })
    # then
    assert foreign.status_code == 404
    assert tampered.status_code == 302
    assert rows_of(world.b) == before
    concern = Concern.objects.filter(patient=world.a).latest("pk")
    assert (concern.item_key, concern.raised_on_revision_id, concern.status, concern.reply,
            concern.replied_by_id) == (own_item.key, world.plan_a.pk, "open", "", None)


PLAN_TAMPERING = {
    # id: (body for patient A's editor, whether A's new revision is saved)
    "patient=B and B's plan ids": (lambda w: plan_body(w.a, extra=b_ids(w)), True),
    "an item carrying B's item key": (
        lambda w: plan_body(w.a, [{**PLAN_ITEM, "key": str(w.item(w.plan_b).key)}]), True),
    "resolving B's concern": (
        lambda w: plan_body(w.a, extra={"resolve_concerns": [str(w.concern_b.pk)]}), False),
    "resolving A's and B's concerns": (
        lambda w: plan_body(w.a, extra={
            "resolve_concerns": [str(w.concern_a.pk), str(w.concern_b.pk)]}),
        False),
}


@pytest.mark.parametrize("case", PLAN_TAMPERING, ids=list(PLAN_TAMPERING))
def test_a_plan_change_for_a_carrying_bs_ids_changes_nothing_of_b(client, world, case):
    # given
    build, a_saved = PLAN_TAMPERING[case]
    before = rows_of(world.b)
    client.force_login(world.derm)
    # when
    response = client.post(reverse("plan_edit", args=[world.a.pk]), build(world))
    # then
    assert rows_of(world.b) == before
    numbers = list(PlanRevision.objects.filter(plan__patient=world.a).values_list(
        "number", flat=True))
    if a_saved:
        assert response.status_code == 302
        assert numbers == [1, 2]
    else:
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
        assert numbers == [1]
        assert Concern.objects.get(pk=world.concern_a.pk).status == "open"


def test_resolving_bs_concern_from_as_editor_is_ignored_when_a_has_none_open(client, world):
    # given: A has no open concern, so the editor offers none (the field is absent)
    Concern.objects.filter(pk=world.concern_a.pk).update(status="resolved")
    before = rows_of(world.b)
    client.force_login(world.derm)
    # when
    response = client.post(reverse("plan_edit", args=[world.a.pk]),
                           plan_body(world.a, extra={
                               "resolve_concerns": [str(world.concern_b.pk)]}))
    # then
    assert response.status_code == 302
    assert rows_of(world.b) == before


def test_a_concern_reply_and_profile_edit_for_a_carrying_bs_ids_change_nothing_of_b(
    client, world
):
    # given
    before = rows_of(world.b)
    client.force_login(world.derm)
    # when
    foreign = client.post(reverse("concern_reply", args=[world.a.pk, world.concern_b.pk]),
                          {"reply": "Wrong patient"})
    reply = client.post(reverse("concern_reply", args=[world.a.pk, world.concern_a.pk]),
                        {"reply": "Use it every other night.", **b_ids(world)})
    profile = client.post(reverse("patient_profile_edit", args=[world.a.pk]),
                          {**PROFILE, **b_ids(world)})
    # then
    assert foreign.status_code == 404
    assert (reply.status_code, profile.status_code) == (302, 302)
    assert rows_of(world.b) == before
    assert Concern.objects.get(pk=world.concern_a.pk).reply == "Use it every other night."
    assert PatientProfile.objects.get(patient=world.a).what_matters == PROFILE["what_matters"]


FLAG_ACTIONS = {
    "acknowledge": ({"assignee": "{staff}"}, State.ACKNOWLEDGED),
    "outreach": ({"channel": "call", "outcome": "reached", "note": "Called",
                  "message_to_patient": ""}, State.ACKNOWLEDGED),
    "escalate": ({"note": "Please review"}, State.NEW),
    "resolve": ({"resolution": "supported", "note": "Talked it through"}, State.RESOLVED),
}


def flag_action_body(world: World, action: str) -> dict[str, Any]:
    data, _ = FLAG_ACTIONS[action]
    return prefixed(action, {k: (world.staff.pk if v == "{staff}" else v)
                             for k, v in data.items()})


@pytest.mark.parametrize("action", FLAG_ACTIONS)
def test_a_flag_action_carrying_another_flags_id_changes_only_its_own_flag(client, world, action):
    # given
    others = {pk: rows for pk, rows in (
        (world.flag_b.pk, rows_of(world.b)), (world.flag_other.pk, rows_of(world.outsider)))}
    client.force_login(world.staff)
    foreign_ids = {"flag": world.flag_b.pk, "flag_id": world.flag_b.pk, "id": world.flag_b.pk,
                   "pk": world.flag_b.pk, "patient": world.b.pk}
    body = {**flag_action_body(world, action), **foreign_ids, **prefixed(action, foreign_ids),
            **prefixed(action, {"flag": world.flag_other.pk})}
    # when
    response = client.post(reverse(f"flag_{action}", args=[world.flag_a.pk]), body)
    # then
    assert response.status_code == 302
    assert rows_of(world.b) == others[world.flag_b.pk]
    assert rows_of(world.outsider) == others[world.flag_other.pk]
    world.flag_a.refresh_from_db()
    assert world.flag_a.state == FLAG_ACTIONS[action][1]
    assert world.flag_a.events.exists()


# --- 3. Extra fields are ignored by every writing form ------------------------------------------

def extra_fields(world: World, prefix: str = "") -> dict[str, Any]:
    """Fields no form of the portal offers, each pointing somewhere it must not."""
    extras = {
        "is_staff": "on", "is_superuser": "on", "is_active": "on", "clinic": world.other_clinic.pk,
        "clinic_id": world.other_clinic.pk, "patient": world.b.pk, "patient_id": world.b.pk,
        "dermatologist": world.other_derm.pk, "dermatologist_id": world.other_derm.pk,
        "state": State.RESOLVED, "resolved_by": world.other_derm.pk,
        "resolution": "not_a_concern", "assigned_to": world.other_staff.pk,
        "assigned_to_id": world.other_staff.pk, "escalated_at": "2000-01-01T00:00:00Z",
        "user": world.other_derm.pk, "role": "dermatologist", "groups": "1",
        "user_permissions": "1", "session_epoch": "99", "status": "resolved",
        "invited_by": world.other_derm.pk,
    }
    return {**extras, **(prefixed(prefix, extras) if prefix else {})}


@dataclass(frozen=True)
class WriteCase:
    actor: str  # a World attribute (a user or a patient), or "" for anonymous
    url: Callable[[World], str]
    body: Callable[[World], dict[str, Any]]
    wrote: Callable[[World], bool]  # proof that the form saved what it owns
    prefix: str = ""
    flag_a_state: str = State.NEW
    new_patients: int = 0


def _invitee(world: World) -> tuple[str, str]:
    """An invited patient (no password yet) and their set-password link's parts."""
    if world.invited is None:
        world.invited = patient_invite(
            invited_by=world.derm, clinic=world.clinic, email="invitee@example.test",
            first_name="Ina", last_name="Vitee", timezone_name="Europe/London")
    user = world.invited.user
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


WRITING_FORMS: dict[str, WriteCase] = {
    "today (full form)": WriteCase(
        "a", lambda w: reverse("today"), lambda w: checkin_body(w.a, w.plan_a),
        lambda w: CheckIn.objects.filter(patient=w.a, satisfaction=4).exists()),
    "today (one tap)": WriteCase(
        "a", lambda w: reverse("today"),
        lambda w: {"all_done": "1", "local_date": w.a.local_today().isoformat()},
        lambda w: CheckIn.objects.filter(patient=w.a, steps_done=3).exists()),
    "raise_concern": WriteCase(
        "a", lambda w: reverse("raise_concern", args=[w.item(w.plan_a).key]),
        lambda w: {"category": "no_time", "text": "Evenings are busy"},
        lambda w: Concern.objects.filter(patient=w.a, category="no_time", status="open",
                                         reply="").exists()),
    "my_profile": WriteCase(
        "a", lambda w: reverse("my_profile"), lambda w: PROFILE,
        lambda w: PatientProfile.objects.filter(patient=w.a, daily_pattern="shift_work").exists()),
    "reminder_settings": WriteCase(
        "a", lambda w: reverse("reminder_settings"),
        lambda w: {"enabled": "on", "local_time": "07:45", "weekdays": ["0", "2"],
                   "channel": "email", "timezone": "Pacific/Auckland"},
        lambda w: ReminderSettings.objects.filter(patient=w.a, weekdays="02").exists()
        and Patient.objects.get(pk=w.a.pk).timezone == "Europe/London"),
    "patient_invite": WriteCase(
        "derm", lambda w: reverse("patient_invite"),
        lambda w: {"first_name": "Rina", "last_name": "Patel", "email": "rina@example.test",
                   "timezone": "Europe/London"},
        lambda w: Patient.objects.filter(
            user__email="rina@example.test", clinic=w.clinic, dermatologist=w.derm,
            user__is_staff=False, user__is_superuser=False).exists(),
        new_patients=1),
    "plan_edit": WriteCase(
        "derm", lambda w: reverse("plan_edit", args=[w.a.pk]), lambda w: plan_body(w.a),
        lambda w: PlanRevision.objects.filter(plan__patient=w.a, number=2,
                                              author=w.derm).exists()),
    "patient_profile_edit": WriteCase(
        "derm", lambda w: reverse("patient_profile_edit", args=[w.a.pk]), lambda w: PROFILE,
        lambda w: PatientProfile.objects.filter(patient=w.a, daily_pattern="shift_work").exists()),
    "concern_reply": WriteCase(
        "derm", lambda w: reverse("concern_reply", args=[w.a.pk, w.concern_a.pk]),
        lambda w: {"reply": "Try it every other night."},
        lambda w: Concern.objects.filter(pk=w.concern_a.pk, replied_by=w.derm,
                                         status="answered").exists()),
    "flag_acknowledge": WriteCase(
        "staff", lambda w: reverse("flag_acknowledge", args=[w.flag_a.pk]),
        lambda w: flag_action_body(w, "acknowledge"),
        lambda w: Flag.objects.filter(pk=w.flag_a.pk, assigned_to=w.staff).exists(),
        prefix="acknowledge", flag_a_state=State.ACKNOWLEDGED),
    "flag_outreach": WriteCase(
        "staff", lambda w: reverse("flag_outreach", args=[w.flag_a.pk]),
        lambda w: flag_action_body(w, "outreach"),
        lambda w: Outreach.objects.filter(flag=w.flag_a, by=w.staff, patient=w.a).exists(),
        prefix="outreach", flag_a_state=State.ACKNOWLEDGED),
    "flag_escalate": WriteCase(
        "staff", lambda w: reverse("flag_escalate", args=[w.flag_a.pk]),
        lambda w: flag_action_body(w, "escalate"),
        lambda w: Flag.objects.filter(pk=w.flag_a.pk, escalated_at__isnull=False).exists(),
        prefix="escalate"),
    "flag_resolve": WriteCase(
        "staff", lambda w: reverse("flag_resolve", args=[w.flag_a.pk]),
        lambda w: flag_action_body(w, "resolve"),
        lambda w: Flag.objects.filter(pk=w.flag_a.pk, resolution="supported",
                                      resolved_by=w.staff).exists(),
        prefix="resolve", flag_a_state=State.RESOLVED),
    "invitation_accept": WriteCase(
        "", lambda w: reverse("invitation_accept", args=_invitee(w)),
        lambda w: {"new_password1": PASSWORD, "new_password2": PASSWORD},
        lambda w: User.objects.get(pk=w.invited.user_id).check_password(PASSWORD)),
}


def _accounts_state() -> dict[str, list]:
    return {
        "patients": list(Patient.objects.order_by("pk").values_list(
            "pk", "user_id", "clinic_id", "dermatologist_id", "is_active")),
        "memberships": list(ClinicMembership.objects.order_by("pk").values_list(
            "user_id", "clinic_id", "role")),
        "users": list(User.objects.order_by("pk").values_list(
            "pk", "is_active", "session_epoch")),
    }


@pytest.mark.parametrize("name", WRITING_FORMS)
def test_extra_fields_in_a_writing_form_are_ignored(client, world, name):
    # given
    case = WRITING_FORMS[name]
    url = case.url(world)  # before the snapshot: it may create the invitee
    accounts_before = _accounts_state()
    b_before, outsider_before = rows_of(world.b), rows_of(world.outsider)
    if case.actor:
        actor = getattr(world, case.actor)
        client.force_login(getattr(actor, "user", actor))
    # when
    response = client.post(url, {**extra_fields(world, case.prefix), **case.body(world)})
    # then: the form saved what it owns...
    assert response.status_code == 302, response.content.decode()[:2000]
    assert case.wrote(world)
    # ...and nothing else
    assert not User.objects.filter(Q(is_staff=True) | Q(is_superuser=True)).exists()
    assert not User.objects.filter(groups__isnull=False).exists()
    assert not User.objects.filter(user_permissions__isnull=False).exists()
    after = _accounts_state()
    assert after["memberships"] == accounts_before["memberships"]
    assert after["patients"][:len(accounts_before["patients"])] == accounts_before["patients"]
    assert len(after["patients"]) == len(accounts_before["patients"]) + case.new_patients
    assert after["users"][:len(accounts_before["users"])] == accounts_before["users"]
    assert rows_of(world.b) == b_before
    assert rows_of(world.outsider) == outsider_before
    flag = Flag.objects.get(pk=world.flag_a.pk)
    assert flag.state == case.flag_a_state
    assert flag.assigned_to_id in (None, world.staff.pk)
    assert flag.resolved_by_id in (None, world.staff.pk)
    assert flag.resolution in ("", "supported")
    assert Concern.objects.get(pk=world.concern_a.pk).status in ("open", "answered")
