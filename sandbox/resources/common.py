"""What every accounting resource shares: query parameter parsing, validation errors, wire formats."""

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from functools import partial, wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from sandbox.amounts import InvalidAmount, format_amount, to_decimal
from sandbox.api import SageApiError, read_json_body, sage_datetime, sage_endpoint
from sandbox.api import method_not_allowed as api_method_not_allowed
from sandbox.models.accounting import sage_link
from sandbox.validation import FieldLimits, too_long_errors

NOT_FOUND_MESSAGE = "Couldn't find record."


class SageValidationErrors(Exception):
    """Several field errors answered at once as Sage's 422 list (each names its field in `$source`)."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors


class Validator:
    """Collects field errors while a body is read, so one answer names every bad field as Sage does."""

    def __init__(self):
        self.errors: list[dict] = []

    def error(self, source: str, message: str, data_code: str = "RecordInvalid") -> None:
        self.errors.append(
            {"$severity": "error", "$dataCode": data_code, "$message": message, "$source": source}
        )

    def require(self, body: dict, field: str, source: str | None = None) -> bool:
        value = body.get(field)
        if value is None or value == "" or value == []:
            self.error(source or field, f"{field} is missing", "RecordInvalid")
            return False
        return True

    def amount(self, body: dict, field: str, source: str | None = None) -> Decimal | None:
        if body.get(field) is None:
            return None
        try:
            return to_decimal(body[field])
        except InvalidAmount:
            self.error(source or field, f"{field} is not a valid number")
            return None

    def date(self, body: dict, field: str, source: str | None = None) -> dt.date | None:
        raw = body.get(field)
        if raw in (None, ""):
            return None
        parsed = parse_date(raw) if isinstance(raw, str) else None
        if parsed is None:
            self.error(source or field, f"{field} is not a valid date (YYYY-MM-DD)")
        return parsed

    def max_lengths(self, body: dict, limits: FieldLimits) -> None:
        """Sage's maxLengths (sandbox/validation.py): one error per string that is too long."""
        self.errors += too_long_errors(body, limits)

    def raise_if_any(self) -> None:
        if self.errors:
            raise SageValidationErrors(self.errors)


def accounting_endpoint(view: Callable | None = None, *, methods: tuple[str, ...] | None = None):
    """`sage_endpoint` (auth, scope, X-Business, allowed methods) plus this app's multi-error validation answers."""
    if view is None:
        return partial(accounting_endpoint, methods=methods)

    @wraps(view)
    def answer_validation_errors(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SageValidationErrors as invalid:
            return JsonResponse(invalid.errors, status=422, safe=False)

    return sage_endpoint(answer_validation_errors, methods=methods)


def method_not_allowed(request: HttpRequest) -> HttpResponse:
    """For views that branch on the method themselves; the 405 answer is sandbox.api's."""
    raise api_method_not_allowed(request.method)


def not_found() -> SageApiError:
    return SageApiError(404, data_code="RecordNotFound", message=NOT_FOUND_MESSAGE)


def get_alive(queryset, key: str):
    """One live record of the request's business, or Sage's 404."""
    record = queryset.alive().filter(id=key).first()
    if record is None:
        raise not_found()
    return record


def wrapped_body(request: HttpRequest, wrapper: str) -> dict:
    """Sage's create/update bodies are wrapped (`{"sales_invoice": {...}}`); a bare body is refused."""
    body = read_json_body(request)
    inner = body.get(wrapper) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise SageValidationErrors(
            [
                {
                    "$severity": "error",
                    "$dataCode": "RecordInvalid",
                    "$message": f"The request body must be wrapped in a '{wrapper}' object",
                    "$source": wrapper,
                }
            ]
        )
    return inner


# --- query parameters --------------------------------------------------------------------------------


def _invalid_parameter(name: str, message: str) -> SageValidationErrors:
    return SageValidationErrors(
        [{"$severity": "error", "$dataCode": "InvalidParameter", "$message": message, "$source": name}]
    )


DATE_WITH_OFFSET = re.compile(r"(?P<day>\d{4}-\d{2}-\d{2})T(?P<offset>[+-]\d{2}:\d{2})")


def datetime_param(request: HttpRequest, name: str) -> dt.datetime | None:
    """An ISO 8601 date-time (or a bare date, read as midnight UTC) from the query string."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    # A `+` in an offset arrives as a space when the client did not percent-encode it.
    raw = raw.replace(" ", "+")
    parsed = parse_datetime(raw)
    date_with_offset = DATE_WITH_OFFSET.fullmatch(raw)
    if parsed is None and date_with_offset:
        # Sage's description also takes a date with an offset, `YYYY-MM-DDT(+|-)hh:mm`: midnight there.
        parsed = parse_datetime(f"{date_with_offset['day']}T00:00:00{date_with_offset['offset']}")
    if parsed is None:
        day = parse_date(raw)
        if day is None:
            raise _invalid_parameter(name, f"{name} must be an ISO 8601 date-time")
        parsed = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def date_param(request: HttpRequest, name: str) -> dt.date | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    parsed = parse_date(raw)
    if parsed is None:
        raise _invalid_parameter(name, f"{name} must be a date (YYYY-MM-DD)")
    return parsed


def apply_sort(request: HttpRequest, queryset, *, allowed: dict[str, str], default: list[str]):
    """Sage's `sort=field[:asc|:desc][,field…]`, limited to the fields the resource sorts on."""
    raw = request.GET.get("sort", "").strip()
    if not raw:
        return queryset.order_by(*default)
    ordering = []
    for part in raw.split(","):
        field, _, direction = part.strip().partition(":")
        if field not in allowed or direction.lower() not in ("", "asc", "desc"):
            raise _invalid_parameter("sort", f"Cannot sort by '{part.strip()}'")
        ordering.append(("-" if direction.lower() == "desc" else "") + allowed[field])
    return queryset.order_by(*ordering, "id")


def filter_changes(request: HttpRequest, queryset):
    """`updated_or_created_since` (inclusive) on live records, or `deleted_since` (not inclusive) alone."""
    deleted_since = datetime_param(request, "deleted_since")
    if deleted_since is not None:
        return queryset.deleted_after(deleted_since)
    queryset = queryset.alive()
    changed_since = datetime_param(request, "updated_or_created_since")
    if changed_since is not None:
        queryset = queryset.filter(updated_at__gte=changed_since)
    return queryset


# --- wire formats ------------------------------------------------------------------------------------


def format_date(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def timestamps(record) -> dict:
    fields = {"created_at": sage_datetime(record.created_at), "updated_at": sage_datetime(record.updated_at)}
    if getattr(record, "deleted_at", None) is not None:
        fields["deleted_at"] = sage_datetime(record.deleted_at)
    return fields


def money(value: Decimal | None) -> str | None:
    return format_amount(value)


CURRENCY_NAMES = {"GBP": "Pound Sterling", "EUR": "Euro", "USD": "US Dollar", "CAD": "Canadian Dollar"}


def currency_link(code: str) -> dict:
    return sage_link(
        id=code, displayed_as=f"{CURRENCY_NAMES.get(code, code)} ({code})", path=f"/currencies/{code}"
    )


def code_link(collection: str, code: str, name: str) -> dict:
    """Link to an entry of Sage's fixed lists (`/artefact_statuses/PAID`, `/transaction_types/…`)."""
    return sage_link(id=code, displayed_as=name, path=f"/{collection}/{code}")


def now() -> dt.datetime:
    # Sage writes timestamps to the second; storing them so keeps `deleted_since` (not inclusive) exact for
    # a client that passes back a timestamp it was given.
    return timezone.now().replace(microsecond=0)
