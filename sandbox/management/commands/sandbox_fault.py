from django.core.management.base import BaseCommand, CommandError

from sandbox import faults


class Command(BaseCommand):
    help = (
        "Make the next N sandbox API calls fail: 500, 503, hang (sleep before answering) or drop (close the "
        "connection without an answer). --clear removes every injected fault; --list shows them."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=faults.KINDS)
        parser.add_argument("--count", type=int, default=1, help="How many calls to hit (default 1).")
        parser.add_argument("--hang-seconds", type=float, default=30.0, help="For 'hang' (default 30).")
        parser.add_argument(
            "--path-prefix", default="", help="Only API paths starting with this, e.g. /contacts."
        )
        parser.add_argument("--clear", action="store_true")
        parser.add_argument("--list", action="store_true")

    def handle(self, *args, kind, count, hang_seconds, path_prefix, clear, list, **options):
        if clear:
            self.stdout.write(f"Cleared {faults.clear_faults()} fault(s).")
        if kind:
            try:
                rule = faults.inject_fault(
                    kind=kind, count=count, hang_seconds=hang_seconds, path_prefix=path_prefix
                )
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(self.style.SUCCESS(f"Injected: {rule}"))
        elif not clear and not list:
            raise CommandError("Give a fault kind, --clear or --list.")
        if list:
            for rule in faults.active_faults():
                self.stdout.write(str(rule))
