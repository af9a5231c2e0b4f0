"""The flag pages: the staff queue, the flag page, flags on the dermatologist's patient list and
patient page, the patient's clinic messages, and who may open any of them."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import AuditEvent, Patient, User
from careplans.models import Concern
from flags.models import Flag, Rule, Severity, State
from messaging.services import thread_start_from_clinic
from tests.factories import (
    DermatologistFactory,
    FlagFactory,
    PatientFactory,
    StaffFactory,
    adherence_drop_flag,
    flag_evidence,
    plan_for,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("flagged_patients")


def queue(client, **params):
    response = client.get(QUEUE, params)
    assert response.status_code == 200
    return response


def listed(response) -> list[Flag]:
    return list(response.context["page"].object_list)


def bulk_flags(derm, count: int, *, rules=tuple(Rule.values)) -> None:
    """``count`` open flags in the dermatologist's clinic, written in bulk (a handful of
    queries whatever the count): one patient per len(rules) flags."""
    clinic_id = derm.membership.clinic_id
    start = User.objects.count()
    patients_needed = -(-count // len(rules))
    users = User.objects.bulk_create(
        User(email=f"bulk{start + n}@example.test", first_name="Bulk", last_name=f"P{n:04d}",
             password="!") for n in range(patients_needed)
    )
    Patient.objects.bulk_create(Patient(user_id=user.pk, clinic_id=clinic_id,
                                        dermatologist=derm) for user in users)
    patients = list(Patient.objects.filter(user__in=users).order_by("pk"))
    now = timezone.now()
    Flag.objects.bulk_create(
        Flag(patient=patients[n // len(rules)], clinic_id=clinic_id, rule=rules[n % len(rules)],
             severity=1 + n % 3, evidence=flag_evidence(rules[n % len(rules)]), evidence_at=now,
             opened_at=now - timedelta(minutes=n), updated_at=now)
        for n in range(count)
    )


# --- The queue -------------------------------------------------------------------------------


def test_queue_lists_highest_severity_first_then_oldest(client, staff, patient_a, patient_b):
    # given
    now = timezone.now()
    low_old = FlagFactory(patient=patient_a, severity=Severity.LOW,
                          opened_at=now - timedelta(days=9))
    high_new = FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET, severity=Severity.HIGH,
                           opened_at=now - timedelta(hours=1))
    high_old = FlagFactory(patient=patient_b, severity=Severity.HIGH,
                           opened_at=now - timedelta(days=3))
    medium = FlagFactory(patient=patient_b, rule=Rule.GONE_QUIET, severity=Severity.MEDIUM)
    client.force_login(staff)
    # when
    response = queue(client)
    # then
    assert listed(response) == [high_old, high_new, medium, low_old]


def test_queue_filters_by_rule(client, staff, patient_a):
    # given
    FlagFactory(patient=patient_a, rule=Rule.ADHERENCE_DROP)
    quiet = FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET)
    client.force_login(staff)
    # when
    response = queue(client, rule=Rule.GONE_QUIET)
    # then
    assert listed(response) == [quiet]


def test_queue_shows_open_flags_by_default_and_each_state_on_request(
    client, staff, patient_a, patient_b
):
    # given
    new = FlagFactory(patient=patient_a)
    acknowledged = FlagFactory(patient=patient_b, state=State.ACKNOWLEDGED)
    resolved = FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET, state=State.RESOLVED,
                           resolved_at=timezone.now(), resolution="supported")
    client.force_login(staff)
    # when / then
    assert set(listed(queue(client))) == {new, acknowledged}
    assert listed(queue(client, state="new")) == [new]
    assert listed(queue(client, state="acknowledged")) == [acknowledged]
    assert listed(queue(client, state="resolved")) == [resolved]


def test_queue_filters_by_dermatologist(client, staff, clinic, patient_a):
    # given
    colleague = DermatologistFactory(membership=clinic)
    theirs = FlagFactory(patient=PatientFactory(dermatologist=colleague))
    FlagFactory(patient=patient_a)
    client.force_login(staff)
    # when
    response = queue(client, dermatologist=colleague.pk)
    # then
    assert listed(response) == [theirs]


def test_queue_filters_assigned_to_me(client, staff, clinic, patient_a, patient_b):
    # given
    mine = FlagFactory(patient=patient_a, state=State.ACKNOWLEDGED, assigned_to=staff)
    FlagFactory(patient=patient_b, state=State.ACKNOWLEDGED,
                assigned_to=StaffFactory(membership=clinic))
    FlagFactory(patient=patient_b, rule=Rule.GONE_QUIET)
    client.force_login(staff)
    # when
    response = queue(client, mine="on")
    # then
    assert listed(response) == [mine]


def test_queue_counts_flags_per_state(client, staff, patient_a, patient_b):
    # given
    FlagFactory(patient=patient_a)
    FlagFactory(patient=patient_b)
    FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET, state=State.ACKNOWLEDGED)
    FlagFactory(patient=patient_a, rule=Rule.ALLIANCE_DROP, state=State.RESOLVED,
                resolved_at=timezone.now(), resolution="supported")
    client.force_login(staff)
    # when
    response = queue(client)
    # then
    assert response.context["state_counts"] == [
        ("new", "New", 2), ("acknowledged", "Acknowledged", 1), ("resolved", "Resolved", None)]
    body = response.content.decode()
    assert "New: 2" in body
    assert "Acknowledged: 1" in body
    assert "Resolved: 1" in queue(client, state=State.RESOLVED).content.decode()


def test_queue_counts_resolved_flags_only_when_they_are_listed(client, staff, patient_a):
    # given: five resolved flags and one open
    for _ in range(5):
        FlagFactory(patient=patient_a, state=State.RESOLVED, resolved_at=timezone.now(),
                    resolution="supported")
    FlagFactory(patient=patient_a)
    client.force_login(staff)
    # when
    with CaptureQueriesContext(connection) as captured:
        open_queue = queue(client).content.decode()
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"]]
    resolved = queue(client, state=State.RESOLVED)
    # then: the work queue links to the resolved flags without counting its history
    assert "New: 1</a>" in open_queue
    assert ">Resolved</a>" in open_queue
    assert counts
    assert not any(re.search(r"(?<!NOT \()\"flags_flag\".\"state\" = 'resolved'", sql)
                   for sql in counts), counts
    assert "Resolved: 5</a>" in resolved.content.decode()
    assert resolved.context["page"].paginator.count == 5
    assert len(listed(resolved)) == 5


def test_queue_pages_by_25_and_keeps_the_filters(client, staff, derm):
    # given
    bulk_flags(derm, 30, rules=(Rule.GONE_QUIET,))
    client.force_login(staff)
    # when
    first = queue(client, rule=Rule.GONE_QUIET)
    second = queue(client, rule=Rule.GONE_QUIET, page=2)
    # then
    assert len(listed(first)) == 25
    assert len(listed(second)) == 5
    assert "Page 1 of 2" in first.content.decode()
    assert "rule=gone_quiet&amp;page=2" in first.content.decode()


def _queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        queue(client)
    return len(captured)


def test_queue_query_count_is_the_same_for_10_and_1000_flags(client, staff, derm):
    # given: 10 flags
    bulk_flags(derm, 10)
    client.force_login(staff)
    few = _queue_queries(client)
    # when: 990 more
    bulk_flags(derm, 990)
    many = _queue_queries(client)
    # then
    assert Flag.objects.count() == 1000
    assert many == few


def test_queue_never_lists_another_clinics_flags(client, staff, patient_a, other_derm):
    # given
    ours = FlagFactory(patient=patient_a)
    foreign = FlagFactory(patient=PatientFactory(dermatologist=other_derm),
                          evidence=flag_evidence(summary="Hilltop only"))
    client.force_login(staff)
    # when
    responses = [queue(client, state=state) for state in ("open", "new", "resolved")]
    responses.append(queue(client, dermatologist=other_derm.pk))
    # then
    assert listed(responses[0]) == [ours]
    for response in responses:
        assert foreign not in listed(response)
        assert "Hilltop only" not in response.content.decode()
        assert foreign.patient.user.email not in response.content.decode()
    assert response.context["form"].errors["dermatologist"]  # not a choice in this clinic


def test_dermatologist_queue_starts_with_their_own_patients(client, derm, clinic, patient_a):
    # given
    mine = FlagFactory(patient=patient_a)
    colleague = DermatologistFactory(membership=clinic)
    theirs = FlagFactory(patient=PatientFactory(dermatologist=colleague))
    client.force_login(derm)
    # when
    default = queue(client)
    everyone = queue(client, dermatologist="")
    # then
    assert listed(default) == [mine]
    assert set(listed(everyone)) == {mine, theirs}


def test_patients_get_404_and_anonymous_users_the_login_page(client, patient_a):
    # given / when
    anonymous = client.get(QUEUE)
    client.force_login(patient_a.user)
    as_patient = client.get(QUEUE)
    # then
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))
    assert as_patient.status_code == 404


def test_the_old_placeholder_is_gone(client, staff):
    # given
    client.force_login(staff)
    # when
    response = queue(client)
    # then
    assert response.templates[0].name == "flags/queue.html"
    assert response.resolver_match.func.__module__ == "flags.views"


# --- Who may open which flag URL --------------------------------------------------------------


def _flag_url_names(resolver: URLResolver | None = None):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _flag_url_names(entry)
        elif isinstance(entry, URLPattern) and "flag_id" in entry.pattern.converters:
            yield entry.name


FLAG_URL_NAMES = sorted(set(_flag_url_names()))


def test_every_flag_url_is_enumerated():
    assert set(FLAG_URL_NAMES) == {"flag_detail", "flag_acknowledge", "flag_outreach",
                                   "flag_escalate", "flag_resolve"}


ANY_ACTION = {
    "acknowledge-assignee": "1", "outreach-channel": "call", "outreach-outcome": "reached",
    "escalate-note": "x", "resolve-resolution": "supported",
}


def _snapshot(flag: Flag) -> tuple:
    flag.refresh_from_db()
    return (flag.state, flag.assigned_to_id, flag.escalated_at, flag.resolved_at,
            flag.events.count(), flag.outreach.count())


@pytest.mark.parametrize("url_name", FLAG_URL_NAMES)
def test_patients_and_other_clinics_get_404_on_every_flag_url(
    client, url_name, patient_a, patient_b, other_derm, other_staff
):
    # given
    flag = FlagFactory(patient=patient_a)
    before = _snapshot(flag)
    url = reverse(url_name, args=[flag.pk])
    for outsider in (patient_a.user, patient_b.user, other_derm, other_staff):
        client.force_login(outsider)
        # when
        get, post = client.get(url), client.post(url, ANY_ACTION)
        # then
        assert (get.status_code, post.status_code) == (404, 404), outsider
        assert patient_a.user.email not in get.content.decode()
    assert _snapshot(flag) == before
    denied = AuditEvent.objects.filter(object_type="flag", allowed=False)
    assert set(denied.values_list("actor", flat=True)) == {other_derm.pk, other_staff.pk}


@pytest.mark.parametrize("url_name", FLAG_URL_NAMES)
def test_anonymous_users_are_sent_to_login_from_every_flag_url(client, url_name, patient_a):
    flag = FlagFactory(patient=patient_a)
    response = client.post(reverse(url_name, args=[flag.pk]), ANY_ACTION)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert _snapshot(flag)[0] == State.NEW


def test_a_missing_flag_is_404_like_a_foreign_one(client, staff):
    client.force_login(staff)
    assert client.get(reverse("flag_detail", args=[999999])).status_code == 404


# --- The flag page ---------------------------------------------------------------------------


@pytest.fixture
def evidence_flag(patient_a, derm):
    """An adherence-drop flag over 35 days of check-ins (one note with markup)."""
    return adherence_drop_flag(
        patient_a, author=derm, note="<script>alert(1)</script> too busy", note_days_ago=2,
        unlogged_every=5, satisfaction=4,  # a few days not logged
        numbers={"recent_percent": 33.3, "baseline_percent": 100.0,
                 "drop_threshold_points": 20, "recent_steps": [2, 6]},
    )


def test_flag_page_shows_the_patient_and_the_evidence(client, staff, evidence_flag, patient_a):
    # given
    client.force_login(staff)
    # when
    response = client.get(reverse("flag_detail", args=[evidence_flag.pk]))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    for text in (patient_a.user.display_name, patient_a.dermatologist.display_name,
                 "Europe/London", "Plan start",
                 "Adherence 33% in the last 7 days, 100% in the 28 before.",
                 "Last 7 days", "33.3% of steps done (2 of 6)", "The 28 days before",
                 "100% of steps done", "Baseline"):
        assert text in body, text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; too busy" in body
    assert "<script>alert(1)" not in body


def test_flag_page_charts_the_windows_with_a_text_alternative(client, staff, evidence_flag):
    # given
    client.force_login(staff)
    # when
    response = client.get(reverse("flag_detail", args=[evidence_flag.pk]))
    # then
    [chart] = response.context["charts"]
    assert [w.label for w in chart.windows] == ["Baseline", "Last 7 days"]
    assert len(chart.rows) == 35
    assert chart.windows[1].text == "6 of 7 days logged; 25% of steps done"
    body = response.content.decode()
    assert 'role="img" aria-labelledby="ev-steps-title ev-steps-summary"' in body
    assert "Show the numbers" in body
    assert "not logged" in body


def test_flag_page_without_windows_has_no_chart(client, staff, patient_a):
    flag = FlagFactory(patient=patient_a, rule=Rule.SEVERE_SIDE_EFFECT)
    client.force_login(staff)
    response = client.get(reverse("flag_detail", args=[flag.pk]))
    assert response.status_code == 200
    assert response.context["charts"] == []


def test_flag_page_shows_fit_recent_check_ins_and_open_concerns(client, staff, evidence_flag,
                                                               patient_a):
    # given
    revision = patient_a.care_plan.revisions.get()
    Concern.objects.create(patient=patient_a, item_key=revision.items.get().key,
                           item_name="Adapalene", raised_on_revision=revision,
                           category="too_expensive", text="Costs <b>too</b> much")
    client.force_login(staff)
    # when
    response = client.get(reverse("flag_detail", args=[evidence_flag.pk]))
    # then
    body = response.content.decode()
    assert "Fit to the patient" in body
    assert len(response.context["recent"]) == 14
    assert "Costs &lt;b&gt;too&lt;/b&gt; much" in body
    assert response.context["fit"] is not None


def test_flag_page_shows_history_and_outreach_with_who_and_when(client, staff, patient_a, now):
    # given
    from flags.services import flag_acknowledge, outreach_log

    flag = FlagFactory(patient=patient_a)
    flag_acknowledge(flag=flag, actor=staff, now=now - timedelta(hours=2))
    outreach_log(flag=flag, actor=staff, channel="call", outcome="no_answer",
                 note="Voicemail full", now=now - timedelta(hours=1))
    client.force_login(staff)
    # when
    response = client.get(reverse("flag_detail", args=[flag.pk]))
    # then
    body = response.content.decode()
    assert [e.kind for e in response.context["events"]] == ["acknowledged", "outreach"]
    assert f"Acknowledged by {staff.display_name}" in body
    assert f"Phone call by {staff.display_name}: No answer" in body
    assert "Voicemail full" in body


def test_a_flag_page_view_is_audited(client, staff, patient_a):
    # given
    flag = FlagFactory(patient=patient_a)
    client.force_login(staff)
    # when
    client.get(reverse("flag_detail", args=[flag.pk]))
    # then
    event = AuditEvent.objects.get(object_type="flag")
    assert (event.actor, event.patient, event.action, event.allowed, event.object_id) == (
        staff, patient_a, "view", True, str(flag.pk))


def test_dermatologists_of_the_clinic_may_open_a_flag(client, derm, patient_a):
    flag = FlagFactory(patient=patient_a)
    client.force_login(derm)
    assert client.get(reverse("flag_detail", args=[flag.pk])).status_code == 200


# --- The dermatologist's patient list and the patient page -----------------------------------


def test_patient_list_shows_open_flag_badges_per_patient(client, derm, patient_a, patient_b):
    # given
    FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET)
    FlagFactory(patient=patient_a, rule=Rule.SATISFACTION_DROP)
    FlagFactory(patient=patient_b, state=State.RESOLVED, resolved_at=timezone.now(),
                resolution="supported")
    client.force_login(derm)
    # when
    rows = {p.pk: p.open_flags for p in client.get(reverse("my_patients")).context["page"]}
    # then
    assert {r.rule for r in rows[patient_a.pk]} == {Rule.GONE_QUIET, Rule.SATISFACTION_DROP}
    assert rows[patient_b.pk] == []


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("my_patients"))
    assert response.status_code == 200
    return len(captured)


def test_patient_list_query_count_does_not_grow_with_flagged_patients(client, derm):
    # given: 3 patients with plans and flags (one escalated), then 20 more
    def flagged_patient(escalated: bool) -> None:
        patient = PatientFactory(dermatologist=derm)
        plan_for(patient, author=derm)
        FlagFactory(patient=patient, rule=Rule.GONE_QUIET)
        FlagFactory(patient=patient, rule=Rule.ALLIANCE_AT_RISK,
                    escalated_at=timezone.now() if escalated else None)

    for n in range(3):
        flagged_patient(escalated=n == 0)
    client.force_login(derm)
    few = _list_queries(client)
    for n in range(20):
        flagged_patient(escalated=n % 2 == 0)
    # then
    assert _list_queries(client) == few


def test_alliance_at_risk_section_comes_first_with_own_routed_flags(client, derm, clinic,
                                                                   patient_a, patient_b):
    # given
    at_risk = FlagFactory(patient=patient_a, rule=Rule.ALLIANCE_AT_RISK,
                          evidence=flag_evidence(summary="Pulse and satisfaction fell together."))
    escalated = FlagFactory(patient=patient_b, rule=Rule.GONE_QUIET,
                            escalated_at=timezone.now())
    FlagFactory(patient=patient_b, rule=Rule.ADHERENCE_DROP)  # staff still on it
    FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET, escalated_at=timezone.now(),
                state=State.RESOLVED, resolved_at=timezone.now(), resolution="supported")
    colleague = DermatologistFactory(membership=clinic)
    FlagFactory(patient=PatientFactory(dermatologist=colleague), rule=Rule.ALLIANCE_AT_RISK)
    client.force_login(derm)
    # when
    response = client.get(reverse("my_patients"), {"q": "nobody-matches"})
    # then
    assert response.context["at_risk"].flags == [at_risk, escalated]
    body = response.content.decode()
    assert body.index("Alliance at risk") < body.index("<table")
    assert "Pulse and satisfaction fell together." in body
    assert reverse("flag_detail", args=[at_risk.pk]) in body


def test_staff_patient_list_has_no_alliance_at_risk_section(client, staff, patient_a):
    FlagFactory(patient=patient_a, rule=Rule.ALLIANCE_AT_RISK)
    client.force_login(staff)
    response = client.get(reverse("my_patients"))
    assert response.context["at_risk"] is None
    assert 'id="at-risk-heading"' not in response.content.decode()


def test_patient_page_links_each_open_flag(client, staff, patient_a):
    # given
    flag = FlagFactory(patient=patient_a, rule=Rule.GONE_QUIET)
    resolved = FlagFactory(patient=patient_a, state=State.RESOLVED, resolved_at=timezone.now(),
                           resolution="supported")
    client.force_login(staff)
    # when
    body = client.get(reverse("patient_detail", args=[patient_a.pk])).content.decode()
    # then
    assert "Open flags" in body
    assert reverse("flag_detail", args=[flag.pk]) in body
    assert reverse("flag_detail", args=[resolved.pk]) not in body


# --- The patient's side ----------------------------------------------------------------------


def test_patient_sees_clinic_messages_and_nothing_labelled_a_flag(client, staff, patient_a,
                                                                   now):
    # given: the clinic wrote after a flag (outreach starts a conversation)
    flag = FlagFactory(patient=patient_a)
    thread = thread_start_from_clinic(patient=patient_a, by=staff, flag_id=flag.pk, now=now,
                                      body="How are you <b>getting on</b>?")
    client.force_login(patient_a.user)
    # when
    pages = [client.get(reverse(name)) for name in ("clinic_messages", "today", "my_plan")]
    pages.append(client.get(reverse("message_thread", args=[thread.pk])))
    # then
    listing, conversation = pages[0].content.decode(), pages[-1].content.decode()
    assert "Messages with your care team" in listing
    assert "How are you &lt;b&gt;getting on&lt;/b&gt;?" in listing
    assert "How are you &lt;b&gt;getting on&lt;/b&gt;?" in conversation
    assert staff.display_name in conversation
    for page in pages:
        assert page.status_code == 200
        assert "flag" not in page.content.decode().lower()
        assert f'href="{reverse("clinic_messages")}"' in page.content.decode()


def test_patients_see_only_their_own_messages(client, staff, patient_a, patient_b, now):
    # given
    thread_start_from_clinic(patient=patient_b, by=staff, body="For patient B only", now=now,
                             flag_id=FlagFactory(patient=patient_b).pk)
    client.force_login(patient_a.user)
    # when
    body = client.get(reverse("clinic_messages")).content.decode()
    # then
    assert "For patient B only" not in body
    assert "No messages yet" in body


def test_clinicians_cannot_open_the_patient_messages_page(client, staff, derm):
    for clinician in (staff, derm):
        client.force_login(clinician)
        assert client.get(reverse("clinic_messages")).status_code == 404
