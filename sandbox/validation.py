"""Sage's field-length limits on request bodies, for every sandbox resource (hand-written or generic).

Sage's description declares `maxLength` on the resource definitions (`Contact.reference` is 10), not on the create
and update bodies: a body field is bound by the limit of the same field of its resource. A resource gives its
limits as a nested mapping, field → maximum length, or field → the limits of a nested object (applied to each
object of a list too):

    CONTACT_LIMITS = {"reference": 10, "main_address": {"postal_code": 10}}

`too_long_errors(body, limits)` answers Sage's error entries (422, one per field, `$source` naming it as
`main_address.postal_code` or `invoice_lines[2].description`); nothing is cut short or stored.
"""

from __future__ import annotations

from collections.abc import Mapping

FieldLimits = Mapping[str, "int | FieldLimits"]


def too_long_message(field: str, limit: int) -> str:
    return f"{field} is too long (maximum is {limit} characters)"


def too_long_errors(body: Mapping, limits: FieldLimits, *, prefix: str = "") -> list[dict]:
    """Sage's error entries for every string in `body` longer than its limit (none when all fit)."""
    errors: list[dict] = []
    for field, limit in limits.items():
        value = body.get(field) if isinstance(body, Mapping) else None
        source = f"{prefix}{field}"
        if value is None:
            continue
        if isinstance(limit, Mapping):
            if isinstance(value, Mapping):
                errors += too_long_errors(value, limit, prefix=f"{source}.")
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    errors += too_long_errors(item, limit, prefix=f"{source}[{index}].")
        elif isinstance(value, str) and len(value) > limit:
            errors.append(
                {
                    "$severity": "error",
                    "$dataCode": "RecordInvalid",
                    "$message": too_long_message(field, limit),
                    "$source": source,
                }
            )
        elif isinstance(value, list):
            errors += [
                {
                    "$severity": "error",
                    "$dataCode": "RecordInvalid",
                    "$message": too_long_message(field, limit),
                    "$source": f"{source}[{index}]",
                }
                for index, item in enumerate(value)
                if isinstance(item, str) and len(item) > limit
            ]
    return errors
