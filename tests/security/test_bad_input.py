"""Bad input on every form (issue #7, test 10): refused with a 400 or a form error, never a 500,
and no partial write.

Each table starts from a valid submission (the tampering suite's bodies) and changes one thing:
out of range, wrong type, huge text (100 KB), null characters, far-future/past or impossible
dates, unknown choices, foreign or overflowing ids. After each request every table is compared
row by row with its state before (sessions and the audit trail aside: views audit every attempt
on a record, refused or not).

The reminder settings form has no timezone (it is the patient's, edited on the profile form and
tested there); a timezone posted to the reminder form is ignored (test_tampering.py).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from careplans.models import Preference
from careplans.selectors import profile_for
from careplans.services import profile_update
from tests.factories import PatientFactory, push_subscription_json
from tests.security.test_tampering import (
    AUDIT,
    PLAN_ITEM,
    PROFILE,
    VOLATILE,
    World,
    build_world,
    changed_tables,
    checkin_body,
    database_rows,
    plan_body,
    prefixed,
)

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_000  # 100 KB
NUL = "bad\x00text"
FAR_FUTURE = "9999-12-31"
FAR_PAST = "0001-01-01"
NOT_A_DATE = "2026-02-30"
BIG_INT = "9" * 20  # beyond a 64-bit integer

Change = dict[str, Any] | Callable[[World], dict[str, Any]]


@pytest.fixture
def world(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
          patient_b) -> World:
    world = build_world(clinic, other_clinic, derm, staff, other_derm, other_staff, patient_a,
                        patient_b)
    world.foreign_preference = Preference.objects.create(
        key="hilltop-only", label="Hilltop's own preference", clinic=other_clinic)
    world.new_patient = PatientFactory(dermatologist=derm)  # no plan yet: the editor asks a start
    profile_for(world.new_patient)
    # A budget the plan changes below can exceed (a new profile has none, so nothing warns).
    profile_update(patient=world.a, actor=derm, data={"monthly_budget": Decimal("30")},
                   preferences=None)
    return world


def resolve(change: Change, world: World) -> dict[str, Any]:
    return change(world) if callable(change) else change


def _errors_in(value: Any) -> list[str]:
    """Error texts of the forms a page was rendered with (hidden fields' errors included)."""
    if isinstance(value, forms.BaseForm):
        return [value.errors.as_text()] if value.is_bound else []
    if isinstance(value, forms.BaseFormSet):
        if not value.is_bound:
            return []
        return [e.as_text() for e in value.errors] + [value.non_form_errors().as_text()]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _errors_in(item)]
    if is_dataclass(value) and not isinstance(value, type):
        return [text for f in fields(value) for text in _errors_in(getattr(value, f.name))]
    return []


def shown(response) -> str:
    """The page as the user reads it, plus the errors of the forms it was rendered with."""
    texts = [html.unescape(response.content.decode())]
    contexts = response.context if isinstance(response.context, list) else [response.context]
    for context in filter(None, contexts):
        for value in context.flatten().values():
            texts.extend(_errors_in(value))
    return "\n".join(texts)


def assert_refused(response, message: str, before: dict) -> None:
    assert response.status_code in (200, 400), response.status_code
    assert message in shown(response)
    assert changed_tables(before, database_rows(skip=VOLATILE | AUDIT)) == []


def snapshot() -> dict:
    return database_rows(skip=VOLATILE | AUDIT)


# --- Check-in (Today) -------------------------------------------------------------------------

def _step(world: World, name: str = "Adapalene 0.1% gel", slot: str = "evening") -> str:
    return f"{world.item(world.plan_a, name).pk}_{slot}"


CHECKIN: dict[str, tuple[Change, str]] = {
    "satisfaction out of range": ({"satisfaction": "7"}, "Select a valid choice"),
    "satisfaction wrong type": ({"satisfaction": "great"}, "Select a valid choice"),
    "itch above 10": ({"itch": "11"}, "less than or equal to 10"),
    "itch negative": ({"itch": "-1"}, "greater than or equal to 0"),
    "itch wrong type": ({"itch": "lots"}, "Enter a whole number"),
    "itch overflowing": ({"itch": BIG_INT}, "less than or equal to 10"),
    "side effect unknown": ({"side_effect": "catastrophic"}, "Select a valid choice"),
    "side effect item of patient B": (
        lambda w: {"side_effect_item": str(w.item(w.plan_b).pk)}, "Select a valid choice"),
    "side effect item wrong type": ({"side_effect_item": "abc"}, "Select a valid choice"),
    "side effect item overflowing": ({"side_effect_item": BIG_INT}, "Select a valid choice"),
    "side effect text huge": ({"side_effect_text": HUGE}, "at most 300 characters"),
    "note huge": ({"note": HUGE}, "at most 1000 characters"),
    "note with a null character": ({"note": NUL}, "Null characters are not allowed"),
    "step status unknown": (lambda w: {f"step_{_step(w)}": "maybe"}, "Select a valid choice"),
    "step missing": (lambda w: {f"step_{_step(w, 'Gentle cleanser', 'morning')}": ""},
                     "This field is required"),
    "skipped without a reason": (lambda w: {f"reason_{_step(w)}": ""}, "Tell us why"),
    "skip reason unknown": (lambda w: {f"reason_{_step(w)}": "aliens"}, "Select a valid choice"),
    "date far in the future": ({"local_date": FAR_FUTURE}, "hasn't happened yet"),
    "date far in the past": ({"local_date": FAR_PAST}, "the 3 days before only"),
    "date before the back-fill window": (
        lambda w: {"local_date": (w.a.local_today() - timedelta(days=4)).isoformat()},
        "the 3 days before only"),
    "date impossible": ({"local_date": NOT_A_DATE}, "valid date"),
    "date wrong type": ({"local_date": "yesterday"}, "valid date"),
    # The offline queue's idempotency key (a UUID from crypto.randomUUID).
    "idempotency key not a uuid": ({"idempotency_key": "not-a-key"}, "key is not valid"),
    "idempotency key huge": ({"idempotency_key": HUGE}, "key is not valid"),
    "idempotency key with a null character": ({"idempotency_key": NUL}, "key is not valid"),
}


@pytest.mark.parametrize("case", CHECKIN, ids=list(CHECKIN))
def test_bad_check_in_is_refused_and_saves_nothing(client, world, case):
    # given
    change, message = CHECKIN[case]
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("today"), {**checkin_body(world.a, world.plan_a),
                                              **resolve(change, world)})
    # then
    assert_refused(response, message, before)


ONE_TAP: dict[str, tuple[str, str]] = {
    "far future": (FAR_FUTURE, "hasn't happened yet"),
    "far past": (FAR_PAST, "the 3 days before only"),
    "tomorrow": ("tomorrow", "hasn't happened yet"),
    "impossible date": (NOT_A_DATE, "valid date"),
    "not a date": ("<script>", "valid date"),
    "huge": (HUGE, "valid date"),
    "bad idempotency key": ("key:not-a-key", "key is not valid"),
}


@pytest.mark.parametrize("case", ONE_TAP, ids=list(ONE_TAP))
def test_one_tap_check_in_for_a_bad_date_is_refused_and_saves_nothing(client, world, case):
    # given
    raw, message = ONE_TAP[case]
    if raw == "tomorrow":
        raw = (world.a.local_today() + timedelta(days=1)).isoformat()
    body = {"all_done": "1", "local_date": raw}
    if raw.startswith("key:"):
        body = {"all_done": "1", "local_date": world.a.local_today().isoformat(),
                "idempotency_key": raw.removeprefix("key:")}
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("today"), body)
    # then
    assert response.status_code == 400
    assert_refused(response, message, before)


# --- The alliance pulse (part of the check-in when due) ---------------------------------------

PULSE_OK = {"pulse_heard": "8", "pulse_shared_goals": "7", "pulse_fits_life": "5",
            "pulse_safe_to_raise": "9"}

PULSE: dict[str, tuple[dict[str, str], str]] = {
    "above 10": ({"pulse_heard": "11"}, "Select a valid choice"),
    "negative": ({"pulse_fits_life": "-1"}, "Select a valid choice"),
    "wrong type": ({"pulse_shared_goals": "lots"}, "Select a valid choice"),
    "overflowing": ({"pulse_safe_to_raise": BIG_INT}, "Select a valid choice"),
    "partly answered": ({"pulse_fits_life": "", "pulse_safe_to_raise": ""}, "Answer all four"),
}


@pytest.mark.parametrize("case", PULSE, ids=list(PULSE))
def test_bad_pulse_answers_are_refused_and_save_nothing(client, world, case):
    # given: no pulse yet, so today's check-in asks it
    change, message = PULSE[case]
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("today"), {**checkin_body(world.a, world.plan_a), **PULSE_OK,
                                              **change})
    # then
    assert_refused(response, message, before)


# --- Concern ----------------------------------------------------------------------------------

CONCERN: dict[str, tuple[dict[str, str], str]] = {
    "unknown category": ({"category": "hates-it"}, "Select a valid choice"),
    "no category": ({"category": ""}, "This field is required"),
    "other without text": ({"category": "other", "text": ""}, "Tell us what the problem is"),
    "other with blank text": ({"category": "other", "text": "   "},
                              "Tell us what the problem is"),
    "text too long": ({"text": "x" * 1001}, "at most 1000 characters"),
    "text huge": ({"text": HUGE}, "at most 1000 characters"),
    "text with a null character": ({"text": NUL}, "Null characters are not allowed"),
}


@pytest.mark.parametrize("case", CONCERN, ids=list(CONCERN))
def test_bad_concern_is_refused_and_saves_nothing(client, world, case):
    # given
    change, message = CONCERN[case]
    client.force_login(world.a.user)
    before = snapshot()
    url = reverse("raise_concern", args=[world.item(world.plan_a).key])
    # when
    response = client.post(url, {"category": "unclear", "text": "Which one?", **change})
    # then
    assert_refused(response, message, before)


@pytest.mark.parametrize("item", ["patient B's", "another clinic's", "unknown"])
def test_a_concern_on_a_foreign_item_is_404_and_saves_nothing(client, world, item):
    # given
    key = {"patient B's": world.item(world.plan_b).key,
           "another clinic's": world.outsider.care_plan.revisions.get().items.first().key,
           "unknown": "00000000-0000-4000-8000-000000000000"}[item]
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("raise_concern", args=[key]), {"category": "unclear"})
    # then
    assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


# --- Patient profile (the patient's own page and the dermatologist's) ---------------------------

PROFILE_CASES: dict[str, tuple[Change, str]] = {
    "minutes negative": ({"morning_minutes": "-1"}, "greater than or equal to 0"),
    "minutes above the maximum": ({"evening_minutes": "181"}, "less than or equal to 180"),
    "minutes wrong type": ({"morning_minutes": "ten"}, "Enter a whole number"),
    "minutes overflowing": ({"morning_minutes": BIG_INT}, "less than or equal to 180"),
    "budget negative": ({"monthly_budget": "-5"}, "greater than or equal to 0"),
    "budget above the maximum": ({"monthly_budget": "100000.01"},
                                 "less than or equal to 100000"),
    "budget wrong type": ({"monthly_budget": "lots"}, "Enter a number"),
    "budget not a number": ({"monthly_budget": "NaN"}, "Enter a number"),
    "budget infinite": ({"monthly_budget": "Infinity"}, "Enter a number"),
    "budget overflowing": ({"monthly_budget": "1e400"}, "no more than 9 digits"),
    "budget too precise": ({"monthly_budget": "10.001"}, "no more than 2 decimal places"),
    "currency unknown": ({"currency": "XXX"}, "Select a valid choice"),
    "daily pattern unknown": ({"daily_pattern": "nocturnal"}, "Select a valid choice"),
    "timezone unknown": ({"timezone": "Mars/Olympus_Mons"}, "Select a valid choice"),
    "timezone huge": ({"timezone": HUGE}, "Select a valid choice"),
    "timezone missing": ({"timezone": ""}, "This field is required"),
    "preference of another clinic": (lambda w: {"preferences": [str(w.foreign_preference.pk)]},
                                     "Select a valid choice"),
    "preference unknown": ({"preferences": ["999999"]}, "Select a valid choice"),
    "preference overflowing": ({"preferences": [BIG_INT]}, "Select a valid choice"),
    "preference wrong type": ({"preferences": ["abc"]}, "is not a valid value"),
    "goal too long": ({"what_matters": "x" * 501}, "at most 500 characters"),
    "notes huge": ({"lifestyle_notes": HUGE}, "at most 1000 characters"),
    "notes with a null character": ({"preference_notes": NUL},
                                    "Null characters are not allowed"),
}

PROFILE_EDITORS = {
    "patient": ("a", lambda w: reverse("my_profile")),
    "dermatologist": ("derm", lambda w: reverse("patient_profile_edit", args=[w.a.pk])),
}


@pytest.mark.parametrize("editor", PROFILE_EDITORS)
@pytest.mark.parametrize("case", PROFILE_CASES, ids=list(PROFILE_CASES))
def test_bad_profile_is_refused_and_saves_nothing(client, world, editor, case):
    # given
    change, message = PROFILE_CASES[case]
    who, url = PROFILE_EDITORS[editor]
    actor = getattr(world, who)
    client.force_login(getattr(actor, "user", actor))
    before = snapshot()
    # when
    response = client.post(url(world), {**PROFILE, **resolve(change, world)})
    # then
    assert_refused(response, message, before)


# --- Plan editor: items formset, meta (dates, reason, base), fit acceptance ----------------------

def item(**change: Any) -> dict[str, Any]:
    return prefixed("items-0", {**PLAN_ITEM, **change})


PLAN: dict[str, tuple[Change, str]] = {
    "cost negative": (item(monthly_cost="-3"), "greater than or equal to 0"),
    "cost above the maximum": (item(monthly_cost="10001"), "less than or equal to 10000"),
    "cost overflowing": (item(monthly_cost="1e400"), "no more than 9 digits"),
    "cost not a number": (item(monthly_cost="NaN"), "Enter a number"),
    "cost wrong type": (item(monthly_cost="cheap"), "Enter a number"),
    "minutes above the maximum": (item(minutes="121"), "less than or equal to 120"),
    "minutes negative": (item(minutes="-1"), "greater than or equal to 0"),
    "minutes wrong type": (item(minutes="two"), "Enter a whole number"),
    # A step's position is its row (never typed, a posted one is ignored); the catalogue item
    # it came from is a hidden id:
    "catalogue item zero": (item(catalogue_item="0"), "greater than or equal to 1"),
    "catalogue item overflowing": (item(catalogue_item=BIG_INT), "less than or equal to"),
    "move tampered": (item(name="", instructions="", monthly_cost="0", move="99999:up"),
                      "at least one item"),
    "kind unknown": (item(kind="voodoo"), "Select a valid choice"),
    "time of day unknown": (item(time_of_day="midnight"), "Select a valid choice"),
    "frequency unknown": (item(frequency="hourly"), "Select a valid choice"),
    "weekday unknown": (item(frequency="weekdays", weekdays=["9"]), "Select a valid choice"),
    "weekdays missing": (item(frequency="weekdays"), "Choose at least one day"),
    "every n days too small": (item(frequency="every_n_days", every_n_days="1"),
                               "greater than or equal to 2"),
    "every n days too large": (item(frequency="every_n_days", every_n_days="31"),
                               "less than or equal to 30"),
    "ramp-up without its rhythm": (item(ramp_days="14"), "needs both"),
    "ramp-up longer than the plan": (item(ramp_days="200", ramp_every_n_days="2"),
                                     "longer than the plan"),
    "ramp-up overflowing": (item(ramp_days=BIG_INT, ramp_every_n_days="2"),
                            "less than or equal to 1095"),
    "name missing": (item(name="", instructions="Thin layer"), "This field is required"),
    "name huge": (item(name=HUGE), "at most 120 characters"),
    "instructions huge": (item(instructions=HUGE), "at most 1000 characters"),
    "name with a null character": (item(name=NUL), "Null characters are not allowed"),
    "key not a uuid": (item(key="not-a-uuid"), "Enter a valid UUID"),
    "no items": (item(name="", instructions="", monthly_cost="0"), "at least one item"),
    "a cost but no name": (item(name="", instructions=""), "Step 1 needs a name"),
    "too many items": (lambda w: {
        "items-TOTAL_FORMS": "41",
        **{k: v for i in range(41) for k, v in prefixed(f"items-{i}", PLAN_ITEM).items()}},
        "at most 40"),
    # Django reports a tampered management form, then the formset's own clean (no items left)
    # replaces that message with its own: refused either way.
    "management form tampered": ({"items-TOTAL_FORMS": "many"}, "at least one item"),
    "management form missing": ({"items-TOTAL_FORMS": None}, "at least one item"),
    "review far in the future": ({"reviews_on": FAR_FUTURE}, "at most three years"),
    "review far in the past": ({"reviews_on": FAR_PAST}, "review must be after today"),
    "review today": (lambda w: {"reviews_on": w.a.local_today().isoformat()},
                     "review must be after today"),
    "review impossible date": ({"reviews_on": NOT_A_DATE}, "Enter a valid date"),
    "review missing": ({"reviews_on": ""}, "This field is required"),
    "reason too short": ({"reason": "ok"}, "at least 5 characters"),
    "reason huge": ({"reason": HUGE}, "at most 1000 characters"),
    "reason missing": ({"reason": ""}, "This field is required"),
    "base number negative": ({"base_number": "-1"}, "greater than or equal to 0"),
    "base number wrong type": ({"base_number": "latest"}, "Enter a whole number"),
    "base number overflowing": ({"base_number": BIG_INT}, "while you were editing"),
    "resolving patient B's concern": (lambda w: {"resolve_concerns": [str(w.concern_b.pk)]},
                                      "Select a valid choice"),
    "resolving an overflowing concern id": ({"resolve_concerns": [BIG_INT]},
                                            "Select a valid choice"),
    "resolving a concern id of the wrong type": ({"resolve_concerns": ["abc"]},
                                                 "is not a valid value"),
    "accepting a warning without a note": (
        {**item(monthly_cost="40"), "accept:budget": "on", "note:budget": ""},
        "Write a note for the patient"),
    "accepting a warning with a huge note": (
        {**item(monthly_cost="40"), "accept:budget": "on", "note:budget": HUGE},
        "at most 500 characters"),
}


def _plan_post(world: World, change: Change, *, patient=None, base_number: int = 1) -> dict:
    data = {**plan_body(patient or world.a, base_number=base_number), **resolve(change, world)}
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize("case", PLAN, ids=list(PLAN))
def test_bad_plan_change_is_refused_and_saves_nothing(client, world, case):
    # given
    change, message = PLAN[case]
    client.force_login(world.derm)
    before = snapshot()
    # when
    response = client.post(reverse("plan_edit", args=[world.a.pk]), _plan_post(world, change))
    # then
    assert_refused(response, message, before)


NEW_PLAN: dict[str, tuple[str, str]] = {
    "start far in the future": (FAR_FUTURE, "Start within the next year"),
    "start far in the past": (FAR_PAST, "Start within the next year"),
    "start impossible date": (NOT_A_DATE, "Enter a valid date"),
}


@pytest.mark.parametrize("case", NEW_PLAN, ids=list(NEW_PLAN))
def test_bad_start_of_a_new_plan_is_refused_and_saves_nothing(client, world, case):
    # given
    starts_on, message = NEW_PLAN[case]
    client.force_login(world.derm)
    before = snapshot()
    # when
    response = client.post(
        reverse("plan_edit", args=[world.new_patient.pk]),
        _plan_post(world, {"starts_on": starts_on}, patient=world.new_patient, base_number=0))
    # then
    assert_refused(response, message, before)


@pytest.mark.parametrize("case", ["cost overflowing", "management form tampered",
                                  "review far in the future", "name huge", "too many items"])
@pytest.mark.parametrize("action", ["check", "add_row"])
def test_the_live_fit_panel_and_add_row_survive_bad_input(client, world, case, action):
    # given
    change, _ = PLAN[case]
    client.force_login(world.derm)
    before = snapshot()
    data = {**_plan_post(world, change), "action": action}
    # when
    fit = client.post(reverse("plan_fit", args=[world.a.pk]), data, HTTP_HX_REQUEST="true")
    editor = client.post(reverse("plan_edit", args=[world.a.pk]), data)
    # then
    assert (fit.status_code, editor.status_code) == (200, 200)
    assert changed_tables(before, snapshot()) == []


# --- Reminder settings ------------------------------------------------------------------------

REMINDERS: dict[str, tuple[dict[str, Any], str]] = {
    "time out of range": ({"local_time": "25:00"}, "Enter a valid time"),
    "minutes out of range": ({"local_time": "07:60"}, "Enter a valid time"),
    "time wrong type": ({"local_time": "after dinner"}, "Enter a valid time"),
    "time huge": ({"local_time": HUGE}, "Enter a valid time"),
    "time missing": ({"local_time": ""}, "This field is required"),
    "weekday out of range": ({"weekdays": ["9"]}, "Select a valid choice"),
    "weekday negative": ({"weekdays": ["-1"]}, "Select a valid choice"),
    "weekday wrong type": ({"weekdays": ["monday"]}, "Select a valid choice"),
    "no weekday while on": ({"weekdays": []}, "at least one day"),
    "channel unknown": ({"channel": "pigeon"}, "Select a valid choice"),
    "channel not offered yet": ({"channel": "sms"}, "Select a valid choice"),
    "push is chosen on the phone": ({"channel": "push"}, "Select a valid choice"),
    "channel missing": ({"channel": ""}, "This field is required"),
}


@pytest.mark.parametrize("case", REMINDERS, ids=list(REMINDERS))
def test_bad_reminder_settings_are_refused_and_save_nothing(client, world, case):
    # given
    change, message = REMINDERS[case]
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("reminder_settings"), {
        "enabled": "on", "local_time": "07:45", "weekdays": ["0", "2"], "channel": "email",
        **change})
    # then
    assert_refused(response, message, before)


# --- Push subscription (JSON from the browser) ------------------------------------------------

def _subscription(**change: Any) -> dict:
    body = push_subscription_json()
    keys = change.pop("keys", {})
    return {**body, **change, "keys": {**body["keys"], **keys}}


PUSH: dict[str, tuple[Any, str]] = {
    "not JSON": ("endpoint=https://fcm.googleapis.com/x", "Send the subscription as JSON"),
    "JSON list": ([1, 2], "Send the subscription as JSON"),
    "no keys": ({"endpoint": "https://fcm.googleapis.com/fcm/send/x"}, "as JSON"),
    "huge body": (_subscription(endpoint="https://fcm.googleapis.com/" + HUGE), "as JSON"),
    "endpoint missing": (_subscription(endpoint=None), "required, as text"),
    "endpoint a number": (_subscription(endpoint=int(BIG_INT)), "required, as text"),
    "endpoint http": (_subscription(endpoint="http://fcm.googleapis.com/fcm/send/x"),
                      "https address of a known push service"),
    "endpoint another host": (_subscription(endpoint="https://169.254.169.254/latest/x"),
                              "https address of a known push service"),
    "endpoint look-alike host": (_subscription(endpoint="https://fcm.googleapis.com.evil.test/x"),
                                 "https address of a known push service"),
    "endpoint with credentials": (_subscription(endpoint="https://u:p@fcm.googleapis.com/x"),
                                  "https address of a known push service"),
    "endpoint other port": (_subscription(endpoint="https://fcm.googleapis.com:8443/x"),
                            "https address of a known push service"),
    "endpoint NUL": (_subscription(endpoint="https://fcm.googleapis.com/" + NUL),
                     "Null characters are not allowed"),
    "endpoint too long": (_subscription(endpoint="https://fcm.googleapis.com/" + "x" * 1000),
                          "at most 1024 characters"),
    "p256dh not base64url": (_subscription(keys={"p256dh": "<script>"}), "P-256 public key"),
    "p256dh padded base64": (_subscription(keys={"p256dh": "BA" * 43 + "="}), "P-256 public key"),
    "p256dh wrong length": (_subscription(keys={"p256dh": "BAAA"}), "P-256 public key"),
    "p256dh not on the curve": (_subscription(keys={"p256dh": "BA" + "A" * 85}),
                                "P-256 public key"),
    "auth wrong length": (_subscription(keys={"auth": "AAAA"}), "16 bytes in base64url"),
    "auth missing": (_subscription(keys={"auth": None}), "required, as text"),
    "auth too long": (_subscription(keys={"auth": "A" * 33}), "at most 32 characters"),
}


@pytest.mark.parametrize("case", PUSH, ids=list(PUSH))
def test_bad_push_subscription_is_refused_and_saves_nothing(client, world, settings, case):
    # given: push configured
    settings.WEBPUSH_ENABLED = True
    body, message = PUSH[case]
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("push_subscribe"),
                           body if isinstance(body, str) else json.dumps(body),
                           content_type="application/json")
    # then
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert changed_tables(before, database_rows(skip=VOLATILE | AUDIT)) == []


@pytest.mark.parametrize("body", ["", "[]", '{"endpoint": 5}', json.dumps({"endpoint": HUGE})])
def test_bad_push_unsubscribe_is_refused_and_deletes_nothing(client, world, body):
    # given
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("push_unsubscribe"), body, content_type="application/json")
    # then
    assert response.status_code == 400
    assert "endpoint" in response.json()["error"]
    assert changed_tables(before, database_rows(skip=VOLATILE | AUDIT)) == []


# --- Invitation of a new patient --------------------------------------------------------------

INVITES: dict[str, tuple[Change, str]] = {
    "email invalid": ({"email": "not-an-email"}, "valid email"),
    "email huge": ({"email": HUGE + "@example.test"}, "at most 254 characters"),
    "email too long": ({"email": "x" * 250 + "@example.test"}, "at most 254 characters"),
    "first name missing": ({"first_name": ""}, "This field is required"),
    "first name too long": ({"first_name": "x" * 151}, "at most 150 characters"),
    "last name with a null character": ({"last_name": NUL}, "Null characters are not allowed"),
    "timezone unknown": ({"timezone": "Mars/Olympus_Mons"}, "Select a valid choice"),
    "timezone missing": ({"timezone": ""}, "This field is required"),
    # A young child without an email, with a parent (issue 20).
    "date of birth garbage": ({"date_of_birth": "31/02/2019"}, "Enter a valid date"),
    "date of birth huge": ({"date_of_birth": HUGE}, "Enter a valid date"),
    "date of birth with a null character": ({"date_of_birth": NUL}, "Enter a valid date"),
    "date of birth in the future": ({"date_of_birth": "2999-01-01"}, "in the future"),
    "no email and no date of birth": ({"email": ""}, "or their date of birth"),
    "no email, a teenager": ({"email": "", "date_of_birth": "2000-01-01"},
                             "needs their own email address"),
    "no email, no parent": ({"email": "", "date_of_birth": "2022-01-01"},
                            "they sign in for the child"),
    "parent email invalid": ({"caregiver_email": "not-an-email"}, "valid email"),
    "parent email the patient's": ({"caregiver_email": "rina@example.test",
                                    "caregiver_first_name": "A", "caregiver_last_name": "B",
                                    "relationship": "parent"}, "must differ"),
    "relationship unknown": ({"caregiver_email": "p@example.test", "relationship": "aunt"},
                             "Select a valid choice"),
    "called too long": ({"called": "x" * 41}, "at most 40 characters"),
    "called with a null character": ({"called": NUL}, "Null characters are not allowed"),
}


@pytest.mark.parametrize("case", INVITES, ids=list(INVITES))
def test_bad_invitation_is_refused_and_saves_and_sends_nothing(
    client, world, case, django_capture_on_commit_callbacks
):
    # given
    change, message = INVITES[case]
    client.force_login(world.derm)
    before = snapshot()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("patient_invite"), {
            "first_name": "Rina", "last_name": "Patel", "email": "rina@example.test",
            "timezone": "Europe/London", **resolve(change, world)})
    # then
    assert_refused(response, message, before)
    assert mail.outbox == []


# --- Flag actions -----------------------------------------------------------------------------

FLAG_ACTIONS: dict[str, tuple[str, Change, str]] = {
    "acknowledge: assignee of another clinic": (
        "acknowledge", lambda w: {"assignee": w.other_staff.pk}, "Select a valid choice"),
    "acknowledge: assignee is a patient": (
        "acknowledge", lambda w: {"assignee": w.a.user_id}, "Select a valid choice"),
    "acknowledge: assignee unknown": ("acknowledge", {"assignee": "999999"},
                                      "Select a valid choice"),
    "acknowledge: assignee overflowing": ("acknowledge", {"assignee": BIG_INT},
                                          "Select a valid choice"),
    "acknowledge: assignee wrong type": ("acknowledge", {"assignee": "me"},
                                         "Select a valid choice"),
    "acknowledge: assignee missing": ("acknowledge", {"assignee": ""}, "This field is required"),
    "outreach: channel unknown": ("outreach", {"channel": "pigeon", "outcome": "reached"},
                                  "Select a valid choice"),
    "outreach: outcome unknown": ("outreach", {"channel": "call", "outcome": "maybe"},
                                  "Select a valid choice"),
    "outreach: channel missing": ("outreach", {"outcome": "reached"}, "This field is required"),
    "outreach: portal message without a message": (
        "outreach", {"channel": "message", "outcome": "sent"}, "Write the message"),
    "outreach: note huge": ("outreach", {"channel": "call", "outcome": "reached", "note": HUGE},
                            "at most 2000 characters"),
    "outreach: message huge": (
        "outreach", {"channel": "message", "outcome": "sent", "message_to_patient": HUGE},
        "at most 2000 characters"),
    "outreach: note with a null character": (
        "outreach", {"channel": "call", "outcome": "reached", "note": NUL},
        "Null characters are not allowed"),
    "escalate: note missing": ("escalate", {"note": ""}, "This field is required"),
    "escalate: note blank": ("escalate", {"note": "   "}, "This field is required"),
    "escalate: note huge": ("escalate", {"note": HUGE}, "at most 2000 characters"),
    "resolve: resolution unknown": ("resolve", {"resolution": "fixed"}, "Select a valid choice"),
    "resolve: resolution missing": ("resolve", {"resolution": ""}, "This field is required"),
    "resolve: other without a note": ("resolve", {"resolution": "other"}, "Say what happened"),
    "resolve: other with a blank note": ("resolve", {"resolution": "other", "note": "  \n "},
                                         "Say what happened"),
    "resolve: note huge": ("resolve", {"resolution": "supported", "note": HUGE},
                           "at most 2000 characters"),
    "resolve: note with a null character": ("resolve", {"resolution": "other", "note": NUL},
                                            "Null characters are not allowed"),
}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("case", FLAG_ACTIONS, ids=list(FLAG_ACTIONS))
def test_bad_flag_action_is_refused_and_changes_nothing(client, world, case, htmx):
    # given
    action, change, message = FLAG_ACTIONS[case]
    client.force_login(world.staff)
    before = snapshot()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    # when
    response = client.post(reverse(f"flag_{action}", args=[world.flag_a.pk]),
                           prefixed(action, resolve(change, world)), **headers)
    # then
    assert_refused(response, message, before)
    assert "Nothing was saved" in response.content.decode()


@pytest.mark.parametrize("url", [
    lambda w: reverse("flag_resolve", args=[int(BIG_INT)]),
    lambda w: reverse("flag_resolve", args=[w.flag_other.pk]),
    lambda w: reverse("patient_profile_edit", args=[int(BIG_INT)]),
    lambda w: reverse("plan_edit", args=[w.outsider.pk]),
    lambda w: reverse("concern_reply", args=[w.a.pk, int(BIG_INT)]),
    lambda w: reverse("concern_reply", args=[int(BIG_INT), w.concern_a.pk]),
], ids=["flag id overflowing", "flag of another clinic", "patient id overflowing",
        "patient of another clinic", "concern id overflowing", "patient id overflowing (reply)"])
def test_foreign_or_overflowing_ids_in_urls_are_404_and_change_nothing(client, world, url):
    # given
    client.force_login(world.derm)
    before = snapshot()
    # when
    response = client.post(url(world), {"resolve-resolution": "other", "resolve-note": "x",
                                        "reply": "Forged", **PROFILE})
    # then
    assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


# --- Messages (the patient's: a new conversation, a reply) ----------------------------------

MESSAGE: dict[str, tuple[Change, str]] = {
    "no text": ({"body": ""}, "Write your message first."),
    "blank text": ({"body": "  \n "}, "Write your message first."),
    "text huge": ({"body": HUGE}, "at most 5000 characters"),
    "text with a null character": ({"body": NUL}, "Null characters are not allowed"),
    "photo of patient B": (lambda w: {"photo": str(w.photo_b.public_id)},
                           "Choose one of your own photos."),
    "photo id not a uuid": ({"photo": "abc"}, "Choose one of your own photos."),
    "photo id huge": ({"photo": HUGE}, "Choose one of your own photos."),
    "step of patient B's plan": (lambda w: {"plan_item": str(w.item(w.plan_b).key)},
                                 "Choose one of the steps of your plan."),
    "step not a key": ({"plan_item": BIG_INT}, "Choose one of the steps of your plan."),
}
NEW_THREAD: dict[str, tuple[Change, str]] = {
    **MESSAGE,
    "topic unknown": ({"topic": "gossip"}, "Select a valid choice"),
    "topic the clinic's own": ({"topic": "from_clinic"}, "Select a valid choice"),
    "no topic": ({"topic": ""}, "Choose what your message is about."),
    "side effect without severity": ({"topic": "side_effect", "severity": ""},
                                     "Say how bad the side effect is."),
    "severity unknown": ({"topic": "side_effect", "severity": "deadly"},
                         "Select a valid choice"),
}


@pytest.fixture
def messaging_world(world: World, now) -> World:
    """Patient A's diary and a conversation; patient B's photo."""
    from messaging.services import thread_start
    from tests.factories import photo_for

    photo_for(world.a, now=now)
    world.photo_b = photo_for(world.b, now=now)
    world.thread_a = thread_start(patient=world.a, by=world.a.user, topic="plan", now=now,
                                  body="Can I skip a night?")
    return world


@pytest.mark.parametrize("case", NEW_THREAD, ids=list(NEW_THREAD))
def test_a_bad_new_message_is_refused_and_saves_nothing(client, messaging_world, case):
    # given
    change, message = NEW_THREAD[case]
    world = messaging_world
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("message_new"), {"topic": "plan", "body": "A question",
                                                     **resolve(change, world)})
    # then
    assert_refused(response, message, before)


@pytest.mark.parametrize("case", MESSAGE, ids=list(MESSAGE))
def test_a_bad_reply_is_refused_and_saves_nothing(client, messaging_world, case):
    # given
    change, message = MESSAGE[case]
    world = messaging_world
    client.force_login(world.a.user)
    before = snapshot()
    # when
    response = client.post(reverse("message_thread", args=[world.thread_a.pk]),
                           {"body": "A reply", **resolve(change, world)})
    # then
    assert_refused(response, message, before)


@pytest.mark.parametrize("thread_id", [int(BIG_INT), 0])
def test_a_reply_to_an_overflowing_or_unknown_thread_is_404(client, messaging_world,
                                                            thread_id):
    client.force_login(messaging_world.a.user)
    before = snapshot()
    response = client.post(reverse("message_thread", args=[thread_id]), {"body": "Hello"})
    assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


# --- The clinic's inbox: replies, first messages, reply templates, actions (issue 19) --------

CLINIC_MESSAGES: dict[str, tuple[str, dict[str, str], str]] = {
    "reply empty": ("clinic_thread_reply", {"body": ""}, "Write your message first."),
    "reply only spaces": ("clinic_thread_reply", {"body": "   "}, "Write your message first."),
    "reply huge": ("clinic_thread_reply", {"body": HUGE}, "at most 5000 characters"),
    "reply with a null character": ("clinic_thread_reply", {"body": NUL},
                                    "Null characters are not allowed"),
    "first message huge": ("clinic_thread_start", {"body": HUGE}, "at most 5000 characters"),
    "first message with a null character": ("clinic_thread_start", {"body": NUL},
                                            "Null characters are not allowed"),
    "template title huge": ("clinic_reply_templates", {"title": HUGE, "body": "Text"},
                            "at most 80 characters"),
    "template text with a null character": ("clinic_reply_templates",
                                            {"title": "Gel", "body": NUL},
                                            "Null characters are not allowed"),
    "template text huge": ("clinic_reply_templates", {"title": "Gel", "body": HUGE},
                           "at most 5000 characters"),
    "assignee overflowing": ("clinic_thread_action", {"action": "assign", "assignee": BIG_INT},
                             "Choose someone at this clinic."),
    "assignee wrong type": ("clinic_thread_action", {"action": "assign", "assignee": "abc"},
                            "Choose someone at this clinic."),
    "action unknown": ("clinic_thread_action", {"action": HUGE},
                       "Choose one of the buttons to change the conversation."),
}


@pytest.mark.parametrize("case", CLINIC_MESSAGES, ids=list(CLINIC_MESSAGES))
def test_bad_clinic_message_input_is_refused_and_saves_nothing(client, world, case):
    # given: patient A asked a question
    from messaging.models import Topic
    from messaging.services import thread_start

    name, body, message = CLINIC_MESSAGES[case]
    thread = thread_start(patient=world.a, by=world.a.user, topic=Topic.PLAN, body="A question",
                          now=timezone.now())
    kwargs = {"clinic_thread_reply": {"thread_id": thread.pk},
              "clinic_thread_action": {"thread_id": thread.pk},
              "clinic_thread_start": {"patient_id": world.a.pk}}.get(name, {})
    client.force_login(world.staff)
    before = snapshot()
    # when
    response = client.post(reverse(name, kwargs=kwargs), body)
    # then
    assert response.status_code == 400
    assert_refused(response, message, before)


@pytest.mark.parametrize("query", [{"template": BIG_INT}, {"template": "abc"},
                                   {"template": HUGE}, {"template": NUL}])
def test_a_bad_template_choice_fills_nothing_and_is_never_a_server_error(client, world, query):
    from messaging.models import Message, Topic
    from messaging.services import thread_start

    thread = thread_start(patient=world.a, by=world.a.user, topic=Topic.PLAN, body="A question",
                          now=timezone.now())
    client.force_login(world.staff)
    response = client.get(reverse("clinic_thread", args=[thread.pk]), query)
    assert response.status_code == 200
    assert response.context["chosen_template"] is None
    assert Message.objects.count() == 1


# --- The patient page's Family and caregivers (issue 20) ---------------------------------------

FAMILY_FORMS: dict[str, tuple[str, dict[str, str], str]] = {
    "date of birth garbage": ("patient_birth_date_set", {"date_of_birth": "yesterday"},
                              "Enter a valid date"),
    "date of birth huge": ("patient_birth_date_set", {"date_of_birth": HUGE},
                           "Enter a valid date"),
    "date of birth with a null character": ("patient_birth_date_set", {"date_of_birth": NUL},
                                            "Enter a valid date"),
    "date of birth in the future": ("patient_birth_date_set", {"date_of_birth": "2999-01-01"},
                                    "in the future"),
    "date of birth too early": ("patient_birth_date_set", {"date_of_birth": "0201-01-01"},
                                "after 1900"),
    "caregiver email invalid": ("patient_caregiver_invite", {
        "first_name": "A", "last_name": "B", "email": "nope", "relationship": "parent"},
        "valid email"),
    "caregiver name huge": ("patient_caregiver_invite", {
        "first_name": HUGE, "last_name": "B", "email": "p@example.test",
        "relationship": "parent"}, "at most 150 characters"),
    "caregiver name with a null character": ("patient_caregiver_invite", {
        "first_name": NUL, "last_name": "B", "email": "p@example.test",
        "relationship": "parent"}, "Null characters are not allowed"),
    "caregiver relationship unknown": ("patient_caregiver_invite", {
        "first_name": "A", "last_name": "B", "email": "p@example.test",
        "relationship": HUGE}, "Select a valid choice"),
    "caregiver called huge": ("patient_caregiver_invite", {
        "first_name": "A", "last_name": "B", "email": "p@example.test",
        "relationship": "parent", "called": HUGE}, "at most 40 characters"),
}


@pytest.mark.parametrize("case", FAMILY_FORMS, ids=list(FAMILY_FORMS))
def test_bad_family_input_is_refused_and_saves_nothing(client, world, case,
                                                       django_capture_on_commit_callbacks):
    # given
    name, body, message = FAMILY_FORMS[case]
    client.force_login(world.staff)
    before = snapshot()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(name, args=[world.a.pk]), body)
    # then
    assert response.status_code == 400
    assert_refused(response, message, before)
    assert mail.outbox == []


@pytest.mark.parametrize("link_id", ["other clinic", "overflowing"])
def test_ending_a_foreign_or_overflowing_caregiver_link_is_404(client, world, link_id):
    # given a link of a patient of another clinic
    from tests.factories import CaregiverLinkFactory

    foreign = CaregiverLinkFactory(patient=world.outsider)
    client.force_login(world.derm)
    before = snapshot()
    # when
    response = client.post(reverse("patient_caregiver_end", args=[
        world.a.pk, foreign.pk if link_id == "other clinic" else int(BIG_INT)]))
    # then
    assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


# --- The photo diary's clinic forms: a note on a photo, a clinic's own body area ------------

PHOTO_FORMS: dict[str, tuple[str, dict[str, str], str]] = {
    "note empty": ("photo_note_add", {"text": ""}, "Write the note first."),
    "note only spaces": ("photo_note_add", {"text": "   "}, "Write the note first."),
    "note huge": ("photo_note_add", {"text": HUGE}, "Keep the note to 1000 characters"),
    "note with a null character": ("photo_note_add", {"text": NUL},
                                   "Null characters are not allowed"),
    "area empty": ("body_area_add", {"name": ""}, "Name the area first."),
    "area huge": ("body_area_add", {"name": HUGE}, "at most 60 characters"),
    "area with a null character": ("body_area_add", {"name": NUL},
                                   "Null characters are not allowed"),
    "area a built-in one": ("body_area_add", {"name": "face"}, "already in the list of areas"),
}


@pytest.mark.parametrize("case", PHOTO_FORMS, ids=list(PHOTO_FORMS))
def test_bad_photo_note_or_area_is_refused_and_saves_nothing(client, world, case):
    # given: a photo of patient A
    from tests.factories import photo_for

    name, body, message = PHOTO_FORMS[case]
    photo = photo_for(world.a)
    kwargs = {"patient_id": world.a.pk}
    if name == "photo_note_add":
        kwargs["photo_id"] = photo.public_id
    client.force_login(world.derm)
    before = snapshot()
    # when
    response = client.post(reverse(name, kwargs=kwargs), body)
    # then
    assert response.status_code == 400
    assert_refused(response, message, before)


# --- Search filters (GET): a form error or ignored, never a 500 ---------------------------------

AUDIT_FILTERS: dict[str, tuple[dict[str, str], str]] = {
    "from not a date": ({"date_from": "yesterday"}, "Enter a valid date"),
    "to impossible date": ({"date_to": NOT_A_DATE}, "Enter a valid date"),
    "from far in the past": ({"date_from": FAR_PAST}, "Choose a day between 2000 and 2999"),
    "to far in the future": ({"date_to": FAR_FUTURE}, "Choose a day between 2000 and 2999"),
    "whole range of the calendar": ({"date_from": FAR_PAST, "date_to": FAR_FUTURE},
                                    "Choose a day between 2000 and 2999"),
    "to at the end of the range": ({"date_to": "2999-12-31"}, ""),
    "from after to": ({"date_from": "2026-03-02", "date_to": "2026-03-01"},
                      "must be on or before"),
    "patient huge": ({"patient": HUGE}, "at most 100 characters"),
    "actor with a null character": ({"actor": NUL}, "Null characters are not allowed"),
    "page wrong type": ({"page": "last-but-one"}, ""),
    "page overflowing": ({"page": BIG_INT}, ""),
}


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize("case", AUDIT_FILTERS, ids=list(AUDIT_FILTERS))
def test_bad_audit_log_filters_show_an_error_or_are_ignored(client, world, case, zone):
    # given: clinics far east and far west of UTC, where the calendar's ends overflow first
    query, message = AUDIT_FILTERS[case]
    world.clinic.timezone = zone
    world.clinic.save(update_fields=["timezone"])
    client.force_login(world.derm)
    before = snapshot()
    reads = AuditEvent.objects.count()
    # when
    response = client.get(reverse("clinic_audit_log"), query)
    # then
    assert response.status_code == 200
    assert message in shown(response)
    assert changed_tables(before, snapshot()) == []
    assert AuditEvent.objects.count() == reads + 1  # the view of the log itself


OTHER_FILTERS: dict[str, tuple[str, dict[str, str]]] = {
    "queue: rule unknown": ("flagged_patients", {"rule": "astrology"}),
    "queue: state unknown": ("flagged_patients", {"state": "limbo"}),
    "queue: dermatologist wrong type": ("flagged_patients", {"dermatologist": "abc"}),
    "queue: dermatologist overflowing": ("flagged_patients", {"dermatologist": BIG_INT}),
    "queue: page overflowing": ("flagged_patients", {"page": BIG_INT}),
    "patients: search huge": ("my_patients", {"q": HUGE}),
    "patients: search with a null character": ("my_patients", {"q": NUL}),
    "patients: page wrong type": ("my_patients", {"page": "next"}),
    "inbox: page wrong type": ("clinic_inbox", {"page": "next"}),
    "inbox: page overflowing": ("clinic_inbox", {"page": BIG_INT}),
    "inbox: page with a null character": ("clinic_inbox", {"page": NUL}),
    "today: date far in the future": ("today", {"date": FAR_FUTURE}),
    "today: date impossible": ("today", {"date": NOT_A_DATE}),
}


@pytest.mark.parametrize("case", OTHER_FILTERS, ids=list(OTHER_FILTERS))
def test_bad_page_filters_are_never_a_server_error(client, world, case):
    # given
    name, query = OTHER_FILTERS[case]
    client.force_login(world.a.user if name == "today" else world.derm)
    before = snapshot()
    # when
    response = client.get(reverse(name), query)
    # then
    assert response.status_code == 200
    assert changed_tables(before, snapshot()) == []


# --- People who help me (issue 20): an adult's invitation, a link's actions ------------------

CAREGIVER_INVITES: dict[str, tuple[Change, str]] = {
    "email invalid": ({"email": "not-an-email"}, "valid email"),
    "email huge": ({"email": HUGE + "@example.test"}, "at most 254 characters"),
    "first name missing": ({"first_name": ""}, "This field is required"),
    "first name huge": ({"first_name": HUGE}, "at most 150 characters"),
    "last name with a null character": ({"last_name": NUL}, "Null characters are not allowed"),
    "relationship unknown": ({"relationship": "boss"}, "Select a valid choice"),
    "called too long": ({"called": "x" * 41}, "at most 40 characters"),
    "called with a null character": ({"called": NUL}, "Null characters are not allowed"),
}


@pytest.mark.parametrize("case", CAREGIVER_INVITES, ids=list(CAREGIVER_INVITES))
def test_a_bad_caregiver_invitation_is_refused_and_saves_and_sends_nothing(
    client, world, case, django_capture_on_commit_callbacks
):
    # given an adult patient on "People who help me"
    change, message = CAREGIVER_INVITES[case]
    client.force_login(world.a.user)
    before = snapshot()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("caregivers_mine"), {
            "action": "invite", "first_name": "Alex", "last_name": "Lee",
            "email": "alex@example.test", "relationship": "other", "called": "Alex",
            **resolve(change, world)})
    # then
    assert_refused(response, message, before)
    assert mail.outbox == []


@pytest.mark.parametrize(("body", "status"), [
    ({"action": "end", "link": BIG_INT}, 404),
    ({"action": "end", "link": "abc"}, 404),
    ({"action": "end", "link": ""}, 404),
    ({"action": "end", "link": HUGE}, 404),
    ({"action": "delete_everything", "link": "1"}, 400),
    ({"action": "assent_yes", "link": "1"}, 400),  # an adult is never asked
    ({"action": NUL}, 400),
])
def test_bad_caregiver_link_actions_are_refused_and_change_nothing(client, world, body,
                                                                   status):
    client.force_login(world.a.user)
    before = snapshot()
    response = client.post(reverse("caregivers_mine"), body)
    assert response.status_code == status
    assert changed_tables(before, snapshot()) == []


@pytest.mark.parametrize("patient", [BIG_INT, "abc", "", HUGE, "-1"])
def test_bad_stop_helping_is_404_and_changes_nothing(client, world, patient):
    from tests.factories import CaregiverLinkFactory

    link = CaregiverLinkFactory(patient=world.a)
    client.force_login(link.caregiver)
    before = snapshot()
    response = client.post(reverse("caregiver_stop"), {"patient": patient})
    assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


def test_private_ticked_by_a_patient_nobody_helps_is_refused(client, messaging_world):
    client.force_login(messaging_world.a.user)
    before = snapshot()
    response = client.post(reverse("message_new"), {"topic": "plan", "body": "A question",
                                                    "private": "on"})
    assert_refused(response, "Only the patient can make a conversation private", before)


def test_making_a_foreign_or_unknown_thread_private_is_404(client, messaging_world):
    from messaging.services import thread_start

    thread_b = thread_start(patient=messaging_world.b, by=messaging_world.b.user, topic="plan",
                            body="B's question", now=timezone.now())
    client.force_login(messaging_world.a.user)
    before = snapshot()
    for thread_id in (thread_b.pk, int(BIG_INT)):
        response = client.post(reverse("message_thread", args=[thread_id]),
                               {"make_private": "1"})
        assert response.status_code == 404
    assert changed_tables(before, snapshot()) == []


# --- The FHIR API (issue 21): the consent form's hidden fields, the API's parameters ----------

CONSENT_POSTS: dict[str, dict[str, str]] = {
    "client id unknown": {"client_id": "no-such-app"},
    "client id huge": {"client_id": HUGE},
    "client id with a null character": {"client_id": NUL},
    "redirect elsewhere": {"redirect_uri": "https://attacker.example/steal"},
    "redirect huge": {"redirect_uri": "https://app.example/" + HUGE},
    "scope of a system client": {"scope": "system/*.rs"},
    "scope that writes": {"scope": "patient/*.cruds"},
    "scope huge": {"scope": HUGE},
    "scope with a null character": {"scope": NUL},
    "response type implicit": {"response_type": "token"},
    "pkce method plain": {"code_challenge_method": "plain"},
    "pkce challenge missing": {"code_challenge": ""},
}


@pytest.mark.parametrize("case", CONSENT_POSTS, ids=list(CONSENT_POSTS))
def test_a_tampered_consent_form_grants_nothing_and_sends_nowhere_else(client, world, case):
    # given: a real authorization request's fields, one changed
    from oauth2_provider.models import AccessToken, Grant

    from tests.interop.oauth import REDIRECT_URI, Pkce, authorize_params, patient_app
    app = patient_app()
    body = authorize_params(app, Pkce.new()) | {"allow": "on"} | CONSENT_POSTS[case]
    client.force_login(world.a.user)
    # when
    response = client.post(reverse("oauth2_provider:authorize"), body)
    # then: refused on the page (4xx) or back to the app's own address with an error
    assert response.status_code < 500
    if response.status_code == 302:
        assert response.url.startswith(REDIRECT_URI)
        assert "error=" in response.url
    assert not Grant.objects.exists()
    assert not AccessToken.objects.exists()


API_QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "id overflowing": (f"Patient/{BIG_INT}", {}),
    "id of another shape": ("Patient/abc-1.2", {}),
    "count overflowing": ("Patient", {"_count": BIG_INT}),
    "count negative": ("Patient", {"_count": "-5"}),
    "offset overflowing": ("Patient", {"_offset": BIG_INT}),
    "offset with a null character": ("Patient", {"_offset": NUL}),
    "_id overflowing": ("Patient", {"_id": BIG_INT}),
    "_id with a null character": ("Patient", {"_id": NUL}),
    "_id huge": ("Patient", {"_id": HUGE}),
    "format unknown": ("Patient", {"_format": "yaml"}),
    "parameter unknown and huge": ("Patient", {HUGE[:1000]: HUGE}),
}


@pytest.mark.parametrize("case", API_QUERIES, ids=list(API_QUERIES))
def test_bad_api_requests_are_answered_never_a_server_error(client, world, case):
    # given
    from tests.interop.oauth import fhir_get, system_client, system_token
    token = system_token(client, system_client(world.a.clinic))
    path, query = API_QUERIES[case]
    before = snapshot()
    # when
    response = fhir_get(client, path, token, **query)
    # then
    assert response.status_code in (200, 400, 404, 406), response.status_code
    assert response.json()["resourceType"] in ("Bundle", "OperationOutcome")
    assert changed_tables(before, snapshot()) == []
# --- "Download my data" (issue 21) ------------------------------------------------------------

@pytest.mark.parametrize("export_id", [
    lambda w: int(BIG_INT), lambda w: w.export_b.pk, lambda w: w.export_a_pending.pk,
], ids=["id overflowing", "another patient's", "not ready yet"])
def test_a_download_of_a_foreign_overflowing_or_unready_export_is_404(client, world, settings,
                                                                      tmp_path, export_id):
    # given: patient B's ready download, and patient A's still queued
    from interop.patient_export import data_export_build, data_export_request

    settings.EXPORTS_DIR = tmp_path / "exports"
    now = timezone.now()
    world.export_b = data_export_request(patient=world.b, requested_by=world.b.user, now=now)
    data_export_build(export_id=world.export_b.pk, now=now)
    world.export_a_pending = data_export_request(patient=world.a, requested_by=world.a.user,
                                                 now=now)
    client.force_login(world.a.user)
    # when
    response = client.get(reverse("data_export_download", args=[export_id(world)]))
    # then
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{"acting_for": BIG_INT}, {"acting_for": HUGE},
                                  {"anything": NUL}])
def test_junk_in_a_download_request_makes_one_export_of_the_patients_own(client, world, body):
    # given
    from interop.models import PatientDataExport

    client.force_login(world.a.user)
    # when
    response = client.post(reverse("data_export_request"), body)
    # then: a patient acts for nobody but themself; the field names no one else
    assert response.status_code == 302
    assert list(PatientDataExport.objects.values_list("patient_id", flat=True)) == [world.a.pk]
