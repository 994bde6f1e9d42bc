"""The one view serving every generic resource: it reads the request path against the catalogue's path
templates (`/products`, `/products/{key}`, `/products/{key}/release`, `/business_settings`) and answers the
described methods; anything else is Sage's 404 or 405."""

import base64
import binascii

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.collections import paginate
from sandbox.models import GenericRecord
from sandbox.resources.common import (
    SageValidationErrors,
    accounting_endpoint,
    apply_sort,
    date_param,
    filter_changes,
    method_not_allowed,
    not_found,
    wrapped_body,
)

from . import catalogue, records
from .reference_lists import ensure_reference_list
from .validation import validate_body

# List parameters with a generic meaning (the rest of a list's `…_id` parameters filter on the nested link).
PAGING_PARAMETERS = {
    "page",
    "items_per_page",
    "attributes",
    "updated_or_created_since",
    "deleted_since",
    "search",
    "sort",
}
# Fields `search` looks in, besides `displayed_as` (Sage: "the invoice reference or contact name", "the item code or
# description", …).
SEARCHED_FIELDS = ("reference", "vendor_reference", "item_code", "description", "name", "contact_name")


@accounting_endpoint
def generic_resource(request: HttpRequest, path: str) -> HttpResponse:
    name, *rest = path.split("/")
    if not catalogue.is_generic(name) or len(rest) > 2:
        raise not_found()
    template = "/".join([f"/{name}", *(["{key}"] if rest else []), *rest[1:]])
    methods = catalogue.paths().get(template)
    if methods is None:
        raise not_found()
    method = "get" if request.method == "HEAD" else request.method.lower()
    if method not in methods:
        return method_not_allowed(request)
    spec = catalogue.resource(name)
    business = request.business
    if spec["singleton"]:
        record = records.singleton(business=business, resource=name)
        if method == "put":
            return _update(request, record, spec)
        return JsonResponse(records.answer(record))
    ensure_reference_list(business=business, resource=name)
    if not rest:
        if method == "post":
            body = wrapped_body(request, spec["wrapper"])
            validate_body(business=business, schema=spec["create"], body=body, partial=False)
            _refuse_taken_key(business, name, body)
            record = records.create_record(business=business, resource=name, body=body)
            return JsonResponse(records.answer(record), status=201)
        return _list(request, name, spec)
    record = GenericRecord.objects.filter(business=business, resource=name, key=rest[0]).alive().first()
    if record is None:
        raise not_found()
    if len(rest) == 2:
        return _action(request, record, rest[1])
    if method == "put":
        return _update(request, record, spec)
    if method == "delete":
        records.delete_record(record=record)
        if spec["delete_status"] == 204:
            return HttpResponse(status=204)
        return JsonResponse(records.answer(record), status=spec["delete_status"])
    return JsonResponse(records.answer(record))


def _refuse_taken_key(business, name: str, body: dict) -> None:
    """Records keyed by their currency (exchange rates): one per currency."""
    key = records.record_key(resource=name, body=body)
    if GenericRecord.objects.filter(business=business, resource=name, key=key).alive().exists():
        raise SageValidationErrors(
            [
                {
                    "$severity": "error",
                    "$dataCode": "RecordInvalid",
                    "$message": "currency_id has already been taken",
                    "$source": "currency_id",
                }
            ]
        )


def _update(request: HttpRequest, record: GenericRecord, spec: dict) -> JsonResponse:
    body = wrapped_body(request, spec["wrapper"])
    validate_body(business=request.business, schema=spec["update"], body=body, partial=True)
    return JsonResponse(records.answer(records.update_record(record=record, body=body)))


def _action(request: HttpRequest, record: GenericRecord, action: str) -> HttpResponse:
    if action == "release":
        return JsonResponse(records.answer(records.release_record(record=record)), status=201)
    if action == "reissue":
        return JsonResponse(records.answer(records.reissue_record(record=record)), status=201)
    # GET /attachments/{key}/file: the stored file when the client asks for octet-stream, else the record.
    if "application/octet-stream" in request.headers.get("Accept", "") and isinstance(
        record.data.get("file"), str
    ):
        try:
            content = base64.b64decode(record.data["file"], validate=True)
        except binascii.Error:
            content = record.data["file"].encode()
        return HttpResponse(content, content_type=record.data.get("mime_type") or "application/octet-stream")
    return JsonResponse(records.answer(record))


def _list(request: HttpRequest, name: str, spec: dict) -> HttpResponse:
    queryset = filter_changes(request, GenericRecord.objects.filter(business=request.business, resource=name))
    parameters = set(spec["list_parameters"])
    fields = catalogue.definition(spec["definition"])
    search = request.GET.get("search", "").strip()
    if search and "search" in parameters:
        queryset = queryset.filter(_search(search, fields))
    for parameter in sorted(parameters - PAGING_PARAMETERS):
        value = request.GET.get(parameter, "").strip()
        if not value:
            continue
        linked = parameter.removesuffix("_id")
        if parameter.endswith("_id") and linked in fields:
            queryset = queryset.filter(**{f"data__{linked}__id": value})
        elif parameter in ("from_date", "to_date") and "date" in fields:
            day = date_param(request, parameter).isoformat()
            lookup = "gte" if parameter == "from_date" else "lte"
            queryset = queryset.filter(**{f"data__date__{lookup}": day})
        elif fields.get(parameter, {}).get("type") == "boolean" and value in ("true", "false"):
            queryset = queryset.filter(**{f"data__{parameter}": value == "true"})
    if "sort" in parameters:
        queryset = apply_sort(request, queryset, allowed=_sorts(fields), default=["created_at", "id"])
    else:
        queryset = queryset.order_by("created_at", "id")
    return paginate(request, queryset, path=f"/{name}", serialize=records.answer)


def _search(term: str, fields: dict) -> Q:
    """Sage searches references, codes, names and descriptions (and an artefact's contact name)."""
    matches = Q(displayed_as__icontains=term)
    for field in SEARCHED_FIELDS:
        if fields.get(field, {}).get("type") == "string":
            matches |= Q(**{f"data__{field}__icontains": term})
    if "contact" in fields:
        matches |= Q(data__contact__displayed_as__icontains=term)
    return matches


def _sorts(fields: dict) -> dict[str, str]:
    """Sage's `sort` attributes for artefacts: created_at, updated_at, date, due_date (those the record has)."""
    allowed = {"created_at": "created_at", "updated_at": "updated_at"}
    allowed.update({field: f"data__{field}" for field in ("date", "due_date") if field in fields})
    return allowed
