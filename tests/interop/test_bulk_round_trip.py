"""The round trip (issue 21's goal): the demo clinic's bulk export, parsed back, reproduces the
database's count of plans, check-ins, flags and messages.

What is counted as what (the mapping, ``interop/mapping.py``, defines each once):

- a plan is a plan *revision*: every revision is a CarePlan (the superseded ones ``revoked`` or
  ``completed``), so CarePlan resources = ``PlanRevision`` rows;
- a check-in is a QuestionnaireResponse to the portal's check-in Questionnaire (the alliance
  pulse answers are responses to their own Questionnaire, not counted here) = ``CheckIn`` rows;
- a flag is a Flag = ``flags.Flag`` rows;
- a message is a Communication: each conversation message and each outreach of a flag
  = ``Message`` rows + ``Outreach`` rows.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Clinic, Patient
from careplans.models import PlanRevision
from checkins.models import CheckIn
from flags.models import Flag, Outreach
from interop import questionnaires
from messaging.models import Message
from tests.interop.test_bulk_export import (
    bearer,
    enqueued,  # noqa: F401 (a fixture)
    export_and_run,
    exports_dir,  # noqa: F401 (a fixture)
    system_token,
)

pytestmark = pytest.mark.django_db


def test_the_demo_clinics_export_reproduces_the_databases_counts(
        client, enqueued, django_capture_on_commit_callbacks):  # noqa: F811
    # given: the demo clinic, as `python manage.py seed_demo` makes it
    call_command("seed_demo")
    clinic = Clinic.objects.get()
    token, _ = system_token(clinic)
    # when: the whole clinic is exported and every file read back
    export = export_and_run(client, token, reverse("fhir_bulk_export_group", args=[clinic.pk]),
                            django_capture_on_commit_callbacks, enqueued)
    manifest = client.get(reverse("fhir_bulk_status", args=[export.pk]), **bearer(token)).json()
    resources = []
    for output in manifest["output"]:
        content = b"".join(client.get(output["url"], **bearer(token)).streaming_content)
        lines = [json.loads(line) for line in content.decode().splitlines()]
        assert len(lines) == output["count"]
        assert {r["resourceType"] for r in lines} == {output["type"]}
        resources.extend(lines)
    # then
    by_type = Counter(r["resourceType"] for r in resources)
    checkin_responses = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"
                         and r["questionnaire"].split("|")[0] == questionnaires.CHECKIN_URL]
    assert by_type["Patient"] == Patient.objects.filter(clinic=clinic).count()
    assert by_type["CarePlan"] == PlanRevision.objects.count() > 0
    assert len(checkin_responses) == CheckIn.objects.count() > 0
    assert by_type["Flag"] == Flag.objects.count() > 0
    assert by_type["Communication"] == Message.objects.count() + Outreach.objects.count() > 0
