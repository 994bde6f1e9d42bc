from django.core.management.base import BaseCommand, CommandError

from sandbox.oauth import register_app


class Command(BaseCommand):
    help = (
        "Register (or update) an OAuth app with the Sage sandbox, as at developer.sage.com: its client id, "
        "secret and callback URLs. Without --client-secret one is generated and printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", default="", help="Generated when omitted.")
        parser.add_argument(
            "--callback-url", action="append", required=True, help="Repeat for several callback URLs."
        )

    def handle(self, *args, name, client_id, client_secret, callback_url, **options):
        try:
            secret = register_app(
                name=name,
                client_id=client_id,
                client_secret=client_secret or None,
                callback_urls=callback_url,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Registered sandbox app {name!r} (client id {client_id})."))
        if not client_secret:
            # Generated secrets are shown this once; only their hash is stored.
            self.stdout.write(f"Client secret (shown once): {secret}")
