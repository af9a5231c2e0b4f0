"""Flag badges come in one fixed order (the order of the rules), on every row and every page,
whatever each flag's severity and age."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flags.models import Rule
from tests.factories import FlagFactory, PatientFactory

pytestmark = pytest.mark.django_db

FLAG_LINK = re.compile(r'href="/clinic/flags/(\d+)/"')


@pytest.fixture
def two_patients_flagged_in_opposite_orders(derm):
    """Each has an adherence drop and a gone-quiet flag, with severity and age swapped."""
    now = timezone.now()
    rules = {}
    for name, (older, newer) in {
        "Avery": (Rule.GONE_QUIET, Rule.ADHERENCE_DROP),
        "Blake": (Rule.ADHERENCE_DROP, Rule.GONE_QUIET),
    }.items():
        patient = PatientFactory(dermatologist=derm, user__last_name=name)
        for rule, severity, opened_at in ((older, 3, now - timedelta(days=3)), (newer, 1, now)):
            flag = FlagFactory(patient=patient, rule=rule, severity=severity, opened_at=opened_at)
            rules[flag.pk] = rule
    return rules


def rules_in(html: str, rules: dict[int, str]) -> list[str]:
    return [rules[int(pk)] for pk in FLAG_LINK.findall(html) if int(pk) in rules]


def test_every_row_lists_its_badges_in_rule_order(client, derm,
                                                  two_patients_flagged_in_opposite_orders):
    # given
    rules = two_patients_flagged_in_opposite_orders
    client.force_login(derm)

    # when
    body = client.get(reverse("my_patients")).content.decode()
    rows = body[body.index("<tbody>"):body.index("</tbody>")].split("<tr>")[1:]

    # then: both rows read "Adherence drop, Gone quiet", the order of ``Rule``
    assert [rules_in(row, rules) for row in rows] == [
        [Rule.ADHERENCE_DROP, Rule.GONE_QUIET], [Rule.ADHERENCE_DROP, Rule.GONE_QUIET]]


def test_the_patient_page_lists_open_flags_in_the_same_order(
    client, derm, two_patients_flagged_in_opposite_orders
):
    # given
    rules = two_patients_flagged_in_opposite_orders
    client.force_login(derm)

    for patient in derm.patients_in_care.all():
        # when
        body = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
        section = body[body.index('id="flags-heading"'):body.index('id="profile-heading"')]

        # then
        assert rules_in(section, rules) == [Rule.ADHERENCE_DROP, Rule.GONE_QUIET]
