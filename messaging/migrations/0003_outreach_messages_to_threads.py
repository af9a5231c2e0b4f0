"""Outreach messages written before conversations existed become conversations the patient can
answer: per flag, the first outreach with a message starts a clinic-started thread (author and
time the outreach's) and later ones follow in it, as ``flags.services.outreach_message_send``
does now. The Outreach rows stay the flags' record.

Idempotent (a message already carried over, same thread, author, time and words, is skipped);
the reverse is a no-op (messages are history: never deleted). The patient saw these messages on
the earlier Messages page, so each is marked as notified: the notices sweep sends no email for
old messages. No message text is logged.
"""

from django.db import migrations


def outreach_to_threads(apps, schema_editor):
    Outreach = apps.get_model("flags", "Outreach")
    Thread = apps.get_model("messaging", "Thread")
    Message = apps.get_model("messaging", "Message")
    MessageNotice = apps.get_model("messaging", "MessageNotice")
    ThreadRead = apps.get_model("messaging", "ThreadRead")
    rows = (Outreach.objects.exclude(message_to_patient="").select_related("patient")
            .order_by("flag_id", "at", "id"))
    for outreach in rows.iterator():
        body = outreach.message_to_patient.strip()
        if not body:
            continue
        thread = (Thread.objects.filter(patient_id=outreach.patient_id,
                                        flag_id_started=outreach.flag_id)
                  .order_by("created_at", "id").first())
        if thread is None:
            thread = Thread.objects.create(
                patient_id=outreach.patient_id, clinic_id=outreach.patient.clinic_id,
                topic="from_clinic", status="waiting_on_patient", assignee_id=outreach.by_id,
                created_by_id=outreach.by_id, created_at=outreach.at,
                last_message_at=outreach.at, flag_id_started=outreach.flag_id)
        elif Message.objects.filter(thread=thread, author_id=outreach.by_id, from_clinic=True,
                                    created_at=outreach.at, body=body).exists():
            continue  # carried over by an earlier run
        message = Message.objects.create(thread=thread, author_id=outreach.by_id,
                                         from_clinic=True, body=body, created_at=outreach.at)
        MessageNotice.objects.create(message=message, sent_at=outreach.at)
        if outreach.at > thread.last_message_at:
            Thread.objects.filter(pk=thread.pk).update(last_message_at=outreach.at)
        ThreadRead.objects.update_or_create(thread=thread, user_id=outreach.by_id,
                                            defaults={"read_at": outreach.at})


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_messages_append_only"),
        ("flags", "0008_missed_dose_rule"),
    ]

    operations = [
        migrations.RunPython(outreach_to_threads, migrations.RunPython.noop, elidable=True),
    ]
