import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Clinic, ClinicMembership, Patient, Role, User

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")


def _membership_in_clinic(role: str) -> factory.PostGeneration:
    """Post-generation hook: pass the clinic as ``membership=clinic`` (a new clinic otherwise)."""

    def create_membership(user: User, create: bool, extracted: Clinic | None, **kw: object) -> None:
        if create:
            ClinicMembership.objects.create(
                user=user, clinic=extracted or ClinicFactory(), role=role
            )

    return factory.PostGeneration(create_membership)


class DermatologistFactory(UserFactory):
    membership = _membership_in_clinic(Role.DERMATOLOGIST)


class StaffFactory(UserFactory):
    membership = _membership_in_clinic(Role.STAFF)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    user = factory.SubFactory(UserFactory)
    dermatologist = factory.SubFactory(DermatologistFactory)
    clinic = factory.LazyAttribute(lambda p: p.dermatologist.membership.clinic)
    timezone = "Europe/London"


def item_draft(**overrides: object):
    """A valid plan item as the editor would submit it."""
    from decimal import Decimal

    from careplans.services import ItemDraft

    values = {
        "key": None, "position": 1, "kind": "topical", "name": "Adapalene 0.1% gel",
        "instructions": "Pea-sized amount on dry skin.", "time_of_day": "evening",
        "frequency": "daily", "weekdays": "", "every_n_days": None, "ramp_every_n_days": None,
        "ramp_days": None, "minutes": 2, "monthly_cost": Decimal("10.00"),
        "contains_fragrance": False, "animal_derived": False, "pregnancy_unsafe": False,
    }
    values.update(overrides)
    return ItemDraft(**values)


def plan_for(patient, *, author, items=None, reason="First plan", base_number=0, **kwargs):
    """Save a plan revision through the real service."""
    from datetime import timedelta

    from careplans.services import plan_revise

    return plan_revise(
        patient=patient, author=author, base_number=base_number,
        items=items or [item_draft()], reason=reason,
        reviews_on=kwargs.pop("reviews_on", patient.local_today() + timedelta(weeks=12)),
        **kwargs,
    )


def backdated_revision(patient, *, author, number, effective_from, items, reason="Earlier plan"):
    """A revision as history holds it (effective in the past), written like seeding does."""
    import uuid
    from dataclasses import asdict
    from datetime import timedelta

    from careplans.models import CarePlan, PlanItem, PlanRevision

    plan, _ = CarePlan.objects.get_or_create(
        patient=patient, defaults={"starts_on": effective_from}
    )
    revision = PlanRevision.objects.create(
        plan=plan, number=number, author=author, effective_from=effective_from,
        reviews_on=effective_from + timedelta(weeks=12), reason=reason,
        total_monthly_cost=sum(draft.monthly_cost for draft in items),
    )
    PlanItem.objects.bulk_create(
        PlanItem(revision=revision, **{
            **asdict(draft), "key": draft.key or uuid.uuid4(),
            "starts_on": draft.starts_on or effective_from,
        })
        for draft in items
    )
    CarePlan.objects.filter(pk=plan.pk).update(current_number=number)
    return revision


def flag_evidence(rule="adherence_drop", *, summary="Adherence 40% in the last 7 days, 85% in the "
                  "28 before.", windows=(), numbers=None, checkin_ids=(), as_of="2026-11-24"):
    """Evidence as the rules write it (flags.findings): the keys every flag carries."""
    return {
        "rule": rule, "summary": summary, "as_of": as_of, "windows": list(windows),
        "numbers": numbers if numbers is not None else {"recent_percent": 40.0,
                                                        "baseline_percent": 85.0},
        "checkin_ids": sorted(checkin_ids),
    }


class FlagFactory(factory.django.DjangoModelFactory):
    """An open flag as the sweep would leave it (no history rows; the services add those)."""

    class Meta:
        model = "flags.Flag"

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.LazyAttribute(lambda f: f.patient.clinic)
    rule = "adherence_drop"
    severity = 2
    state = "new"
    evidence = factory.LazyAttribute(lambda f: flag_evidence(f.rule))
    evidence_at = factory.LazyFunction(timezone.now)
