"""Plan revisions: immutable snapshots with reasons, optimistic locking, fit acceptance, audit."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from careplans import selectors
from careplans.models import Concern, PlanItem, PlanRevision, Preference
from careplans.services import PlanChangedError, concern_raise, profile_update
from tests.factories import backdated_revision, item_draft, plan_for

pytestmark = pytest.mark.django_db


def test_first_save_creates_plan_and_revision_one(patient_a, derm, now):
    # when
    revision = plan_for(patient_a, author=derm, now=now)
    # then
    assert revision.number == 1
    assert revision.plan.current_number == 1
    assert revision.effective_from == patient_a.local_date(now)
    assert [i.name for i in revision.items.all()] == ["Adapalene 0.1% gel"]
    assert AuditEvent.objects.filter(actor=derm, patient=patient_a, action="change",
                                     object_type="plan_revision").count() == 1


def test_a_revision_takes_effect_on_the_patients_date_at_the_instant_it_is_saved(derm):
    # given: 23:30 UTC on Tue 24 Nov 2026 is already Wednesday morning in Auckland
    from tests.factories import PatientFactory

    in_london = PatientFactory(dermatologist=derm, timezone="Europe/London")
    in_auckland = PatientFactory(dermatologist=derm, timezone="Pacific/Auckland")
    saved_at = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    # when
    london = plan_for(in_london, author=derm, now=saved_at)
    auckland = plan_for(in_auckland, author=derm, now=saved_at)
    # then
    assert (london.effective_from, london.plan.starts_on) == (date(2026, 11, 24),) * 2
    assert (auckland.effective_from, auckland.plan.starts_on) == (date(2026, 11, 25),) * 2


def test_each_save_is_a_new_revision_and_old_ones_stay_intact(patient_a, derm):
    # given
    first = plan_for(patient_a, author=derm)
    key = first.items.get().key
    # when
    second = plan_for(patient_a, author=derm, base_number=1, reason="Cheaper generic",
                      items=[item_draft(key=key, monthly_cost=Decimal("4.00"))])
    # then
    assert second.number == 2
    assert first.items.get().monthly_cost == Decimal("10.00")
    assert second.items.get().monthly_cost == Decimal("4.00")
    assert second.items.get().key == key


def test_revisions_and_items_cannot_be_changed_or_deleted(patient_a, derm):
    revision = plan_for(patient_a, author=derm)
    item = revision.items.get()
    item.name = "Tampered"
    with pytest.raises(PermissionError):
        item.save()
    with pytest.raises(PermissionError):
        revision.delete()
    with pytest.raises(PermissionError):
        PlanRevision.objects.filter(pk=revision.pk).update(reason="Rewritten history")
    assert PlanItem.objects.get(pk=item.pk).name == "Adapalene 0.1% gel"


def test_second_concurrent_save_is_refused_with_a_clear_message(patient_a, derm, clinic):
    # given: two dermatologists opened revision 1
    from tests.factories import DermatologistFactory

    colleague = DermatologistFactory(membership=clinic, first_name="Ines", last_name="Moreau")
    plan_for(patient_a, author=derm)
    plan_for(patient_a, author=colleague, base_number=1, reason="Colleague's change")
    # when / then
    with pytest.raises(PlanChangedError, match="Ines Moreau saved revision 2"):
        plan_for(patient_a, author=derm, base_number=1, reason="My change")
    assert PlanRevision.objects.filter(plan__patient=patient_a).count() == 2


def test_starting_a_second_plan_from_scratch_is_refused(patient_a, derm):
    plan_for(patient_a, author=derm)
    with pytest.raises(PlanChangedError):
        plan_for(patient_a, author=derm, base_number=0)


def test_item_start_date_carries_across_revisions_so_a_ramp_up_is_not_restarted(
    patient_a, derm, now,
):
    # given: a ramping item started at the plan start
    today = patient_a.local_date(now)
    first = plan_for(patient_a, author=derm, now=now, starts_on=today - timedelta(days=5),
                     items=[item_draft(ramp_every_n_days=2, ramp_days=14)])
    item = first.items.get()
    # when: the item is edited, and a new item is added
    second = plan_for(patient_a, author=derm, base_number=1, now=now, items=[
        item_draft(key=item.key, ramp_every_n_days=2, ramp_days=14, minutes=3),
        item_draft(name="SPF 30", time_of_day="morning", position=2),
    ])
    # then
    kept = second.items.get(key=item.key)
    added = second.items.exclude(key=item.key).get()
    assert kept.starts_on == today - timedelta(days=5)
    assert added.starts_on == today


def test_fit_warnings_are_saved_with_the_accepted_note(patient_a, derm):
    # given: a budget of 5 and a 10-a-month item
    profile_update(patient=patient_a, actor=derm, data={"monthly_budget": Decimal("5")},
                   preferences=None)
    # when
    revision = plan_for(patient_a, author=derm, accepted={"budget": "Worth it for 8 weeks."})
    # then
    (warning,) = revision.fit_warnings
    assert warning["code"] == "budget"
    assert warning["accepted"] is True
    assert warning["note"] == "Worth it for 8 weeks."
    assert "£5.00 over" in warning["message"]


def test_preference_conflict_not_accepted_stays_open(patient_a, derm):
    profile_update(patient=patient_a, actor=derm, data={},
                   preferences=Preference.objects.filter(key="topical-over-oral"))
    revision = plan_for(patient_a, author=derm, items=[item_draft(kind="oral", name="Doxycycline")])
    assert [w["code"].split(":")[:2] for w in revision.open_warnings] == [
        ["pref", "topical-over-oral"]
    ]


def test_a_revision_can_resolve_concerns(patient_a, derm):
    revision = plan_for(patient_a, author=derm)
    concern = concern_raise(patient=patient_a, revision=revision, item=revision.items.get(),
                            category="too_expensive", text="")
    second = plan_for(patient_a, author=derm, base_number=1, resolve_concern_ids=[concern.pk])
    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED
    assert concern.resolved_by_revision == second


def test_revision_in_effect_on_a_past_date(patient_a, derm, now):
    # given: revision 1 effective a month ago (as history holds it), revision 2 saved today
    today = patient_a.local_date(now)
    first = backdated_revision(patient_a, author=derm, number=1, items=[item_draft()],
                               effective_from=today - timedelta(days=30))
    second = plan_for(patient_a, author=derm, base_number=1, now=now,
                      items=[item_draft(name="Azelaic acid 15%")])
    plan = second.plan
    # then
    assert selectors.revision_in_effect(plan, today - timedelta(days=10)) == first
    assert selectors.revision_in_effect(plan, today) == second
    assert selectors.revision_in_effect(plan, today - timedelta(days=31)) is None
    _, steps = selectors.steps_due_on(patient_a, today - timedelta(days=10))
    assert [s.item.name for s in steps] == ["Adapalene 0.1% gel"]


def test_revision_changes_describe_added_removed_and_changed(patient_a, derm):
    from careplans.describe import revision_changes

    first = plan_for(patient_a, author=derm, items=[
        item_draft(), item_draft(name="Doxycycline", kind="oral", position=2),
    ])
    adapalene = first.items.get(name="Adapalene 0.1% gel")
    second = plan_for(patient_a, author=derm, base_number=1, items=[
        item_draft(key=adapalene.key, monthly_cost=Decimal("4.00"), frequency="every_n_days",
                   every_n_days=2),
        item_draft(name="SPF 30", time_of_day="morning", position=2, monthly_cost=Decimal("0")),
    ])
    changes = {c.change: c for c in revision_changes(first, second, currency="GBP")}
    assert changes["added"].name == "SPF 30"
    assert changes["removed"].name == "Doxycycline"
    fields = {f.label: (f.before, f.after) for f in changes["changed"].fields}
    assert fields == {
        "When": ("Every evening", "Every 2 days, evening"),
        "Monthly cost": ("£10.00", "£4.00"),
    }


def test_a_change_of_how_often_photos_are_asked_for_is_listed_with_the_revision(
        client, patient_a, derm):
    from careplans.describe import revision_changes

    # given: a first plan without photos, then one asking every 2 weeks, then every 4
    first = plan_for(patient_a, author=derm)
    same_items = [item_draft(key=first.items.get().key)]
    second = plan_for(patient_a, author=derm, base_number=1, items=same_items,
                      photo_every_weeks=2, reason="Photos show us how the gel works")
    third = plan_for(patient_a, author=derm, base_number=2, items=same_items,
                     photo_every_weeks=4, reason="Every 4 weeks is enough now")
    # when
    asked = revision_changes(first, second, currency="GBP")
    less_often = revision_changes(second, third, currency="GBP")
    # then: one change each, in words, and the patient reads it under "What changed and why"
    assert [(c.change, c.name, [(f.label, f.before, f.after) for f in c.fields])
            for c in asked] == [("changed", "Progress photos",
                                 [("How often", "not asked for", "every 2 weeks")])]
    assert [(f.before, f.after) for c in less_often for f in c.fields] == [
        ("every 2 weeks", "every 4 weeks")]
    assert revision_changes(first, first, currency="GBP") == []
    client.force_login(patient_a.user)
    page = client.get(reverse("my_plan")).content.decode()
    assert "Progress photos" in page
    assert "every 2 weeks → every 4 weeks" in page


def test_when_text_mentions_a_ramp_up_only_while_it_lasts(patient_a, derm):
    from careplans.describe import when_text

    item = plan_for(patient_a, author=derm,
                    items=[item_draft(ramp_every_n_days=2, ramp_days=14)]).items.get()
    during = when_text(item, item.starts_on + timedelta(days=13))
    after = when_text(item, item.starts_on + timedelta(days=14))
    assert during == "Alternate days for the first 14 days, then every evening"
    assert after == "Every evening"
