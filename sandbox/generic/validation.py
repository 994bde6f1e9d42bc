"""Request bodies checked against the catalogue: required fields, types, formats, maxLengths (with
sandbox/validation.py, as the hand-written resources), minimum/maximum and ids that must name a live record of the
right resource. Every problem is collected, so one 422 names them all,
each with its field in `$source` (nested ones as `invoice_lines[0].ledger_account_id`).

Sage's description declares no enums; the fields that take one of a fixed set of values are the `…_id`s of code
lists (`catalog_item_type_id`, `currency_id`, …), and those are checked as references like any other id.
"""

from django.utils.dateparse import parse_date, parse_datetime

from sandbox.amounts import InvalidAmount, to_decimal
from sandbox.models import Business
from sandbox.resources.common import Validator
from sandbox.validation import FieldLimits

from .references import find_link


def validate_body(*, business: Business, schema: dict, body: dict, partial: bool) -> None:
    """Raise SageValidationErrors (→ 422) unless `body` (the object inside the wrapper) fits `schema`.

    `partial` (a PUT): required fields may be left out; what is given is checked all the same."""
    validator = Validator()
    _check_object(validator, business, schema, body, prefix="", partial=partial)
    validator.max_lengths(body, field_limits(schema))
    validator.raise_if_any()


def field_limits(schema: dict) -> FieldLimits:
    """The catalogue's maxLengths of a body as sandbox/validation.py's limits table (nested objects and lists too)."""
    limits = {}
    for name, field in schema["fields"].items():
        nested = field.get("properties") or field.get("items")
        if nested and "fields" in nested:
            if nested_limits := field_limits(nested):
                limits[name] = nested_limits
        elif "maxLength" in field:
            limits[name] = field["maxLength"]
    return limits


def _missing(value) -> bool:
    return value is None or value == "" or value == []


def _check_object(
    validator: Validator, business, schema: dict, body: dict, *, prefix: str, partial: bool
) -> None:
    if not partial:
        for name in schema["required"]:
            if _missing(body.get(name)):
                validator.error(f"{prefix}{name}", f"{name} is missing")
    for name, value in body.items():
        field = schema["fields"].get(name)
        if field is None or value is None:
            continue  # Sage ignores attributes it does not know; null clears a field
        _check_value(validator, business, name, field, value, source=f"{prefix}{name}", partial=partial)


def _check_value(
    validator: Validator, business, name: str, field: dict, value, *, source: str, partial: bool
):
    kind = field["type"]
    if kind == "array":
        if not isinstance(value, list):
            validator.error(source, f"{name} must be an array")
            return
        items = field.get("items", {})
        for index, item in enumerate(value):
            where = f"{source}[{index}]"
            if "fields" in items:
                if not isinstance(item, dict):
                    validator.error(where, f"{name} entries must be objects")
                else:
                    # Arrays are replaced whole, so each entry is complete even in an update.
                    _check_object(validator, business, items, item, prefix=f"{where}.", partial=False)
            elif item is not None:
                _check_scalar(validator, name, items, item, source=where)
        if "references" in field and not validator.errors:
            for index, item in enumerate(value):
                _check_reference(validator, business, name, field["references"], item, f"{source}[{index}]")
        return
    if kind == "object":
        if not isinstance(value, dict):
            validator.error(source, f"{name} must be an object")
        elif "properties" in field:
            _check_object(
                validator, business, field["properties"], value, prefix=f"{source}.", partial=partial
            )
        return
    if _check_scalar(validator, name, field, value, source=source) and "references" in field:
        _check_reference(validator, business, name, field["references"], value, source)


def _check_scalar(validator: Validator, name: str, field: dict, value, *, source: str) -> bool:
    kind = field["type"]
    if kind == "string":
        if not isinstance(value, str):
            validator.error(source, f"{name} must be a string")
            return False
        if field.get("format") == "date" and parse_date(value) is None:
            validator.error(source, f"{name} is not a valid date (YYYY-MM-DD)")
            return False
        if field.get("format") == "date-time" and parse_datetime(value) is None and parse_date(value) is None:
            validator.error(source, f"{name} is not a valid date-time (ISO 8601)")
            return False
        return True
    if kind in ("number", "integer"):
        if isinstance(value, bool):
            number = None
        elif kind == "integer":
            number = value if isinstance(value, int) else None
        else:
            try:
                number = to_decimal(value)
            except InvalidAmount:
                number = None
        if number is None:
            validator.error(source, f"{name} is not a valid {'integer' if kind == 'integer' else 'number'}")
            return False
        if "minimum" in field and number < field["minimum"]:
            validator.error(source, f"{name} must be greater than or equal to {field['minimum']}")
            return False
        if "maximum" in field and number > field["maximum"]:
            validator.error(source, f"{name} must be less than or equal to {field['maximum']}")
            return False
        return True
    if kind == "boolean" and not isinstance(value, bool):
        validator.error(source, f"{name} must be true or false")
        return False
    return True


def _check_reference(validator: Validator, business, name: str, collection: str, value, source: str) -> None:
    if not isinstance(value, str) or find_link(business=business, collection=collection, key=value) is None:
        validator.error(source, f"{name} does not name a record of /{collection}", "RecordInvalid")
