"""The committed catalogue of Sage's API structure (see scripts/derive_sandbox_catalogue.py) and what the sandbox
serves by hand instead."""

import functools
import json
from pathlib import Path

CATALOGUE_FILE = Path(__file__).with_name("catalogue.json")

# Resources with their own module under sandbox/resources/ (their behaviour — totals, allocations, statuses — is
# hand-written); /user and /businesses are in sandbox/identity_api.py and not in this description.
HAND_WRITTEN = frozenset(
    {
        "contacts",
        "sales_invoices",
        "contact_payments",
        "ledger_accounts",
        "bank_accounts",
        "tax_rates",
        "payment_methods",
        "transaction_types",
        "contact_types",
        "artefact_statuses",
    }
)


@functools.cache
def catalogue() -> dict:
    return json.loads(CATALOGUE_FILE.read_text())


def paths() -> dict[str, list[str]]:
    """Path template (`/products/{key}`) → its methods (lower case), as Sage describes them."""
    return catalogue()["paths"]


def resource(name: str) -> dict | None:
    return catalogue()["resources"].get(name)


def resource_names() -> list[str]:
    return sorted(catalogue()["resources"])


def definition(name: str) -> dict:
    """A definition's fields: name → {"type", "format", "maxLength", "definition", "items", "properties"}."""
    return catalogue()["definitions"][name]


def is_generic(name: str) -> bool:
    return name not in HAND_WRITTEN and name in catalogue()["resources"]


def is_writable(name: str) -> bool:
    return "create" in (resource(name) or {})


def is_reference_list(name: str) -> bool:
    """Read-only collections (countries, currencies, *_types, …): seeded per business, never created by clients."""
    spec = resource(name) or {}
    return bool(spec) and not spec["singleton"] and "create" not in spec


def definition_fields(resource_name: str) -> dict:
    return definition(resource(resource_name)["definition"])
