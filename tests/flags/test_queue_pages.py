"""The flag queue is paged first and only the page's flags are read in full: a fixed number of
queries, the right flags in the right order on every page, the dermatologist's "routed" filter
(the "See all" of their "Alliance at risk" panel), and never another clinic's flags."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flags.models import Rule, State
from tests.factories import DermatologistFactory, FlagFactory, PatientFactory, plan_for

pytestmark = pytest.mark.django_db

QUEUE = reverse("flagged_patients")
RULES = [Rule.ADHERENCE_DROP, Rule.GONE_QUIET, Rule.SATISFACTION_DROP, Rule.ALLIANCE_AT_RISK]


def flagged(derm, count: int, *, start: int = 0) -> list:
    """``count`` open flags, one patient each, severities and ages all different: in queue
    order (highest severity first, then the oldest) they come out as returned."""
    now = timezone.now()
    flags = []
    for n in range(start, start + count):
        patient = PatientFactory(dermatologist=derm)
        plan_for(patient, author=derm)
        flags.append(FlagFactory(
            patient=patient, rule=RULES[n % len(RULES)], severity=3 - n % 3,
            opened_at=now - timedelta(hours=1000 - n), assigned_to=derm if n % 2 else None,
            escalated_at=now if n % 5 == 0 else None,
            state=State.ACKNOWLEDGED if n % 4 == 1 else State.NEW))
    return sorted(flags, key=lambda f: (-f.severity, f.opened_at, f.pk))


def queries_of(client, **params) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(QUEUE, params)
    assert response.status_code == 200
    # The page is chosen on the flag's own columns: the query that limits reads no evidence
    # and joins no user; the page's rows are read whole afterwards, by id.
    (paging,) = [q["sql"] for q in captured if re.search(r"\bLIMIT \d+", q["sql"])
                 and "flags_flag" in q["sql"] and not q["sql"].startswith("SELECT COUNT")]
    assert '"evidence"' not in paging
    assert "accounts_user" not in paging
    return len(captured), list(response.context["page"].object_list)


def test_the_queue_costs_the_same_queries_for_3_and_40_flags(client, staff, derm):
    # given: 3 flags, each with a patient, an assignee on some, escalations
    flagged(derm, 3)
    client.force_login(staff)
    few, _ = queries_of(client)
    # when: 37 more (two pages)
    flagged(derm, 37, start=3)
    first, _ = queries_of(client)
    last, rows = queries_of(client, page=2)
    # then: the same count on both pages as with 3, and each row printed without more queries
    assert first == last == few
    with CaptureQueriesContext(connection) as rendering:
        for flag in rows:
            str(flag.patient.user.display_name)
            str(flag.patient.dermatologist.display_name)
            str(flag.assigned_to and flag.assigned_to.display_name)
    assert len(rendering) == 0


def test_first_and_last_pages_list_the_right_flags_in_queue_order(client, staff, derm):
    # given: 30 open flags and a resolved one
    expected = flagged(derm, 30)
    FlagFactory(patient=PatientFactory(dermatologist=derm), state=State.RESOLVED,
                resolved_at=timezone.now(), resolution="supported", severity=3)
    client.force_login(staff)
    # when
    _, first = queries_of(client)
    _, last = queries_of(client, page=2)
    body = client.get(QUEUE, {"page": 2}).content.decode()
    # then
    assert first == expected[:25]
    assert last == expected[25:]
    assert "Page 2 of 2" in body
    assert "26 to 30 on this page" in body
    assert all(f.patient.user.display_name in body for f in expected[25:])


def test_the_routed_filter_lists_what_the_dermatologists_panel_lists(client, derm, clinic):
    # given: at-risk and escalated flags of the dermatologist's patients, other flags, a
    # colleague's at-risk flag
    flags = flagged(derm, 12)
    routed = [f for f in flags if f.rule == Rule.ALLIANCE_AT_RISK or f.escalated_at]
    colleague = DermatologistFactory(membership=clinic)
    FlagFactory(patient=PatientFactory(dermatologist=colleague), rule=Rule.ALLIANCE_AT_RISK)
    client.force_login(derm)
    # when
    _, listed = queries_of(client, routed="on", dermatologist=derm.pk)
    # then
    assert listed == routed
    assert len(routed) < len(flags)


def test_another_clinics_flags_never_appear_on_any_page(client, staff, derm, other_clinic):
    # given: 30 flags here, 30 in another clinic (at risk and escalated too)
    ours = flagged(derm, 30)
    theirs = flagged(DermatologistFactory(membership=other_clinic), 30)
    client.force_login(staff)
    # when
    pages = [queries_of(client, page=number, **filters)[1]
             for filters in ({}, {"dermatologist": ""}, {"routed": "on"}, {"state": "new"})
             for number in (1, 2)]
    # then
    shown = {flag.pk for page in pages for flag in page}
    assert shown <= {flag.pk for flag in ours}
    assert not shown & {flag.pk for flag in theirs}
    body = client.get(QUEUE, {"page": 2}).content.decode()
    assert not any(flag.patient.user.email in body for flag in theirs)
