"""The clinic inbox's demo: conversations in each state a clinic meets, between a few demo
patients and the care team, and the clinic's reply templates.

- patient@demo.test asked about a step of their plan and staff answered: waiting on the patient;
  they also sent a photo from their diary about some redness, which staff handed to the
  dermatologist (it waits for them);
- synthetic patient 2 waits for an answer about the cost of a cream (nobody assigned yet);
  patient 3 waits for one about their routine (assigned to staff);
- patient 5's question was answered and the conversation closed;
- patient 4 reported a side effect they call severe (its flag is raised at once, as production
  would);
- the patient of the first open flag (by id) of another patient got an outreach message from
  the flag, and answered it.

Every conversation goes through the messaging services (the same rules as the pages), with its
times in the past relative to seeding; the email notice of each clinic message is marked sent
when it was written, so seeding sends no email. Idempotent: a conversation whose first message
the patient already has is not seeded again, nor a template whose title the clinic has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import Clinic, Patient, User
from careplans.models import PlanItem
from demo.seed.people import PATIENT_EMAIL, STAFF_EMAIL, synthetic_email
from messaging.models import Message, MessageNotice, ReplyTemplate, Status, Thread, Topic
from messaging.services import (
    Attachment,
    message_post,
    reply_template_save,
    thread_assign,
    thread_hand_to_dermatologist,
    thread_set_status,
    thread_start,
)
from photos.models import Photo

PHOTO, PLAN_STEP = "photo", "plan_step"
STAFF, DERM, PATIENT = "staff", "derm", "patient"


@dataclass(frozen=True)
class Reply:
    by: str  # STAFF, DERM or PATIENT
    after: timedelta  # after the first message
    body: str


@dataclass(frozen=True)
class Conversation:
    number: int  # the demo patient's number (0: patient@demo.test)
    topic: str
    ago: timedelta  # when the patient wrote first, before seeding
    body: str
    severity: str = ""
    attach: str = ""  # PHOTO or PLAN_STEP
    replies: tuple[Reply, ...] = ()
    assign_to: str = ""  # STAFF: assigned; DERM: handed to the dermatologist
    status: str = ""  # a status set by the clinic after the last reply


CONVERSATIONS = (
    Conversation(
        0, Topic.PLAN, timedelta(days=3, hours=5), attach=PLAN_STEP,
        body="Can I use this every other night for the first two weeks? My skin feels tight "
             "the morning after.",
        replies=(Reply(STAFF, timedelta(hours=20),
                       "Yes: every other night for two weeks is a good start, then every night "
                       "if your skin is comfortable. A pea-sized amount is enough for the whole "
                       "face. Let us know how it goes."),),
        assign_to=STAFF, status=Status.WAITING_ON_PATIENT),
    Conversation(
        0, Topic.SIDE_EFFECT, timedelta(hours=26), severity="mild", attach=PHOTO,
        body="Some redness around my chin since the weekend, photo from my diary attached. "
             "Is this normal at this stage?",
        assign_to=DERM),
    Conversation(
        2, Topic.COST, timedelta(hours=9),
        body="My pharmacy says the cream is out of stock until next month. Is there another "
             "one I can use meanwhile?"),
    Conversation(
        3, Topic.PLAN, timedelta(days=1, hours=3),
        body="I am away for work next week. Should I take everything with me, or can I pause "
             "the evening steps?",
        assign_to=STAFF),
    Conversation(
        5, Topic.OTHER, timedelta(days=9),
        body="Can I get my next prescription sent to a different pharmacy?",
        replies=(Reply(STAFF, timedelta(hours=4),
                       "Of course. Tell us the pharmacy's name and town and we will send the "
                       "next prescription there."),
                 Reply(PATIENT, timedelta(hours=7), "Thank you, it is the one on High Street."),
                 Reply(STAFF, timedelta(days=1),
                       "Done: your next prescription goes to the High Street pharmacy.")),
        status=Status.CLOSED),
    Conversation(
        4, Topic.SIDE_EFFECT, timedelta(hours=3), severity="severe",
        body="My lips have been swollen since this morning and it is getting worse. I have "
             "stopped everything."),
)

OUTREACH = (
    "We noticed your routine has been harder to keep up lately. How are things going? Is "
    "anything getting in the way we could help with?",
    Reply(PATIENT, timedelta(hours=6),
          "Thanks for asking. Evenings have been busy with my new job and I keep forgetting "
          "the cream. Could I move it to the morning?"),
)
OUTREACH_AGO = timedelta(days=2, hours=2)

TEMPLATES = {
    "How to apply a retinoid": (
        "Apply a pea-sized amount to clean, dry skin in the evening, spread thinly over the "
        "whole area (not only the spots). Start every other night; a moisturiser afterwards "
        "helps. Use sunscreen in the morning."),
    "Dry skin at the start": (
        "Dryness and some peeling in the first weeks are common and usually settle. Use a "
        "gentle cleanser and a fragrance-free moisturiser twice a day, and apply the treatment "
        "every other night until your skin is comfortable."),
    "Prescription refills": (
        "We have sent your repeat prescription to your pharmacy; it is usually ready within "
        "two working days. Let us know if you would like it sent somewhere else."),
}


@dataclass(frozen=True)
class _Who:
    staff: User  # staff@demo.test: answers, assigns, hands on, closes


def _user(who: _Who, patient: Patient, by: str) -> User:
    return {STAFF: who.staff, DERM: patient.dermatologist, PATIENT: patient.user}[by]


def _attachment(patient: Patient, kind: str) -> Attachment | None:
    if kind == PHOTO:
        photo = (Photo.objects.filter(patient=patient, deleted_at__isnull=True)
                 .order_by("-taken_on", "-id").first())
        return Attachment(photo=photo) if photo else None
    if kind == PLAN_STEP:
        item = (PlanItem.objects.filter(revision__plan__patient=patient,
                                        revision__number=patient.care_plan.current_number)
                .order_by("-position").first())
        return Attachment(plan_item_key=item.key, plan_item_name=item.name) if item else None
    return None


def _seed_conversation(spec: Conversation, patient: Patient, who: _Who,
                       now: datetime) -> Thread:
    start = now - spec.ago
    thread = thread_start(patient=patient, by=patient.user, topic=spec.topic, body=spec.body,
                          severity=spec.severity, now=start,
                          attachment=_attachment(patient, spec.attach))
    _replies(thread, patient, spec.replies, start, who)
    last = start + max((reply.after for reply in spec.replies), default=timedelta())
    if spec.assign_to == STAFF:
        thread_assign(thread=thread, by=who.staff, assignee=who.staff, now=last)
    elif spec.assign_to == DERM:
        thread_hand_to_dermatologist(thread=thread, by=who.staff, now=last)
    if spec.status:
        thread_set_status(thread=thread, by=who.staff, status=spec.status,
                          now=last + timedelta(minutes=5))
    return thread


def _replies(thread: Thread, patient: Patient, replies: tuple[Reply, ...], start: datetime,
             who: _Who) -> None:
    for reply in replies:
        message_post(thread=thread, by=_user(who, patient, reply.by),
                     from_clinic=reply.by != PATIENT, body=reply.body, now=start + reply.after)


def _severe_flag(thread: Thread, now: datetime) -> None:
    """Its flag, raised as the dispatch task would (the seed needs no worker)."""
    from checkins.models import AttentionRequest
    from checkins.services import attention_dispatch_one

    message_ids = list(thread.messages.values_list("pk", flat=True))
    for request_id in AttentionRequest.objects.filter(
            message_id__in=message_ids, processed_at__isnull=True).values_list("pk", flat=True):
        attention_dispatch_one(request_id=request_id, now=now)


def _seed_outreach(clinic: Clinic, who: _Who, now: datetime, taken: set[int]) -> Thread | None:
    """An outreach message from the first open flag (by id) of a patient without a seeded
    conversation, answered by the patient: the conversation waits for the clinic again."""
    from flags.models import Flag, Rule
    from flags.services import outreach_log

    flag = (Flag.objects.filter(clinic=clinic).open().exclude(rule=Rule.SEVERE_SIDE_EFFECT)
            .exclude(patient_id__in=taken).select_related("patient__user").order_by("pk")
            .first())
    if flag is None:
        return None
    start = now - OUTREACH_AGO
    body, answer = OUTREACH
    outreach_log(flag=flag, actor=who.staff, channel="message", outcome="sent", now=start,
                 message_to_patient=body)
    thread = Thread.objects.get(flag_id_started=flag.pk)
    _replies(thread, flag.patient, (answer,), start, who)
    return thread


def _mark_notified(threads: list[Thread]) -> None:
    """Each clinic message's notice as sent when written: the patient was told back then."""
    messages = Message.objects.filter(thread__in=threads, from_clinic=True, notice__isnull=True)
    MessageNotice.objects.bulk_create([MessageNotice(message_id=pk, sent_at=at)
                                       for pk, at in messages.values_list("pk", "created_at")])


def _templates(clinic: Clinic, now: datetime) -> int:
    have = {title.lower() for title in
            ReplyTemplate.objects.filter(clinic=clinic).values_list("title", flat=True)}
    missing = [(title, body) for title, body in TEMPLATES.items() if title.lower() not in have]
    if missing:
        by = User.objects.get(email=STAFF_EMAIL)
        for title, body in missing:
            reply_template_save(clinic_id=clinic.pk, by=by, title=title, body=body,
                                now=now - timedelta(days=30))
    return len(missing)


def seed_messages(*, clinic: Clinic, now: datetime, flags: bool = True) -> tuple[int, int]:
    """The conversations and templates above; returns how many of each were new. Without
    ``flags`` (benchmarks time the sweep) the severe message's flag is left to the attention
    request's task or sweep, as the seeded check-ins' are."""
    emails = {number: PATIENT_EMAIL if number == 0 else synthetic_email(number)
              for number in {spec.number for spec in CONVERSATIONS}}
    by_email = {patient.user.email: patient for patient in Patient.objects.filter(
        clinic=clinic, user__email__in=emails.values(), care_plan__isnull=False)
        .select_related("user", "dermatologist", "care_plan")}
    first_bodies = [spec.body for spec in CONVERSATIONS] + [OUTREACH[0]]
    seeded = set(Message.objects.filter(thread__clinic=clinic, body__in=first_bodies)
                 .values_list("thread__patient_id", "body"))
    todo = [(spec, by_email[emails[spec.number]]) for spec in CONVERSATIONS
            if emails[spec.number] in by_email
            and (by_email[emails[spec.number]].pk, spec.body) not in seeded]
    outreach_done = any(body == OUTREACH[0] for _, body in seeded)
    templates = _templates(clinic, now)
    if not todo and outreach_done:
        return 0, templates  # seeded before: three queries in all
    who = _Who(staff=User.objects.get(email=STAFF_EMAIL))
    made: list[Thread] = []
    with transaction.atomic():
        for spec, patient in todo:
            thread = _seed_conversation(spec, patient, who, now)
            if flags and spec.severity == "severe":
                _severe_flag(thread, now)
            made.append(thread)
        if not outreach_done:
            taken = {patient.pk for patient in by_email.values()}
            thread = _seed_outreach(clinic, who, now, taken)
            if thread is not None:
                made.append(thread)
        _mark_notified(made)
    return len(made), templates
