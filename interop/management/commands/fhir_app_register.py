"""Register an app that patients may authorise for their own record (authorization code with
PKCE S256; a public client, so no secret).

    manage.py fhir_app_register --name "My Skin Diary" --redirect-uri https://app.example/cb
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interop.services import RegistrationError, patient_app_register


class Command(BaseCommand):
    help = "Register an app patients may authorise (prints its client id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--redirect-uri", action="append", required=True,
                            dest="redirect_uris", help="Repeat for several.")

    def handle(self, *args: object, **options: object) -> None:
        try:
            registered = patient_app_register(name=str(options["name"]),
                                              redirect_uris=list(options["redirect_uris"]),
                                              registered_by=None)
        except RegistrationError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"client_id={registered.client_id}")
