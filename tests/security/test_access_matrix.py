"""The access matrix: every URL pattern the project resolves x every role -> the expected status.

URLs are enumerated from the resolver, so a new URL fails ``test_every_url_has_an_expectation``
until someone decides who may open it. Every object id in a URL belongs to patient B (of the
clinic of ``derm``/``staff``); patient A is patient B's neighbour in the same clinic. Foreign
objects are 404, anonymous visitors are sent to the login page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from careplans.models import Concern, PlanRevision
from careplans.services import concern_raise
from flags.models import Flag
from reminders.services import unsubscribe_link_issue
from tests.factories import FlagFactory, plan_for

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "patient_a", "patient_b", "derm", "other_derm", "staff", "other_staff")
LOGIN = "login"  # a redirect to the login page
REDIRECT = "redirect"  # a redirect elsewhere (e.g. a role's home)
ANY_BUT_5XX = "not 5xx"  # allauth's own pages: they decide; they must never fail


@dataclass(frozen=True)
class Expect:
    anonymous: str | int = LOGIN
    patient_a: str | int = 404
    patient_b: str | int = 404
    derm: str | int = 404
    other_derm: str | int = 404
    staff: str | int = 404
    other_staff: str | int = 404


PATIENT_PAGE = Expect(patient_a=200, patient_b=200)  # the patient's own pages, no ids
PATIENT_B_OBJECT = Expect(patient_b=200)  # a page about one of patient B's own objects
CLINIC_PAGE = Expect(derm=200, other_derm=200, staff=200, other_staff=200)  # no ids: own clinic
CLINIC_DERM_PAGE = Expect(derm=200, other_derm=200)
B_RECORD = Expect(derm=200, staff=200)  # patient B's record: clinicians of B's clinic
B_RECORD_DERM = Expect(derm=200)  # changes to B's plan/profile: B's dermatologist's clinic
B_RECORD_DERM_POST_ONLY = Expect(derm=405)
B_FLAG_POST_ONLY = Expect(derm=405, staff=405)
PUBLIC = Expect(*(ANY_BUT_5XX,) * 7)
ADMIN = Expect(*(REDIRECT,) * 7)  # nobody here is a site administrator

EXPECTED: dict[str, Expect] = {
    "home": Expect(*(REDIRECT,) * 7),
    "healthz": Expect(*(200,) * 7),
    "access_log": PATIENT_PAGE,
    "patient_invite": CLINIC_DERM_PAGE,
    "invitation_accept": PUBLIC,
    "reminders_unsubscribe": PUBLIC,
    "my_plan": PATIENT_PAGE,
    "my_plan_history": PATIENT_PAGE,
    "my_profile": PATIENT_PAGE,
    "today": PATIENT_PAGE,
    "checkin_history": PATIENT_PAGE,
    "reminder_settings": PATIENT_PAGE,
    "clinic_messages": PATIENT_PAGE,
    "raise_concern": PATIENT_B_OBJECT,
    "flagged_patients": CLINIC_PAGE,
    "my_patients": CLINIC_PAGE,
    "clinic_audit_log": CLINIC_PAGE,
    "flag_detail": B_RECORD,
    "flag_acknowledge": B_FLAG_POST_ONLY,
    "flag_outreach": B_FLAG_POST_ONLY,
    "flag_escalate": B_FLAG_POST_ONLY,
    "flag_resolve": B_FLAG_POST_ONLY,
    "patient_detail": B_RECORD,
    "plan_history": B_RECORD,
    "patient_profile_edit": B_RECORD_DERM,
    "plan_edit": B_RECORD_DERM,
    "plan_fit": B_RECORD_DERM_POST_ONLY,
    "concern_reply": B_RECORD_DERM_POST_ONLY,
    # The admin signs in through allauth; a signed-in non-administrator is refused outright.
    "admin:login": Expect(LOGIN, *(403,) * 6),
}


def _url_patterns(resolver: URLResolver | None = None, namespace: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


ALL_PATTERNS = [(ns, p) for ns, p in _url_patterns()]
NAMED = sorted({f"{ns}{p.name}" for ns, p in ALL_PATTERNS if p.name})


def expectation(name: str) -> Expect | None:
    if name in EXPECTED:
        return EXPECTED[name]
    if name.startswith("admin:"):
        return ADMIN
    if name.startswith(("account_", "mfa_")):
        return PUBLIC
    return None


def test_every_url_has_an_expectation():
    # A new URL must be placed in the matrix before it can ship.
    missing = [name for name in NAMED if expectation(name) is None]
    unnamed = [str(p.pattern) for ns, p in ALL_PATTERNS if not p.name and not ns]
    assert missing == []
    assert unnamed == []
    assert len(NAMED) > 40


@pytest.fixture
def world(client, patient_a, patient_b, derm, other_derm, staff, other_staff):
    """Patient B's objects: a plan, a concern on one of its steps, a flag."""
    revision = plan_for(patient_b, author=derm)
    item = revision.items.first()
    concern = concern_raise(patient=patient_b, revision=revision, item=item, category="cost",
                            text="Too dear")
    flag = FlagFactory(patient=patient_b)
    users = {"anonymous": None, "patient_a": patient_a.user, "patient_b": patient_b.user,
             "derm": derm, "other_derm": other_derm, "staff": staff, "other_staff": other_staff}
    values = {
        "patient_id": patient_b.pk, "flag_id": flag.pk, "concern_id": concern.pk,
        "item_key": item.key, "uidb64": "MQ",
        "token": unsubscribe_link_issue(patient_id=patient_b.pk, now=timezone.now()),
        "uidb36": "1", "key": "not-a-key", "object_id": "1", "content_type_id": "1", "id": "1",
        "app_label": "accounts",
    }
    return users, values, flag


def _reverse(name: str, values: dict) -> str:
    """The URL of ``name`` with patient B's ids (and harmless values for the rest)."""
    namespace, _, short = name.rpartition(":")
    resolver = get_resolver()
    if namespace:
        resolver = resolver.namespace_dict[namespace][1]
    params = resolver.reverse_dict.getlist(short)[0][0][0][1]
    return reverse(name, kwargs={param: values[param] for param in params})


def _matches(expected: str | int, response) -> bool:
    status = response.status_code
    if expected == LOGIN:
        return status == 302 and reverse("account_login") in response.url
    if expected == REDIRECT:
        return status == 302
    if expected == ANY_BUT_5XX:
        return status < 500
    return status == expected


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_expected(client, world, role):
    # given
    users, values, _flag = world
    if users[role] is not None:
        client.force_login(users[role])
    # when
    wrong = []
    for name in NAMED:
        expected = getattr(expectation(name), role)
        response = client.get(_reverse(name, values))
        if not _matches(expected, response):
            wrong.append((name, expected, response.status_code))
        if users[role] is not None:  # a page may end the session (e.g. sign-out): start over
            client.force_login(users[role])
    # then
    assert wrong == []


@pytest.mark.parametrize("role", ["patient_a", "other_derm", "other_staff", "anonymous"])
def test_posting_to_patient_b_urls_changes_nothing_for_outsiders(client, world, role):
    # given
    users, values, flag = world
    if users[role] is not None:
        client.force_login(users[role])
    before = Flag.objects.values().get(pk=flag.pk)
    # when
    statuses = {}
    for name in NAMED:
        url = _reverse(name, values)
        if not re.search(r"<(int|uuid):(patient_id|flag_id|concern_id|item_key)>", _route(name)):
            continue
        statuses[name] = client.post(url, {"state": "resolved", "resolution": "other",
                                           "note": "x", "channel": "call", "outcome": "reached",
                                           "category": "cost", "text": "x", "reply": "xx"}
                                     ).status_code
    # then
    expected = 302 if role == "anonymous" else 404
    assert statuses
    assert set(statuses.values()) == {expected}
    assert Flag.objects.values().get(pk=flag.pk) == before
    assert not flag.events.exists()
    assert Concern.objects.get(pk=values["concern_id"]).reply == ""
    assert Concern.objects.filter(patient_id=values["patient_id"]).count() == 1
    assert PlanRevision.objects.filter(plan__patient_id=values["patient_id"]).count() == 1


def _route(name: str) -> str:
    for ns, pattern in ALL_PATTERNS:
        if f"{ns}{pattern.name}" == name:
            return str(pattern.pattern)
    return ""
