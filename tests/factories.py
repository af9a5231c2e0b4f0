import time
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.utils import timezone

from accounts.models import (
    AuditEvent,
    CaregiverAssent,
    CaregiverLink,
    Clinic,
    ClinicMembership,
    Patient,
    Role,
    User,
)
from accounts.services import audit_clinics

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


# Clinicians must use two-step verification (accounts.middleware); factories enrol them with
# this authenticator-app secret unless created with ``mfa=False``.
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The current code an authenticator app would show, computed with allauth's own helpers.

    Waits out the last seconds of a 30-second period so the code is still valid when posted.
    """
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 3:
        time.sleep(period - time.time() % period + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def _totp_enrolment() -> factory.PostGeneration:
    def enrol(user: User, create: bool, extracted: bool | None, **kw: object) -> None:
        if create and extracted is not False:
            TOTP.activate(user, TOTP_SECRET)

    return factory.PostGeneration(enrol)


class DermatologistFactory(UserFactory):
    membership = _membership_in_clinic(Role.DERMATOLOGIST)
    mfa = _totp_enrolment()


class StaffFactory(UserFactory):
    membership = _membership_in_clinic(Role.STAFF)
    mfa = _totp_enrolment()


class ClinicAdminFactory(UserFactory):
    """A clinic administrator: the admin site, their own clinic only."""

    is_staff = True
    membership = _membership_in_clinic(Role.ADMIN)
    mfa = _totp_enrolment()


class OperatorFactory(UserFactory):
    """The platform operator: a superuser spanning clinics, with no clinic of their own."""

    is_staff = True
    is_superuser = True
    mfa = _totp_enrolment()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    user = factory.SubFactory(UserFactory)
    dermatologist = factory.SubFactory(DermatologistFactory)
    clinic = factory.LazyAttribute(lambda p: p.dermatologist.membership.clinic)
    timezone = "Europe/London"


class CaregiverFactory(UserFactory):
    """A parent's or guardian's account (no patient record, no clinic membership)."""

    is_caregiver = True


class CaregiverLinkFactory(factory.django.DjangoModelFactory):
    """A current link: ``caregiver`` acts for ``patient`` (give the patient a
    ``date_of_birth`` for a child's or a teenager's tier)."""

    class Meta:
        model = CaregiverLink

    caregiver = factory.SubFactory(CaregiverFactory)
    patient = factory.SubFactory(PatientFactory)
    relationship = "parent"
    called = "Mum"
    invited_by = factory.LazyAttribute(lambda link: link.patient.dermatologist)
    created_at = factory.LazyFunction(timezone.now)


def assent_for(link: CaregiverLink, *, given: bool = True, now=None) -> CaregiverAssent:
    """A teenager's answer through the real service (``now``: the clock by default)."""
    from accounts.services import caregiver_assent_answer

    return caregiver_assent_answer(link=link, given=given, now=now or timezone.now())


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


def plan_for(patient, *, author, items=None, reason="First plan", base_number=0, now=None,
             **kwargs):
    """Save a plan revision through the real service, at ``now`` (default: the clock, which
    the test may hold still with the ``now`` fixture; a live server's tests need the real one)."""
    from datetime import timedelta

    from careplans.services import plan_revise

    now = now or timezone.now()
    return plan_revise(
        patient=patient, author=author, base_number=base_number,
        items=items or [item_draft()], reason=reason, now=now,
        reviews_on=kwargs.pop("reviews_on", patient.local_date(now) + timedelta(weeks=12)),
        **kwargs,
    )


def backdated_revision(patient, *, author, number, effective_from, items, reason="Earlier plan",
                       photo_every_weeks=None):
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
        photo_every_weeks=photo_every_weeks,
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


def adherence_drop_flag(patient, *, author, note, note_days_ago, unlogged_every, satisfaction,
                        numbers=None):
    """An open adherence-drop flag over 35 days of check-ins: every step done in the baseline,
    about a third in the last 7 days, every ``unlogged_every``-th day not logged, one note."""
    from datetime import timedelta

    from checkins.models import CheckIn

    revision = plan_for(patient, author=author)
    today = patient.local_today()
    checkins = [
        CheckIn.objects.create(
            patient=patient, local_date=today - timedelta(days=days), revision=revision,
            steps_due=2, steps_done=2 if days > 7 else days % 2, satisfaction=satisfaction,
            note=note if days == note_days_ago else "",
        )
        for days in range(1, 36) if days % unlogged_every
    ]
    windows = [
        {"label": "baseline", "start": (today - timedelta(days=35)).isoformat(),
         "end": (today - timedelta(days=8)).isoformat()},
        {"label": "last 7 days", "start": (today - timedelta(days=7)).isoformat(),
         "end": (today - timedelta(days=1)).isoformat()},
    ]
    return FlagFactory(patient=patient, evidence=flag_evidence(
        summary="Adherence 33% in the last 7 days, 100% in the 28 before.", windows=windows,
        numbers=numbers, checkin_ids=[c.pk for c in checkins],
        as_of=(today - timedelta(days=1)).isoformat(),
    ))


def patient_on_a_plan(derm, *, since, timezone="Europe/London", **item):
    """A patient of ``derm`` in ``timezone`` whose one-step plan has been in effect since
    ``since`` (the step: an evening-and-morning "Emollient" unless ``item`` says otherwise)."""
    patient = PatientFactory(dermatologist=derm, timezone=timezone)
    step = {"name": "Emollient", "time_of_day": "both", **item}
    backdated_revision(patient, author=derm, number=1, effective_from=since,
                       items=[item_draft(**step)])
    return patient


def unsubscribe_url(patient, *, issued_at=None) -> str:
    """The path of a new unsubscribe link for ``patient``, as a reminder sent at ``issued_at``
    (default: the clock) carries."""
    from django.urls import reverse

    from reminders.services import unsubscribe_link_issue

    token = unsubscribe_link_issue(patient_id=patient.pk, now=issued_at or timezone.now())
    return reverse("reminders_unsubscribe", args=[token])


class AuditEventFactory(factory.django.DjangoModelFactory):
    """An audit event as ``audit_record`` writes it (its clinics derived the same way), at any
    ``at``: a read of ``patient`` by ``actor`` unless told otherwise."""

    class Meta:
        model = AuditEvent

    actor = None
    patient = None
    action = AuditEvent.Action.VIEW
    object_type = "patient"
    allowed = True
    clinic_id = factory.LazyAttribute(
        lambda o: audit_clinics(actor=o.actor, patient=o.patient)[0])
    actor_clinic_id = factory.LazyAttribute(
        lambda o: audit_clinics(actor=o.actor, patient=o.patient)[1])


def push_browser_keys():
    """A browser's side of a push subscription: its P-256 private key (to decrypt what it is
    sent) and the ``keys`` of its ``PushSubscription.toJSON()`` (p256dh, auth)."""
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    return private, auth, {"p256dh": b64url(public), "auth": b64url(auth)}


PUSH_ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123:APA91bTest"


def push_subscription_json(endpoint: str = PUSH_ENDPOINT) -> dict:
    """What the browser's ``PushSubscription.toJSON()`` gives the page to post."""
    return {"endpoint": endpoint, "expirationTime": None, "keys": push_browser_keys()[2]}


class CatalogueItemFactory(factory.django.DjangoModelFactory):
    """A catalogue item of a clinic (pass ``clinic=``)."""

    class Meta:
        model = "catalogue.CatalogueItem"

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    kind = "topical"
    instructions = "A thin layer on dry skin."
    time_of_day = "evening"
    frequency = "daily"
    minutes = 2
    monthly_cost = Decimal("10.00")


class RegimenTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalogue.RegimenTemplate"

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Template {n}")
    description = "For testing."


class TemplateStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalogue.TemplateStep"

    template = factory.SubFactory(RegimenTemplateFactory)
    position = factory.Sequence(lambda n: n + 1)
    catalogue_item = factory.SubFactory(
        CatalogueItemFactory, clinic=factory.SelfAttribute("..template.clinic"))
    time_of_day = "evening"
    frequency = "daily"


def photo_for(patient, *, area_code: str = "face", data: bytes | None = None, now=None,
              thumbnail: bool = True):
    """A photo of ``patient`` through the real services (consent given if needed), with its
    thumbnail made unless ``thumbnail`` is False."""
    import io

    from django.utils import timezone

    from photos.models import BodyArea
    from photos.services import photo_add, photo_consent_give, photo_thumbnail_make
    from tests.photos.images import jpeg_bytes

    now = now or timezone.now()
    data = data if data is not None else jpeg_bytes()
    photo_consent_give(patient=patient, by=patient.user, now=now)
    photo = photo_add(patient=patient, by=patient.user,
                      area=BodyArea.objects.get(clinic=None, code=area_code),
                      upload=io.BytesIO(data), size=len(data), now=now)
    if thumbnail:
        photo_thumbnail_make(photo_id=photo.pk)
        photo.refresh_from_db()
    return photo
