from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from accounts.demo import ensure_demo_accounts
from accounts.first_call import first_call_instructions
from workflows.examples import ensure_example_workflow


class Command(BaseCommand):
    help = "Create the demo admin and end user (idempotent) and seed the Sage sandbox when it is installed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--print-credentials",
            action="store_true",
            help="Print the demo passwords even when DEBUG is off.",
        )
        parser.add_argument("--no-sandbox-seed", action="store_true", help="Skip seeding the Sage sandbox.")
        parser.add_argument(
            "--announce-url", action="store_true", help="End with the URL the app is served at."
        )

    def handle(self, *args, print_credentials=False, no_sandbox_seed=False, announce_url=False, **options):
        accounts = ensure_demo_accounts()
        # The sandbox is reached by command name only: the product never imports it.
        if not no_sandbox_seed and "sandbox_seed" in get_commands():
            call_command("sandbox_seed", "--if-empty", verbosity=options.get("verbosity", 1))
        example, example_created = ensure_example_workflow()
        show_passwords = settings.DEBUG or print_credentials
        self.stdout.write(self.style.SUCCESS("Demo accounts:"))
        for account in accounts:
            role = "admin (staff, superuser)" if account.is_staff else "end user"
            state = "created" if account.created else "exists"
            password = account.password if show_passwords else "(hidden: pass --print-credentials)"
            if not account.created and show_passwords:
                password += "  (unless changed since)"
            self.stdout.write(f"  {role:<26} username={account.username:<8} password={password}  [{state}]")
        state = "created" if example_created else "exists"
        self.stdout.write(f"Example workflow: “{example.name}” (Admin → Workflows)  [{state}]")
        if announce_url:
            for line in first_call_instructions():
                self.stdout.write(line)
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  sageint is starting at {settings.SITE_URL}/   (Ctrl-C stops web, worker and beat)\n"
                )
            )
