""""My patients" is paged first (names and ids only) and only the page's rows get their plan fit,
open concerns, last check-in and open flags: a fixed number of queries, the right rows in the
right order on the first, middle and last pages, a capped "Alliance at risk" panel linking to
all of them, and never another clinic's patients or flags."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from careplans.models import Concern
from checkins.models import CheckIn
from clinic import selectors
from flags.models import Rule
from tests.factories import DermatologistFactory, FlagFactory, PatientFactory, plan_for

pytestmark = pytest.mark.django_db

LIST = reverse("my_patients")
DETAIL_TABLES = ("checkins_checkin", "careplans_concern", "careplans_planrevision", "flags_flag")


def patients_of(derm, count: int, *, start: int = 0, surname=None, **names) -> list:
    """``count`` patients, each with a plan, a check-in ``n`` days ago, ``n % 3`` open
    concerns and an open flag: their details all differ."""
    patients = []
    for n in range(start, start + count):
        patient = PatientFactory(dermatologist=derm,
                                 user__last_name=surname or f"Surname{n:03d}", **names)
        revision = plan_for(patient, author=derm)
        CheckIn.objects.create(patient=patient, revision=revision, steps_due=1, steps_done=1,
                               local_date=patient.local_today() - timedelta(days=n % 20))
        for _ in range(n % 3):
            Concern.objects.create(patient=patient, item_key=revision.items.get().key,
                                   item_name="x", raised_on_revision=revision,
                                   category="unclear")
        FlagFactory(patient=patient, rule=Rule.GONE_QUIET if n % 2 else Rule.ADHERENCE_DROP)
        patients.append(patient)
    return patients


def in_list_order(patients) -> list:
    return sorted(patients, key=lambda p: (p.user.last_name, p.user.first_name, p.user_id))


def get_page(client, **params) -> tuple[int, list, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params)
    assert response.status_code == 200
    # The page is chosen on names and ids: no per-patient detail is computed in the query
    # that limits, only in the queries for the page's rows.
    paging = [q["sql"] for q in captured
              if re.search(r'"first_name" (ASC|DESC).* LIMIT \d+', q["sql"])]
    assert paging
    assert not any(table in sql for sql in paging for table in DETAIL_TABLES), paging
    return len(captured), list(response.context["page"].object_list), response.content.decode()


def test_the_list_costs_the_same_queries_for_3_and_40_patients(client, derm):
    # given: 3 patients with plans, check-ins, concerns and flags
    patients_of(derm, 3)
    client.force_login(derm)
    few, _, _ = get_page(client)
    few_searched, _, _ = get_page(client, q="surname0")
    # when: 37 more (two pages)
    patients_of(derm, 37, start=3)
    first, _, _ = get_page(client)
    last, _, _ = get_page(client, page=2)
    searched, _, _ = get_page(client, q="surname0", page=2)
    # then: a search counts its matches in the query that pages them
    assert first == last == few
    assert searched == few_searched == first - 1


def test_first_middle_and_last_pages_show_the_right_rows_in_order(client, derm):
    # given: 60 patients (three pages); six of them share a whole name and straddle the
    # boundary of pages 1 and 2 (25th to 30th), which only their user ids order
    patients = patients_of(derm, 54) + patients_of(
        derm, 6, start=54, surname="Surname0235", user__first_name="Sam")
    expected = in_list_order(patients)
    client.force_login(derm)
    # when
    pages = [get_page(client, page=number)[1:] for number in (1, 2, 3)]
    # then: every patient once, in order (the later pages are read from the end)
    assert [p.user.last_name for p in expected[24:30]] == ["Surname0235"] * 6
    assert [p.pk for rows, _ in pages for p in rows] == [p.pk for p in expected]
    assert [len(rows) for rows, _ in pages] == [25, 25, 10]
    assert "Page 3 of 3" in pages[2][1]
    assert 'page=3">Last</a>' in pages[0][1]
    assert 'page=1">First</a>' in pages[2][1]


def test_each_row_shows_its_own_details_on_the_last_page(client, derm):
    # given
    patients = patients_of(derm, 30)
    client.force_login(derm)
    # when
    _, rows, body = get_page(client, page=2)
    # then: the last five by name, each with its own check-in, concerns and flag
    assert [row.pk for row in rows] == [p.pk for p in in_list_order(patients)[25:]]
    by_pk = {p.pk: p for p in patients}
    for row in rows:
        patient = by_pk[row.pk]
        n = int(patient.user.last_name.removeprefix("Surname"))
        assert row.name == patient.user.display_name
        assert row.last_checkin_date == patient.local_today() - timedelta(days=n % 20)
        assert row.open_concern_count == n % 3
        rule = Rule.GONE_QUIET if n % 2 else Rule.ADHERENCE_DROP
        assert [(flag.rule, flag.label) for flag in row.open_flags] == [(rule, rule.label)]
        assert row.fit["label"] != "No plan yet"
        assert patient.user.email in body


def test_search_finds_names_and_emails_in_the_clinic_only(client, derm, clinic, other_clinic):
    # given: matches in this clinic (one a colleague's patient), one in another clinic
    mine = PatientFactory(dermatologist=derm, user__last_name="Quartermaine")
    by_email = PatientFactory(dermatologist=derm, user__email="quarter.m@example.test")
    colleagues = PatientFactory(dermatologist=DermatologistFactory(membership=clinic),
                                user__first_name="Quartz")
    foreign = PatientFactory(dermatologist=DermatologistFactory(membership=other_clinic),
                             user__last_name="Quartermaine")
    patients_of(derm, 3)
    client.force_login(derm)
    # when
    _, own, _ = get_page(client, q="QUART")
    _, whole_clinic, body = get_page(client, q="quart", scope="all")
    # then
    assert {p.pk for p in own} == {mine.pk, by_email.pk}
    assert {p.pk for p in whole_clinic} == {mine.pk, by_email.pk, colleagues.pk}
    assert foreign.user.email not in body
    assert "3 patients matching “quart”" in body


def test_search_results_page_in_list_order(client, derm):
    # given: 30 matches (two pages, the second read from the end) among 40 patients
    matches = patients_of(derm, 30, surname=None)
    patients_of(derm, 10, start=30, surname="Other")
    client.force_login(derm)
    # when
    first = get_page(client, q="surname")[1]
    last = get_page(client, q="surname", page=2)[1]
    # then
    assert [p.pk for p in first + last] == [p.pk for p in in_list_order(matches)]


@pytest.mark.parametrize(("asked", "shown"), [("2", 2), ("9", 2), ("0", 2), ("two", 1), ("", 1)])
def test_a_search_pages_as_the_list_does(client, derm, asked, shown):
    # given: 30 matches (two pages)
    matches = in_list_order(patients_of(derm, 30))
    client.force_login(derm)
    # when: a page number, past the end, below the first, or not a number
    _, rows, body = get_page(client, q="surname", page=asked)
    # then: the page Django's paginator would show (the last for a number out of range, the
    # first for anything else), with the count of all the matches
    start = 25 * (shown - 1)
    assert [p.pk for p in rows] == [p.pk for p in matches[start:start + 25]]
    assert f"Page {shown} of 2" in body
    assert "30 patients matching “surname”" in body


def test_a_search_without_matches_says_so(client, derm):
    # given
    patients_of(derm, 3)
    client.force_login(derm)
    # when
    response = client.get(LIST, {"q": "nobody-by-this-name"})
    # then
    body = response.content.decode()
    assert "0 patients matching “nobody-by-this-name”" in body
    assert "No patients found." in body


def test_another_clinics_patients_never_appear_on_any_page(client, derm, other_clinic):
    # given: 30 patients here and 30 there, same names
    patients_of(derm, 30)
    theirs = patients_of(DermatologistFactory(membership=other_clinic), 30)
    client.force_login(derm)
    # when
    pages = [get_page(client, page=n, **extra) for extra in ({}, {"scope": "all"}) for n in (1, 2)]
    # then
    shown = {p.pk for _, rows, _ in pages for p in rows}
    assert len(shown) == 30
    assert not shown & {p.pk for p in theirs}
    assert not any(p.user.email in body for _, _, body in pages for p in theirs)


# --- The "Alliance at risk" panel --------------------------------------------------------------


def routed_flags(derm, count: int) -> list:
    """``count`` flags routed to the dermatologist (at risk, or escalated), in queue order."""
    now = timezone.now()
    flags = [FlagFactory(patient=PatientFactory(dermatologist=derm),
                         rule=Rule.ALLIANCE_AT_RISK if n % 2 else Rule.GONE_QUIET,
                         escalated_at=None if n % 2 else now, severity=1 + n % 3,
                         opened_at=now - timedelta(hours=n))
             for n in range(count)]
    return sorted(flags, key=lambda f: (-f.severity, f.opened_at, f.pk))


def test_the_panel_shows_the_first_five_and_links_to_all(client, derm, clinic, other_clinic):
    # given: 8 routed flags; a colleague's and another clinic's at-risk flags
    flags = routed_flags(derm, 8)
    FlagFactory(patient=PatientFactory(dermatologist=DermatologistFactory(membership=clinic)),
                rule=Rule.ALLIANCE_AT_RISK)
    foreign = FlagFactory(rule=Rule.ALLIANCE_AT_RISK, patient=PatientFactory(
        dermatologist=DermatologistFactory(membership=other_clinic)))
    client.force_login(derm)
    # when
    response = client.get(LIST)
    body = response.content.decode()
    link = re.search(r'<a href="([^"]+)">See all 8 in the flag queue</a>', body)
    queue = client.get(link.group(1).replace("&amp;", "&"))
    # then: the panel's five are the queue's first five; the link lists all eight
    assert response.context["at_risk"].flags == flags[:5]
    panel = body[body.index('id="at-risk-heading"'):body.index("</section>")]
    assert panel.count("/clinic/flags/") == 5
    assert list(queue.context["page"].object_list) == flags
    assert foreign.patient.user.display_name not in body
    assert foreign not in queue.context["page"].object_list


def test_the_panel_has_no_link_when_it_shows_everything(client, derm):
    # given
    routed_flags(derm, 5)
    client.force_login(derm)
    # when
    body = client.get(LIST).content.decode()
    # then
    assert "See all" not in body


def test_the_panel_counts_no_further_than_its_cap(client, derm, monkeypatch):
    # given: more routed flags than the cap
    monkeypatch.setattr(selectors, "AT_RISK_COUNT_CAP", 6)
    routed_flags(derm, 9)
    client.force_login(derm)
    # when
    with CaptureQueriesContext(connection) as captured:
        body = client.get(LIST).content.decode()
    # then
    assert "See all 6+ in the flag queue" in body
    assert any(re.search(r"LIMIT 7\b", q["sql"]) for q in captured)
