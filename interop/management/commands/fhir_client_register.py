"""Register a clinic's system client for the FHIR API (OAuth 2.0 client credentials).

    manage.py fhir_client_register --clinic 1 --name "Epic bridge" [--scopes "system/*.rs"]

Prints the client id and secret once: only the secret's hash is kept, so a lost secret means
registering a new client (and revoking the old one in the admin site).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Clinic
from interop.scopes import DEFAULT_SYSTEM_SCOPES
from interop.services import RegistrationError, clinic_client_register


class Command(BaseCommand):
    help = "Register a clinic's FHIR system client and print its id and secret (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", type=int, required=True, help="The clinic's id.")
        parser.add_argument("--name", required=True, help='e.g. "Epic bridge"')
        parser.add_argument("--scopes", default=DEFAULT_SYSTEM_SCOPES,
                            help="SMART v2 system scopes, space-separated (default "
                                 f"{DEFAULT_SYSTEM_SCOPES}).")

    def handle(self, *args: object, **options: object) -> None:
        clinic = Clinic.objects.filter(pk=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with id {options['clinic']}.")
        try:
            registered = clinic_client_register(clinic=clinic, name=str(options["name"]),
                                                scopes=str(options["scopes"]),
                                                registered_by=None)
        except RegistrationError as error:
            raise CommandError(str(error)) from error
        # The one time the secret is shown: to the operator's terminal, never to a log.
        self.stdout.write(f"client_id={registered.client_id}")
        self.stdout.write(f"client_secret={registered.client_secret}")
        self.stderr.write("Keep the secret now: it is stored only as a hash and cannot be "
                          "shown again.")
