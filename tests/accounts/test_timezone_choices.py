"""The time zone picker: current canonical names grouped by region, the clinic's zone first,
legacy aliases not offered (one definition for the invitation and the profile forms)."""

import re
from datetime import UTC, datetime
from zoneinfo import available_timezones

import pytest
from django.urls import reverse

from accounts.forms import PatientInviteForm
from careplans.forms import ProfileForm
from careplans.selectors import profile_for
from tests.factories import ClinicFactory, DermatologistFactory, PatientFactory

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)

pytestmark = pytest.mark.django_db

LEGACY_ALIASES = ["US/Eastern", "GB", "EST5EDT", "Etc/GMT+5", "Europe/Belfast", "Japan"]


def offered(field) -> dict[str, list[str]]:
    """{optgroup label: [zone names]} of a grouped ChoiceField."""
    return {group: [name for name, _label in zones] for group, zones in field.choices}


def test_the_invitation_offers_canonical_zones_by_region_with_the_clinics_first():
    # given: a clinic in Berlin
    clinic = ClinicFactory(timezone="Europe/Berlin")

    # when
    groups = offered(PatientInviteForm(clinic=clinic, now=NOW).fields["timezone"])

    # then: the clinic's zone leads, then one group per region
    assert next(iter(groups)) == "This clinic's time zone"
    assert groups["This clinic's time zone"] == ["Europe/Berlin"]
    assert {"Africa", "Americas", "Asia", "Europe", "Pacific Ocean"} <= set(groups)
    assert "Europe/Oslo" in groups["Europe"]
    assert "America/Sao_Paulo" in groups["Americas"]
    names = [name for zones in groups.values() for name in zones]
    # no legacy alias, and far fewer than the ~600 names zoneinfo knows
    assert not set(LEGACY_ALIASES) & set(names)
    assert len(set(names)) < 450 < len(available_timezones())
    assert PatientInviteForm(clinic=clinic, now=NOW).fields["timezone"].initial == "Europe/Berlin"


def test_the_invitation_page_renders_one_optgroup_per_region(client):
    # given
    derm = DermatologistFactory(membership=ClinicFactory(timezone="America/New_York"))
    client.force_login(derm)

    # when
    body = client.get(reverse("patient_invite")).content.decode()

    # then: the clinic's zone is the first option, selected, and regions are <optgroup>s
    select = body[body.index('<select name="timezone"'):body.index("</select>")]
    first_option = re.search(r"<option[^>]*>", select).group(0)
    assert 'value="America/New_York"' in first_option
    assert "selected" in first_option
    assert '<optgroup label="Europe">' in select
    assert "New York, United States" in select
    assert 'value="US/Eastern"' not in select


def test_an_invitation_with_a_legacy_alias_is_refused():
    # given
    clinic = ClinicFactory(timezone="Europe/London")
    data = {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.test"}

    # when / then
    assert PatientInviteForm({**data, "timezone": "Europe/Lisbon"}, clinic=clinic,
                             now=NOW).is_valid()
    assert not PatientInviteForm({**data, "timezone": "US/Eastern"}, clinic=clinic,
                                 now=NOW).is_valid()


def test_the_profile_picker_puts_the_clinics_zone_first_and_keeps_a_saved_legacy_zone():
    # given: a London clinic's patient whose saved zone is a legacy alias
    patient = PatientFactory(
        dermatologist=DermatologistFactory(membership=ClinicFactory(timezone="Europe/London")),
        timezone="US/Eastern",
    )

    # when
    form = ProfileForm(instance=profile_for(patient), patient=patient, for_patient=True)
    groups = offered(form.fields["timezone"])

    # then: the clinic's zone first, spoken to the patient; the saved alias stays choosable
    # (an unrelated save never fails on it) but no other alias is offered
    assert next(iter(groups.items())) == ("Your clinic's time zone", ["Europe/London"])
    assert groups["Other"] == ["US/Eastern"]
    names = {name for zones in groups.values() for name in zones}
    assert not (set(LEGACY_ALIASES) - {"US/Eastern"}) & names
