"""Drop one month of audit events past retention (PostgreSQL), by hand: nothing drops them
automatically.

    manage.py audit_partition_drop --list
    manage.py audit_partition_drop accounts_auditevent_y2019m03 --confirm [--operator NAME]

Refuses a month that ends after the retention cut-off (``AUDIT_RETENTION_MONTHS``, six years by
default), the default partition and any other table. The drop is itself audited: an event with
``object_type`` ``audit_partition`` and ``object_id`` "<partition>:<events dropped>[:operator]",
written in the same transaction as the drop.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import audit_partitions


class Command(BaseCommand):
    help = "Drop one monthly audit partition past retention (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partition", nargs="?", help="e.g. accounts_auditevent_y2019m03")
        parser.add_argument("--list", action="store_true",
                            help="List the partitions and whether each is past retention.")
        parser.add_argument("--confirm", action="store_true", help="Really drop it.")
        parser.add_argument("--operator", default="",
                            help="Who runs the drop (an operator's handle, kept in the event).")

    def handle(self, *args: object, **options: object) -> None:
        if not audit_partitions.is_partitioned():
            raise CommandError("The audit table is not partitioned (PostgreSQL only).")
        cutoff = audit_partitions.retention_cutoff()
        if options["list"] or not options["partition"]:
            for partition in audit_partitions.audit_partitions():
                past = partition.ends is not None and partition.ends <= cutoff
                self.stdout.write(f"{partition.name}\t{'past retention' if past else 'kept'}")
            return
        if not options["confirm"]:
            raise CommandError("Add --confirm to drop it (this cannot be undone).")
        operator = f":{options['operator']}" if options["operator"] else ""
        try:
            events = audit_partitions.audit_partition_drop(
                name=str(options["partition"]), operator=operator)
        except audit_partitions.RetentionError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Dropped {options['partition']} ({events} events); the drop is audited.")
