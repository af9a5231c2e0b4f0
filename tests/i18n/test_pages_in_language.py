"""Every page a patient, a dermatologist, a staff member and a caregiver (acting for patient B)
open reads in their language: no English sentence is left (the access matrix's pages, with its
patient B, plan, concern and flag)."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from accounts.timezones import canonical_zones, zone_label
from tests.security.test_access_matrix import (  # noqa: F401 (fixtures)
    NAMED,
    _reverse,
    clinic_admin,
    operator,
    other_clinic_admin,
    world,
)

pytestmark = pytest.mark.django_db

# Words of an English sentence that Spanish and German text does not have.
ENGLISH = re.compile(r"\b(the|your|you|with|and|of|to|is|are|this|not|days?|steps?)\b")
# Sign-in, two-step verification and the admin are allauth's and Django's own pages.
NOT_OURS = ("admin", "account_", "mfa_")


def visible_lines(html: str) -> set[str]:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", "\n", html).replace("&amp;", "&").replace("&#x27;", "'")
    return {line.strip() for line in text.splitlines() if line.strip()}


@pytest.mark.parametrize("language", ["es", "de"])
@pytest.mark.parametrize("role", [
    "patient_b", "derm", "staff",
    # B's caregiver acting for B: B's pages and the caregiver's own (the chooser).
    "caregiver_b",
])
def test_every_page_reads_in_the_users_language(client, world, role, language):  # noqa: F811
    # given
    users, values, flag = world
    user = users[role]
    user.language = language
    user.save(update_fields=["language"])
    with translation.override(language):
        # CLDR keeps some places' English names in German ("Isle of Man")
        place_names = {zone_label(zone.name) for zone in canonical_zones()}
    # the words a flag written by an earlier version was stored with (flags/wording.py)
    kept = {flag.evidence.get("summary")}
    english = {}
    for name in NAMED:
        if name.startswith(NOT_OURS):
            continue
        client.force_login(user)
        # when
        response = client.get(_reverse(name, values))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        # then
        left = sorted(line for line in visible_lines(response.content.decode())
                      if ENGLISH.search(line) and line not in place_names | kept)
        if left:
            english[name] = left
    assert english == {}
