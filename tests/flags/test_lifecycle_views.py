"""The review lifecycle through the flag page's forms: acknowledge/assign, log outreach (with a
message the patient reads), escalate, resolve; validation, refusals and the audit trail."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from flags.models import Flag, FlagEvent, Outreach, Resolution, State
from flags.services import flag_resolve
from tests.factories import FlagFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag(patient_a, now):
    """An open flag; the clock held at ``now`` for the pages and the services alike."""
    return FlagFactory(patient=patient_a)


def act(client, flag, action, data, **headers):
    return client.post(reverse(f"flag_{action}", args=[flag.pk]),
                       {f"{action}-{key}": value for key, value in data.items()}, **headers)


def page_after(client, response) -> str:
    """The page a PRG redirect leads to (with its message)."""
    assert response.status_code == 302
    return client.get(response.url).content.decode()


def snapshot(flag) -> tuple:
    flag.refresh_from_db()
    return (flag.state, flag.assigned_to_id, flag.escalated_at, flag.resolution,
            flag.events.count(), flag.outreach.count())


def unchanged(flag, before: tuple) -> bool:
    return snapshot(flag) == before


# --- Acknowledge and assign -----------------------------------------------------------------


def test_acknowledging_assigns_the_flag_to_me_and_redirects_back(client, staff, flag):
    # given
    client.force_login(staff)
    # when
    response = act(client, flag, "acknowledge", {"assignee": staff.pk})
    # then
    assert response.url == reverse("flag_detail", args=[flag.pk])
    assert "Acknowledged and assigned to you." in page_after(client, response)
    flag.refresh_from_db()
    assert (flag.state, flag.assigned_to) == (State.ACKNOWLEDGED, staff)
    assert flag.events.get().kind == FlagEvent.Kind.ACKNOWLEDGED


def test_a_flag_can_be_assigned_to_a_colleague_and_reassigned(client, staff, derm, clinic, flag):
    # given
    colleague = StaffFactory(membership=clinic)
    client.force_login(staff)
    # when
    act(client, flag, "acknowledge", {"assignee": colleague.pk})
    response = act(client, flag, "acknowledge", {"assignee": derm.pk})
    # then
    assert f"Assigned to {derm.display_name}." in page_after(client, response)
    flag.refresh_from_db()
    assert (flag.state, flag.assigned_to) == (State.ACKNOWLEDGED, derm)
    assert [e.kind for e in flag.events.all()] == ["acknowledged", "assigned"]


def test_assigning_to_someone_outside_the_clinic_is_a_form_error(
    client, staff, other_staff, patient_b, flag
):
    # given
    client.force_login(staff)
    before = snapshot(flag)
    for outsider in (other_staff, patient_b.user):
        # when
        response = act(client, flag, "acknowledge", {"assignee": outsider.pk})
        # then
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
        assert "Nothing was saved" in response.content.decode()
    assert unchanged(flag, before)


def test_the_assignee_choices_are_the_clinics_staff_and_dermatologists(
    client, staff, derm, other_staff, flag
):
    client.force_login(staff)
    response = client.get(reverse("flag_detail", args=[flag.pk]))
    choices = set(response.context["forms"]["acknowledge"].fields["assignee"].queryset)
    assert choices == {staff, derm}


# --- Outreach and the patient's messages ------------------------------------------------------


def test_outreach_is_logged_with_its_message(client, staff, flag):
    # given
    client.force_login(staff)
    # when
    response = act(client, flag, "outreach", {
        "channel": "call", "outcome": "reached", "note": "Busy at work; <i>keen</i> to continue",
        "message_to_patient": "Lovely to talk. Try the gel <b>at night</b> only.",
    })
    # then: logged, the flag acknowledged on the way
    staff_page = page_after(client, response)
    assert ("Outreach logged. The patient can read your message in the portal and answer it."
            in staff_page)
    assert "Busy at work; &lt;i&gt;keen&lt;/i&gt; to continue" in staff_page
    outreach = Outreach.objects.get()
    assert (outreach.by, outreach.channel, outreach.outcome) == (staff, "call", "reached")
    flag.refresh_from_db()
    assert flag.state == State.ACKNOWLEDGED
    # (the patient's side, the outreach message as the start of a conversation on their
    # "Messages" page, is tested with the outreach's conversion: tests/messaging)


def test_outreach_without_channel_or_outcome_saves_nothing(client, staff, flag):
    # given
    client.force_login(staff)
    before = snapshot(flag)
    # when
    response = act(client, flag, "outreach", {"note": "tried"})
    # then
    assert response.status_code == 200
    assert response.context["forms"]["outreach"].errors.keys() == {"channel", "outcome"}
    assert unchanged(flag, before)


def test_a_portal_message_needs_its_text(client, staff, flag):
    client.force_login(staff)
    before = snapshot(flag)
    response = act(client, flag, "outreach", {"channel": "message", "outcome": "sent"})
    assert "Write the message for a portal message." in response.content.decode()
    assert unchanged(flag, before)


def test_outreach_without_a_message_shows_nothing_to_the_patient(client, staff, flag, patient_a):
    client.force_login(staff)
    act(client, flag, "outreach", {"channel": "call", "outcome": "no_answer"})
    client.force_login(patient_a.user)
    assert "No messages yet" in client.get(reverse("clinic_messages")).content.decode()


# --- Escalation -------------------------------------------------------------------------------


def test_escalating_puts_the_flag_in_the_dermatologists_alliance_at_risk(
    client, staff, derm, flag, now
):
    # given
    client.force_login(staff)
    # when
    response = act(client, flag, "escalate", {"note": "Says the plan <b>hurts</b>; please call"})
    # then: dated by the request's clock (held at ``now``)
    assert f"Escalated to {derm.display_name}." in page_after(client, response)
    flag.refresh_from_db()
    assert flag.escalated_at == flag.updated_at == flag.events.get().at == now
    client.force_login(derm)
    my_patients = client.get(reverse("my_patients"))
    assert my_patients.context["at_risk"].flags == [flag]
    assert "Says the plan &lt;b&gt;hurts&lt;/b&gt;; please call" in my_patients.content.decode()


@pytest.mark.parametrize("note", ["", "   "])
def test_escalating_needs_a_note(client, staff, flag, note):
    client.force_login(staff)
    before = snapshot(flag)
    response = act(client, flag, "escalate", {"note": note})
    assert response.status_code == 200
    assert response.context["forms"]["escalate"].errors["note"]
    assert unchanged(flag, before)


def test_escalating_twice_is_refused_with_a_message(client, staff, flag):
    # given
    client.force_login(staff)
    act(client, flag, "escalate", {"note": "First"})
    before = snapshot(flag)
    # when
    response = act(client, flag, "escalate", {"note": "Second"})
    # then
    assert "already with the dermatologist" in page_after(client, response)
    assert unchanged(flag, before)


# --- Resolution -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error_field"),
    [
        ({}, "resolution"),
        ({"resolution": "made_up"}, "resolution"),
        ({"resolution": Resolution.OTHER}, "note"),
        ({"resolution": Resolution.OTHER, "note": "   "}, "note"),
        ({"resolution": Resolution.SUPPORTED, "note": "x" * 2001}, "note"),
    ],
)
def test_an_invalid_resolution_shows_the_error_and_saves_nothing(client, staff, flag, data,
                                                                error_field):
    # given
    client.force_login(staff)
    before = snapshot(flag)
    # when
    response = act(client, flag, "resolve", data)
    # then
    assert response.status_code == 200
    assert list(response.context["forms"]["resolve"].errors) == [error_field]
    assert "Nothing was saved" in response.content.decode()
    assert unchanged(flag, before)


@pytest.mark.parametrize(
    ("data", "note"),
    [
        ({"resolution": Resolution.SUPPORTED}, ""),
        ({"resolution": Resolution.UNREACHABLE, "note": "Three calls"}, "Three calls"),
        ({"resolution": Resolution.OTHER, "note": "Moved clinic"}, "Moved clinic"),
    ],
)
def test_resolving_closes_the_flag_and_takes_it_off_the_queue(client, staff, flag, data, note):
    # given
    client.force_login(staff)
    # when
    response = act(client, flag, "resolve", data)
    # then
    assert "Resolved:" in page_after(client, response)
    flag.refresh_from_db()
    assert (flag.state, flag.resolution, flag.resolution_note, flag.resolved_by) == (
        State.RESOLVED, data["resolution"], note, staff)
    assert flag not in client.get(reverse("flagged_patients")).context["page"].object_list


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("acknowledge", {"assignee": "STAFF"}),
        ("outreach", {"channel": "call", "outcome": "reached", "message_to_patient": "Hi"}),
        ("escalate", {"note": "Please look"}),
        ("resolve", {"resolution": Resolution.SUPPORTED}),
        ("resolve", {}),  # even invalid input gets the clear refusal, not form errors
    ],
)
def test_actions_on_a_resolved_flag_are_refused(client, staff, flag, action, data, now):
    # given
    flag_resolve(flag=flag, actor=staff, resolution=Resolution.NOT_A_CONCERN, now=now)
    before = snapshot(flag)
    client.force_login(staff)
    data = {k: staff.pk if v == "STAFF" else v for k, v in data.items()}
    # when
    response = act(client, flag, action, data)
    # then
    assert "This flag is already resolved, so nothing was changed." in page_after(client,
                                                                                  response)
    assert unchanged(flag, before)


def test_a_stale_page_cannot_undo_a_resolution(client, staff, flag, now):
    """Two people on the same flag: the second one's form was loaded before the first
    resolved it. The row lock re-reads the state, so nothing is written over."""
    # given
    client.force_login(staff)
    client.get(reverse("flag_detail", args=[flag.pk]))
    Flag.objects.filter(pk=flag.pk).update(state=State.RESOLVED, resolved_at=now,
                                           resolution=Resolution.SUPPORTED)
    # when
    response = act(client, flag, "acknowledge", {"assignee": staff.pk})
    # then
    assert "already resolved" in page_after(client, response)
    flag.refresh_from_db()
    assert (flag.state, flag.assigned_to) == (State.RESOLVED, None)


# --- Without and with htmx ---------------------------------------------------------------------


def test_get_on_an_action_url_is_not_allowed(client, staff, flag):
    client.force_login(staff)
    assert client.get(reverse("flag_resolve", args=[flag.pk])).status_code == 405


def test_htmx_gets_the_work_section_with_the_message_focused(client, staff, flag):
    # given
    client.force_login(staff)
    # when
    response = act(client, flag, "acknowledge", {"assignee": staff.pk}, HTTP_HX_REQUEST="true")
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "flags/_work.html"
    assert body.lstrip().startswith('<section id="flag-work"')
    assert 'role="status" tabindex="-1" autofocus>Acknowledged and assigned to you.' in body
    assert "<html" not in body
    flag.refresh_from_db()
    assert flag.state == State.ACKNOWLEDGED


def test_htmx_gets_form_errors_in_the_work_section(client, staff, flag):
    client.force_login(staff)
    response = act(client, flag, "resolve", {"resolution": "other"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx only
    assert 'role="alert"' in body
    assert "Say what happened" in body
    assert snapshot(flag)[0] == State.NEW


def test_htmx_gets_the_refusal_for_a_resolved_flag(client, staff, flag, now):
    flag_resolve(flag=flag, actor=staff, resolution=Resolution.SUPPORTED, now=now)
    client.force_login(staff)
    response = act(client, flag, "escalate", {"note": "x"}, HTTP_HX_REQUEST="true")
    assert "already resolved" in response.content.decode()
    assert "<form" not in response.content.decode()


# --- Who may act, and the audit trail -----------------------------------------------------------


def test_dermatologists_of_the_clinic_may_act_too(client, derm, flag):
    client.force_login(derm)
    act(client, flag, "resolve", {"resolution": Resolution.PLAN_CHANGED})
    flag.refresh_from_db()
    assert (flag.state, flag.resolved_by) == (State.RESOLVED, derm)


def test_staff_of_another_clinic_cannot_act_and_nothing_changes(client, other_staff, flag):
    client.force_login(other_staff)
    before = snapshot(flag)
    for action, data in (("acknowledge", {"assignee": other_staff.pk}),
                         ("resolve", {"resolution": "supported"})):
        assert act(client, flag, action, data).status_code == 404
    assert unchanged(flag, before)


def test_each_action_is_audited(client, staff, flag, patient_a):
    # given
    client.force_login(staff)
    # when
    act(client, flag, "acknowledge", {"assignee": staff.pk})
    act(client, flag, "outreach", {"channel": "email", "outcome": "sent"})
    act(client, flag, "escalate", {"note": "Please call"})
    act(client, flag, "resolve", {"resolution": "supported"})
    # then: the scoped read for each action and the change the service made
    events = AuditEvent.objects.filter(patient=patient_a, object_type__startswith="flag")
    reads = events.filter(object_type="flag", action="change", allowed=True)
    assert reads.count() == 4
    changes = set(events.exclude(object_type="flag").values_list("object_type", flat=True))
    assert changes == {"flag:acknowledged", "flag:outreach", "flag:escalated", "flag:resolved"}
    assert set(events.values_list("actor", flat=True)) == {staff.pk}


def test_a_refused_action_is_still_audited_as_an_attempt(client, staff, flag, patient_a, now):
    flag_resolve(flag=flag, actor=staff, resolution=Resolution.SUPPORTED, now=now)
    client.force_login(staff)
    act(client, flag, "escalate", {"note": "late"})
    assert AuditEvent.objects.filter(patient=patient_a, object_type="flag",
                                     action="change").count() == 1


def test_a_flag_of_a_patient_moved_to_another_clinic_is_out_of_reach(client, staff, flag,
                                                                     other_derm):
    """The patient's scope is checked too, not only the flag's clinic."""
    moved = PatientFactory(dermatologist=other_derm)
    Flag.objects.filter(pk=flag.pk).update(patient=moved)
    client.force_login(staff)
    assert client.get(reverse("flag_detail", args=[flag.pk])).status_code == 404
