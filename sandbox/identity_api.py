"""API v3.1 /user and /businesses: who the token belongs to and which businesses it reaches."""

import uuid

from django.http import HttpRequest, JsonResponse

from sandbox.api import SageApiError, read_json_body, sage_datetime, sage_endpoint, sage_errors_response
from sandbox.models import Business, SandboxUser

USER_LOCALES = ("en-GB", "en-IE", "en-US", "es-US", "en-CA", "fr-CA", "fr-FR", "de-DE", "es-ES")
USER_FIELDS = ("first_name", "last_name", "initials", "locale")
BUSINESS_FIELDS = (
    "name",
    "address_line_1",
    "address_line_2",
    "city",
    "region",
    "postal_code",
    "telephone",
    "mobile",
    "website",
)
DEFAULT_ITEMS_PER_PAGE = 20
MAX_ITEMS_PER_PAGE = 200


def serialize_user(user: SandboxUser) -> dict:
    return {
        "id": user.id,
        "displayed_as": user.displayed_as,
        "created_at": sage_datetime(user.created_at),
        "updated_at": sage_datetime(user.updated_at),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "initials": user.initials,
        "email": user.email,
        "locale": user.locale,
    }


def serialize_business(business: Business) -> dict:
    return {
        "id": business.id,
        "displayed_as": business.displayed_as,
        "$path": f"/businesses/{business.id}",
        "created_at": sage_datetime(business.created_at),
        "updated_at": sage_datetime(business.updated_at),
        "name": business.name,
        "address_line_1": business.address_line_1,
        "address_line_2": business.address_line_2,
        "city": business.city,
        "postal_code": business.postal_code,
        "country": {
            "id": business.country_code,
            "displayed_as": business.country_name,
            "$path": f"/countries/{business.country_code}",
        },
        "region": business.region,
        "telephone": business.telephone,
        "mobile": business.mobile,
        "website": business.website,
        "is_demo": business.is_demo,
        "ni_based": business.ni_based,
        "subscriptions": [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_OID, f"subscription:{business.id}").hex,
                "displayed_as": "Accounting",
                "created_at": sage_datetime(business.created_at),
                "updated_at": sage_datetime(business.updated_at),
                "active": business.subscription_active,
                "status": "active" if business.subscription_active else "expired",
            }
        ],
    }


@sage_endpoint(methods=("GET", "PUT"))
def user(request: HttpRequest) -> JsonResponse:
    sage_user = request.sage_user
    if request.method == "PUT":
        changes = _wrapped(read_json_body(request), "user", USER_FIELDS)
        if "locale" in changes and changes["locale"] not in USER_LOCALES:
            return sage_errors_response(
                422,
                [
                    {
                        "$dataCode": "RecordInvalid",
                        "$message": "locale is not included in the list",
                        "$source": "locale",
                    }
                ],
            )
        for name, value in changes.items():
            setattr(sage_user, name, value)
        sage_user.save()
    return JsonResponse(serialize_user(sage_user))


@sage_endpoint(methods=("GET",))
def businesses(request: HttpRequest) -> JsonResponse:
    queryset = request.sage_user.businesses()
    items_per_page = _positive_int(
        request.GET.get("items_per_page"), DEFAULT_ITEMS_PER_PAGE, "items_per_page"
    )
    items_per_page = min(items_per_page, MAX_ITEMS_PER_PAGE)
    total = queryset.count()
    last_page = max(1, -(-total // items_per_page))
    page = min(_positive_int(request.GET.get("page"), 1, "page"), last_page)  # Sage: past the end → last page
    rows = queryset[(page - 1) * items_per_page : page * items_per_page]
    attributes = request.GET.get("attributes", "")

    def page_link(number: int) -> str:
        return f"/businesses?page={number}&items_per_page={items_per_page}"

    # Sage's own /businesses example names the page size $items_per_page (other collections: $itemsPerPage).
    return JsonResponse(
        {
            "$total": total,
            "$page": page,
            "$next": page_link(page + 1) if page < last_page else None,
            "$back": page_link(page - 1) if page > 1 else None,
            "$items_per_page": items_per_page,
            "$items": [_select_attributes(serialize_business(row), attributes) for row in rows],
        }
    )


@sage_endpoint(methods=("GET",))
def lead_business(request: HttpRequest) -> JsonResponse:
    lead = request.sage_user.lead_business()
    if lead is None:
        raise SageApiError(404, data_code="RecordNotFound", message="The user has no lead business.")
    return JsonResponse(serialize_business(lead))


@sage_endpoint(methods=("GET", "PUT"))
def business(request: HttpRequest, key: str) -> JsonResponse:
    found = request.sage_user.businesses().filter(id=key).first()
    if found is None:
        raise SageApiError(404, data_code="RecordNotFound", message="Business not found.")
    if request.method == "PUT":
        changes = _wrapped(read_json_body(request), "business", BUSINESS_FIELDS)
        if "name" in changes and not str(changes["name"]).strip():
            return sage_errors_response(
                422, [{"$dataCode": "RecordInvalid", "$message": "name can't be blank", "$source": "name"}]
            )
        for name, value in changes.items():
            setattr(found, name, "" if value is None else str(value))
        found.save()
    return JsonResponse(serialize_business(found))


def _wrapped(body: dict, wrapper: str, allowed: tuple[str, ...]) -> dict:
    """Sage's write bodies are wrapped ({"user": {...}}); unknown attributes are ignored as Sage does."""
    inner = body.get(wrapper)
    if not isinstance(inner, dict):
        raise SageApiError(
            422,
            data_code="RecordInvalid",
            message=f"The body must be wrapped in {wrapper!r}.",
            source=wrapper,
        )
    return {name: value for name, value in inner.items() if name in allowed}


def _positive_int(raw: str | None, default: int, name: str) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SageApiError(
            400, data_code="InvalidParameter", message=f"{name} must be a number.", source=name
        ) from None
    return max(1, value)


def _select_attributes(item: dict, attributes: str) -> dict:
    """List items carry id, displayed_as and $path unless `attributes=all` or a comma list asks for more."""
    if attributes == "all":
        return item
    wanted = {"id", "displayed_as", "$path"} | {
        name.strip() for name in attributes.split(",") if name.strip()
    }
    return {name: value for name, value in item.items() if name in wanted}
