"""Caregivers: who may act for which patient, and what they may see, today.

One definition of the age tiers and of what each tier opens. A caregiver's access is
computed on every request from the patient's date of birth in the patient's own time zone
(a birthday begins at the patient's midnight), the clinic's ages and the link's state, so a
birthday, an ended link or a teenager's "no" takes effect at the caregiver's next request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import CaregiverAssent, CaregiverLink, Patient, User


class Tier(StrEnum):
    CHILD = "child"
    TEEN = "teen"
    ADULT = "adult"


class Section(StrEnum):
    """The parts of a patient's record a patient page belongs to."""

    CHECKINS = "checkins"
    PLAN = "plan"
    REMINDERS = "reminders"
    MESSAGES = "messages"
    PHOTOS = "photos"
    ACCESS_LOG = "access_log"
    # "About me": the patient's own words (what matters to them), lifestyle and time zone.
    PROFILE = "profile"
    # "Download my data": a copy of the whole record in one file (every conversation, who
    # viewed the record, "About me"), so only a tier that opens every section opens it.
    DATA_EXPORT = "data_export"


# What a caregiver opens in each tier. A teenager's (or an adult's) caregiver helps with the
# routine: plan, check-ins, reminders and the messages not marked private; skin photos, the
# record's access log and "About me" (their own words, their time zone) stay the patient's own.
ROUTINE_SECTIONS = frozenset({Section.CHECKINS, Section.PLAN, Section.REMINDERS,
                              Section.MESSAGES})
SECTIONS_BY_TIER: dict[Tier, frozenset[Section]] = {
    Tier.CHILD: frozenset(Section),
    Tier.TEEN: ROUTINE_SECTIONS,
    Tier.ADULT: ROUTINE_SECTIONS,
}

# The patient pages (URL names) and the section each belongs to. A patient page missing here
# is closed to caregivers (``accounts.decorators.role_required``).
SECTION_BY_URL_NAME: dict[str, Section] = {
    "today": Section.CHECKINS,
    "checkin_history": Section.CHECKINS,
    "my_plan": Section.PLAN,
    "my_plan_history": Section.PLAN,
    "raise_concern": Section.PLAN,
    "my_profile": Section.PROFILE,
    "reminder_settings": Section.REMINDERS,
    # Not "push_subscribe"/"push_unsubscribe": a phone subscribed there is the patient's own
    # (a caregiver's would take the patient's reminder emails and outlive the link); a
    # caregiver's reminders come by email (reminders.selectors.reminder_recipients).
    "clinic_messages": Section.MESSAGES,
    "message_new": Section.MESSAGES,
    "messages_unread": Section.MESSAGES,
    "message_thread": Section.MESSAGES,
    "photos": Section.PHOTOS,
    "photo_consent_give": Section.PHOTOS,
    "photo_consent_decline": Section.PHOTOS,
    "photo_consent_withdraw": Section.PHOTOS,
    "my_photo_image": Section.PHOTOS,
    "my_photo_thumbnail": Section.PHOTOS,
    "access_log": Section.ACCESS_LOG,
    "data_export": Section.DATA_EXPORT,
    "data_export_request": Section.DATA_EXPORT,
    "data_export_download": Section.DATA_EXPORT,
}

def caregiver_read_type(section: Section) -> str:
    """The audit object type of a caregiver's request to a section of the record."""
    return f"caregiver_{section.value}"


# Exactly those types: other audit types may start alike (the clinic's "caregiver_link").
CAREGIVER_READ_TYPES = frozenset(caregiver_read_type(section) for section in Section)

# The hidden field of every patient-page form a caregiver submits: the patient it was for.
ACTING_FOR_FIELD = "acting_for"

# How long a teenager's "yes" lasts before they are asked again.
ASSENT_YEARS = 1


def age_on(born: date, day: date) -> int:
    """Whole years of age on ``day``. A 29 February birthday comes on 1 March in other years."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birthday_at_age(born: date, years: int) -> date:
    """The date someone born on ``born`` turns ``years`` (1 March for a 29 February birth in a
    common year, matching ``age_on``)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def tier_on(*, born: date | None, day: date, teen_age: int, adult_age: int) -> Tier:
    if born is None:
        return Tier.ADULT
    age = age_on(born, day)
    if age >= adult_age:
        return Tier.ADULT
    return Tier.TEEN if age >= teen_age else Tier.CHILD


def patient_tier(patient: Patient, *, today: date) -> Tier:
    """The patient's tier on their own calendar date ``today``."""
    clinic = patient.clinic
    return tier_on(born=patient.date_of_birth, day=today,
                   teen_age=clinic.caregiver_teen_age, adult_age=clinic.caregiver_adult_age)


def assent_valid_until(answered_on: date) -> date:
    return birthday_at_age(answered_on, ASSENT_YEARS)


class Standing(StrEnum):
    """Why a current link does or does not open the record today."""

    OPEN = "open"                      # child, or assent given, or an adult's grant
    NEEDS_ASSENT = "needs_assent"      # a teenager has not said yes (or the year ran out)
    DECLINED = "declined"              # the teenager said no
    NEEDS_ADULT_GRANT = "needs_grant"  # the patient came of age and has not granted it again
    ENDED = "ended"


@dataclass(frozen=True)
class CareAccess:
    """A caregiver's access to one patient on one patient-local date."""

    link: CaregiverLink
    patient: Patient
    tier: Tier
    standing: Standing
    age: int | None

    @property
    def is_open(self) -> bool:
        return self.standing == Standing.OPEN

    @property
    def sections(self) -> frozenset[Section]:
        return SECTIONS_BY_TIER[self.tier] if self.is_open else frozenset()

    def opens(self, section: Section | str) -> bool:
        return section in self.sections

    @property
    def standing_text(self) -> str:
        return standing_text(self)


def _latest_assent(link: CaregiverLink) -> CaregiverAssent | None:
    # Assents prefetched for many links at once (``prefetch_related("assents")``, e.g. the
    # reminders of a partition) are read from memory, not once more per link.
    prefetched = getattr(link, "_prefetched_objects_cache", {}).get("assents")
    if prefetched is not None:
        return max(prefetched, key=lambda assent: (assent.answered_at, assent.id), default=None)
    return link.assents.order_by("-answered_at", "-id").first()


def care_access(link: CaregiverLink, *, now: datetime) -> CareAccess:
    """What ``link`` opens at the instant ``now`` (tier in the patient's own zone)."""
    patient = link.patient
    today = patient.local_date(now)
    tier = patient_tier(patient, today=today)
    age = age_on(patient.date_of_birth, today) if patient.date_of_birth else None
    standing = Standing.OPEN
    if link.ended_at is not None:
        standing = Standing.ENDED
    elif tier == Tier.TEEN:
        assent = _latest_assent(link)
        if assent is None or (assent.given and assent.valid_until < today):
            standing = Standing.NEEDS_ASSENT
        elif not assent.given:
            standing = Standing.DECLINED
    elif tier == Tier.ADULT:
        came_of_age = (birthday_at_age(patient.date_of_birth, patient.clinic.caregiver_adult_age)
                       if patient.date_of_birth else None)
        granted = link.adult_granted_on
        if granted is None or (came_of_age is not None and granted < came_of_age):
            standing = Standing.NEEDS_ADULT_GRANT
    return CareAccess(link=link, patient=patient, tier=tier, standing=standing, age=age)


def current_links_of(caregiver: User) -> QuerySet[CaregiverLink]:
    """The caregiver's links that have not ended, with what ``care_access`` reads."""
    return (CaregiverLink.objects.filter(caregiver=caregiver, ended_at__isnull=True)
            .select_related("patient__user", "patient__clinic", "caregiver")
            .order_by("patient__date_of_birth", "patient_id"))


def accesses_of(caregiver: User, *, now: datetime) -> list[CareAccess]:
    """Every current link of the caregiver with its standing today (the chooser's rows)."""
    return [care_access(link, now=now) for link in current_links_of(caregiver)]


def access_for(caregiver: User, *, patient_id: int, now: datetime) -> CareAccess | None:
    """The caregiver's open access to one patient, or None (ended, paused, never theirs)."""
    link = current_links_of(caregiver).filter(patient_id=patient_id).first()
    if link is None:
        return None
    access = care_access(link, now=now)
    return access if access.is_open else None


def links_of_patient(patient: Patient) -> QuerySet[CaregiverLink]:
    """A patient's caregivers, current first, then ended ones (for the patient's and the
    clinic's pages)."""
    return (CaregiverLink.objects.filter(patient=patient)
            .select_related("caregiver", "patient__clinic", "patient__user")
            .order_by("ended_at", "created_at", "id"))


def section_of_url(url_name: str | None) -> Section | None:
    return SECTION_BY_URL_NAME.get(url_name or "")


def answers_as_patient(acting: CareAccess | None) -> bool:
    """Whether the person checking in may answer the questions about the patient's own view of
    the partnership (the alliance pulse, the weekly question): the patient, or a parent for a
    young child. A teenager's or an adult's caregiver logs the routine; those questions wait
    for the patient."""
    return acting is None or acting.tier == Tier.CHILD


def keeps_private_messages(patient: Patient, *, today: date) -> bool:
    """Whether the patient may keep conversations from their caregivers: a teenager or an
    adult. A child's caregiver sees the whole record."""
    return patient_tier(patient, today=today) != Tier.CHILD


def standing_text(access: CareAccess) -> str:
    """What a caregiver's access is today, in words (the chooser, the clinic's and the
    patient's lists): one sentence for each standing."""
    name = access.patient.user.first_name or access.patient.user.display_name
    if access.standing == Standing.ENDED:
        return _("Ended")
    if access.standing == Standing.NEEDS_ASSENT:
        return _("Waiting for %(name)s to agree") % {"name": name}
    if access.standing == Standing.DECLINED:
        return _("%(name)s said no for now") % {"name": name}
    if access.standing == Standing.NEEDS_ADULT_GRANT:
        return _("%(name)s is an adult now: only they can let you back in") % {"name": name}
    if access.tier == Tier.CHILD:
        return _("Whole record")
    return _("Plan, check-ins, reminders and messages not marked private")


def caregiver_label(link: CaregiverLink) -> str:
    """How the clinic's pages name a caregiver: what the patient calls them ("Mum"), else
    their name and relationship ("Sam Lee, parent")."""
    if link.called:
        return link.called
    return _("%(name)s, %(relationship)s") % {
        "name": link.caregiver.display_name,
        "relationship": link.get_relationship_display().lower()}


def caregiver_labels(patient_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """(patient id, caregiver user id) → ``caregiver_label``, for every link ever made (an
    ended link still names who logged an old check-in). One query for a page."""
    links = (CaregiverLink.objects.filter(patient_id__in=list(patient_ids))
             .select_related("caregiver").order_by("created_at", "id"))
    return {(link.patient_id, link.caregiver_id): caregiver_label(link) for link in links}


def done_by(labels: dict[tuple[int, int], str], *, patient: Patient, user_id: int | None
            ) -> str | None:
    """The caregiver who did something for ``patient`` ("logged by Mum"), or None when the
    patient did it themselves (or it predates caregivers: ``user_id`` empty)."""
    if user_id is None or user_id == patient.user_id:
        return None
    return labels.get((patient.pk, user_id))
