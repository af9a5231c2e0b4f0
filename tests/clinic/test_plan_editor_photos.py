"""The plan editor's photo setting: saved on the revision, carried forward, validated 1-26."""


import pytest

from careplans.models import PlanRevision
from tests.clinic.test_plan_editor import ITEM, edit_url, editor_post
from tests.factories import plan_for

pytestmark = pytest.mark.django_db


def test_the_photo_interval_is_saved_on_the_revision(client, derm, patient_a):
    client.force_login(derm)
    response = client.post(edit_url(patient_a),
                           editor_post(patient_a, [ITEM], photo_every_weeks="2"))
    assert response.status_code == 302
    assert PlanRevision.objects.get(plan__patient=patient_a).photo_every_weeks == 2


def test_the_photo_interval_is_carried_forward_and_can_be_cleared(client, derm, patient_a):
    # given: revision 1 asks every 4 weeks
    client.force_login(derm)
    client.post(edit_url(patient_a), editor_post(patient_a, [ITEM], photo_every_weeks="4"))
    # when: the editor opens again
    body = client.get(edit_url(patient_a)).content.decode()
    # then: the field holds 4; saving it empty asks for no photos from then on
    assert 'name="photo_every_weeks" value="4"' in body
    client.post(edit_url(patient_a), editor_post(patient_a, [ITEM], base_number=1,
                                                 reason="No more photos",
                                                 photo_every_weeks=""))
    latest = PlanRevision.objects.get(plan__patient=patient_a, number=2)
    assert latest.photo_every_weeks is None


def test_a_plan_without_the_setting_asks_for_no_photos(client, derm, patient_a):
    plan_for(patient_a, author=derm)
    client.force_login(derm)
    body = client.get(edit_url(patient_a)).content.decode()
    assert "Ask for a photo every" in body
    assert 'name="photo_every_weeks" value=' not in body


@pytest.mark.parametrize("value", ["0", "27", "-1", "two"])
def test_an_interval_outside_1_to_26_weeks_saves_nothing(client, derm, patient_a, value):
    client.force_login(derm)
    response = client.post(edit_url(patient_a),
                           editor_post(patient_a, [ITEM], photo_every_weeks=value))
    assert response.status_code == 200
    assert "Ask every 1 to 26 weeks, or leave it empty." in response.content.decode()
    assert not PlanRevision.objects.filter(plan__patient=patient_a).exists()


