"""Seed the Sage sandbox: the demo world (`--if-empty`, `--reset`) or a bulk load for benchmarks."""

import time

from django.core.management.base import BaseCommand, CommandError

from sandbox import seed
from sandbox.models import Business


class Command(BaseCommand):
    help = (
        "Seed the Sage sandbox with its deterministic demo world. --if-empty: only when it holds no data. "
        "--reset: wipe every business's data, tokens and codes (registered apps stay) and seed again. "
        "--business ID --contacts N --invoices N: add N contacts and N unpaid invoices to one business, fast."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when sandbox data exists.")
        parser.add_argument("--reset", action="store_true", help="Wipe data, tokens and codes, then reseed.")
        parser.add_argument("--business", help="Business id for a bulk seed (see /sandbox/ for the ids).")
        parser.add_argument("--contacts", type=int, default=0, help="Contacts to add with --business.")
        parser.add_argument("--invoices", type=int, default=0, help="Unpaid invoices to add with --business.")

    def handle(self, *args, if_empty=False, reset=False, business=None, contacts=0, invoices=0, **options):
        self.verbosity = options.get("verbosity", 1)
        if business is None and (contacts or invoices):
            raise CommandError("--contacts and --invoices need --business ID.")
        if contacts < 0 or invoices < 0:
            raise CommandError("--contacts and --invoices must not be negative.")
        started = time.monotonic()
        if reset:
            seed.wipe_everything()
            self._seed_demo(started, "Sandbox reset and seeded")
        elif business is None:
            if if_empty and seed.has_data():
                seed.ensure_identities()
                if self.verbosity >= 1:
                    self.stdout.write("Sandbox data already present; nothing seeded.")
                return
            self._seed_demo(started, "Sandbox seeded")
        if business is not None:
            self._seed_bulk(business, contacts=contacts, invoices=invoices)

    def _seed_demo(self, started: float, done: str) -> None:
        businesses = seed.seed_demo_world()
        if self.verbosity < 1:
            return
        self.stdout.write(self.style.SUCCESS(f"{done} in {time.monotonic() - started:.1f}s:"))
        for business in businesses:
            key = seed.business_key(business)
            demo = seed.DEMO_CONTACTS.get(key)
            contact = f"  demo contact {demo.email}" if demo else ""
            self.stdout.write(f"  {business.name} ({business.id}){contact}")

    def _seed_bulk(self, business_id: str, *, contacts: int, invoices: int) -> None:
        seed.ensure_identities()
        target = Business.objects.filter(id=business_id).first()
        if target is None:
            raise CommandError(f"No sandbox business {business_id}.")
        started = time.monotonic()
        try:
            seed.seed_business(target, contacts=contacts, invoices=invoices)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if self.verbosity < 1:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {contacts} contacts and {invoices} invoices to {target.name} "
                f"in {time.monotonic() - started:.1f}s."
            )
        )
