import factory
from allauth.account.models import EmailAddress

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
