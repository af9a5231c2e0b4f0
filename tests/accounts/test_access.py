"""Access control: patients see only themselves, clinicians only their clinic; reads are audited."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _patterns_with_patient_id(resolver: URLResolver | None = None, prefix: str = ""):
    """Every URL name whose route takes a patient id, found from the resolver itself."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns_with_patient_id(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and "patient_id" in entry.pattern.converters:
            yield entry.name


PATIENT_ID_URL_NAMES = sorted(set(_patterns_with_patient_id()))


def patient_url(url_name: str, patient_id: int) -> str:
    """The URL for ``patient_id``; other ids in the route get any value (scope is checked first)."""
    import uuid

    pattern = next(p for p in get_resolver().reverse_dict.getlist(url_name))
    kwargs = {}
    for name in pattern[0][0][1]:
        kwargs[name] = patient_id if name == "patient_id" else (
            uuid.uuid4() if "key" in name or name == "photo_id" else 1
        )
    return reverse(url_name, kwargs=kwargs)


def test_patient_data_urls_exist():
    # The enumeration below must cover something; if it is empty the guard tests prove nothing.
    assert "patient_detail" in PATIENT_ID_URL_NAMES


@pytest.mark.parametrize("url_name", PATIENT_ID_URL_NAMES)
def test_patient_gets_404_on_every_patient_url_of_another_patient(client, patient_a, patient_b,
                                                                  url_name):
    # given
    client.force_login(patient_a.user)
    # when
    get = client.get(patient_url(url_name, patient_b.pk))
    post = client.post(patient_url(url_name, patient_b.pk), {"x": "1"})
    # then
    assert get.status_code == 404
    assert post.status_code == 404
    assert patient_b.user.email not in get.content.decode()


@pytest.mark.parametrize("url_name", PATIENT_ID_URL_NAMES)
def test_clinician_of_another_clinic_gets_404(client, patient_a, other_derm, other_staff,
                                              url_name):
    for outsider in (other_derm, other_staff):
        client.force_login(outsider)
        assert client.get(patient_url(url_name, patient_a.pk)).status_code == 404
        assert client.post(patient_url(url_name, patient_a.pk), {"x": "1"}).status_code == 404


def test_nonexistent_patient_is_404_like_a_foreign_one(client, derm):
    client.force_login(derm)
    assert client.get(reverse("patient_detail", kwargs={"patient_id": 999999})).status_code == 404


def test_clinicians_of_the_clinic_can_read_the_record(client, patient_a, derm, staff):
    for clinician in (derm, staff):
        client.force_login(clinician)
        response = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
        assert response.status_code == 200
        assert patient_a.user.email in response.content.decode()


def test_clinician_read_writes_an_allowed_audit_event(client, patient_a, staff):
    # given
    client.force_login(staff)
    # when
    client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
    # then
    event = AuditEvent.objects.get()
    assert (event.actor, event.patient, event.action, event.allowed) == (
        staff, patient_a, "view", True
    )
    assert event.object_type == "patient"


def test_denied_attempt_writes_a_denied_audit_event(client, patient_a, other_derm):
    # given
    client.force_login(other_derm)
    # when
    response = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
    # then
    assert response.status_code == 404
    event = AuditEvent.objects.get()
    assert (event.actor, event.patient, event.allowed) == (other_derm, patient_a, False)


def test_patient_own_pages_are_not_audited(client, patient_a):
    client.force_login(patient_a.user)
    assert client.get(reverse("today")).status_code == 200
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("url_name", ["my_patients", "flagged_patients", "patient_invite"])
def test_patients_cannot_reach_clinician_pages(client, patient_a, url_name):
    client.force_login(patient_a.user)
    assert client.get(reverse(url_name)).status_code == 404


def test_clinicians_cannot_reach_patient_pages(client, derm):
    client.force_login(derm)
    assert client.get(reverse("today")).status_code == 404


def test_staff_cannot_invite_patients(client, staff):
    client.force_login(staff)
    response = client.post(reverse("patient_invite"), {"email": "x@example.test"})
    assert response.status_code == 404


def test_my_patients_lists_only_own_clinic(client, derm, patient_a, other_derm):
    foreign = PatientFactory(dermatologist=other_derm)
    client.force_login(derm)
    body = client.get(reverse("my_patients")).content.decode()
    assert patient_a.user.email in body
    assert foreign.user.email not in body


def test_anonymous_is_sent_to_login(client, patient_a):
    response = client.get(reverse("patient_detail", kwargs={"patient_id": patient_a.pk}))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize(
    ("role", "expected"),
    [("patient", "today"), ("derm", "my_patients"), ("staff", "flagged_patients")],
)
def test_each_role_lands_on_its_home(client, patient_a, derm, staff, role, expected):
    user = {"patient": patient_a.user, "derm": derm, "staff": staff}[role]
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse(expected)
