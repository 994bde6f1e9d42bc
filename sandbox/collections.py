"""Sage's collection envelope: paging, the `$items` shape and `attributes`.

Sage answers every list as
`{"$total", "$page", "$next", "$back", "$itemsPerPage", "$items"}`; items carry only `id`, `displayed_as`
and `$path` unless `attributes=all` or a comma list of attribute names is asked for. `items_per_page` is at
most 200 (default 20) and a `page` past the end answers the last page.
"""

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from django.http import HttpRequest, JsonResponse

DEFAULT_ITEMS_PER_PAGE = 20
MAX_ITEMS_PER_PAGE = 200
BASE_ATTRIBUTES = ("id", "displayed_as", "$path")


def _positive_int(raw: str | None, default: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return value if value >= 1 else default


def requested_attributes(request: HttpRequest) -> set[str] | None:
    """None for the base three; {"all"} for everything; else the named attributes."""
    raw = request.GET.get("attributes", "").strip()
    if not raw:
        return None
    names = {name.strip() for name in raw.split(",") if name.strip()}
    return names or None


def select_attributes(full: dict, attributes: set[str] | None) -> dict:
    """Cut a fully serialized record down to what `attributes` asks for (the base three always stay)."""
    if attributes is not None and "all" in attributes:
        return full
    wanted = set(BASE_ATTRIBUTES) | (attributes or set())
    return {key: value for key, value in full.items() if key in wanted}


def base_item(record) -> dict:
    return {"id": record.sage_id, "displayed_as": record.displayed_as, "$path": record.api_path}


def _page_link(request: HttpRequest, path: str, page: int, items_per_page: int) -> str:
    # Other query parameters (filters, attributes, sort) are kept, so following $next pages the same query.
    params = [(key, value) for key, value in request.GET.items() if key not in ("page", "items_per_page")]
    params += [("page", page), ("items_per_page", items_per_page)]
    return f"{path}?{urlencode(params)}"


def paginate(
    request: HttpRequest, queryset, *, path: str, serialize: Callable[[object], dict]
) -> JsonResponse:
    """Answer one page of `queryset` (or a plain sequence) in Sage's envelope.

    `path` is the collection's path relative to the API root (`/contacts`); `serialize(record)` gives the full
    Sage representation and is only called when the request asks for more than the base attributes.
    """
    items_per_page = min(
        _positive_int(request.GET.get("items_per_page"), DEFAULT_ITEMS_PER_PAGE), MAX_ITEMS_PER_PAGE
    )
    total = len(queryset) if isinstance(queryset, Sequence) else queryset.count()
    last_page = max(1, -(-total // items_per_page))
    page = min(_positive_int(request.GET.get("page"), 1), last_page)
    start = (page - 1) * items_per_page
    records = queryset[start : start + items_per_page]

    attributes = requested_attributes(request)
    if attributes is None:
        items = [base_item(record) for record in records]
    else:
        items = [select_attributes(serialize(record), attributes) for record in records]

    return JsonResponse(
        {
            "$total": total,
            "$page": page,
            "$next": _page_link(request, path, page + 1, items_per_page) if page < last_page else None,
            "$back": _page_link(request, path, page - 1, items_per_page) if page > 1 else None,
            "$itemsPerPage": items_per_page,
            "$items": items,
        }
    )
