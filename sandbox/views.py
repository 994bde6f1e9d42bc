"""Sandbox pages for people trying the product (home, reset) and the HTTP control for fault injection."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.management import call_command, get_commands
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import faults as fault_service
from sandbox import oauth, seed
from sandbox.api import SageApiError, sage_endpoint
from sandbox.models import SandboxUser
from sandbox.oauth_views import client_credentials, oauth_error_response
from sandbox.seed_identities import ensure_identities


def home(request: HttpRequest) -> HttpResponse:
    ensure_identities()
    base = settings.SAGE_SANDBOX_URL
    context = {
        "apps": oauth.list_apps(),
        "users": _users_with_their_books(),
        "faults": fault_service.active_faults(),
        "rate_limit": settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE,
        "lifetimes": {
            "code": settings.SAGE_SANDBOX_CODE_SECONDS,
            "access": settings.SAGE_SANDBOX_ACCESS_TOKEN_SECONDS,
            "refresh": settings.SAGE_SANDBOX_REFRESH_TOKEN_SECONDS,
        },
        "endpoints": {
            "Authorize": f"{base}/oauth2/auth/central",
            "Token": f"{base}/oauth/token",
            "Revoke": f"{base}/oauth/revoke",
            "API v3.1": f"{base}/api/v3.1/",
        },
        "can_reset": "sandbox_seed" in get_commands(),
    }
    return render(request, "sandbox/home.html", context)


def _users_with_their_books() -> list[SandboxUser]:
    """The sandbox users, each membership's business carrying how much data it holds and its demo contact
    (the e-mail a visitor can look up with GET /contacts?email=…)."""
    users = list(SandboxUser.objects.prefetch_related("memberships__business"))
    businesses = [membership.business for user in users for membership in user.memberships.all()]
    counts = seed.record_counts([business.id for business in businesses])
    for business in businesses:
        business.contact_count, business.invoice_count = counts.get(business.id, (0, 0))
        demo = seed.DEMO_CONTACTS.get(seed.business_key(business) or "")
        business.demo_contact_email = demo.email if demo and business.contact_count else ""
    return users


@login_required
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    """Staff only, after a confirmation page, with Django's CSRF check (this view is never exempt): a reset ends
    every connection made against the sandbox, for every user of the site."""
    can_reset = "sandbox_seed" in get_commands()
    if not request.user.is_staff:
        return render(request, "sandbox/reset.html", {"can_reset": can_reset}, status=403)
    if request.method == "GET" or request.POST.get("confirmed") != "yes":
        return render(request, "sandbox/reset.html", {"can_reset": can_reset})
    if can_reset:
        call_command("sandbox_seed", "--reset", verbosity=0)
        messages.success(request, "The sandbox was reset: fresh data, every token and code forgotten.")
    else:
        ensure_identities()
        messages.warning(
            request, "Seed data is not available yet; the sandbox users and businesses were restored."
        )
    return redirect("sandbox:home")


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request: HttpRequest) -> HttpResponse:
    """GET lists active faults; POST adds one (kind, count, hang_seconds, path_prefix; form or JSON);
    DELETE clears all. For test scripts: any registered app's client credentials, or a staff session sending
    the CSRF token (X-CSRFToken) with its changes."""
    if request.user.is_authenticated and request.user.is_staff:
        # A staff session is a browser: its changes need the CSRF token, so no other site can make them.
        refused = CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {})
        if refused is not None:
            return refused
    else:
        try:
            client_id, client_secret = client_credentials(request)
            oauth.authenticate_client(client_id=client_id, client_secret=client_secret)
        except oauth.OAuthError as error:
            return oauth_error_response(error, request)
    if request.method == "DELETE":
        return JsonResponse({"cleared": fault_service.clear_faults()})
    if request.method == "POST":
        params = _fault_params(request)
        try:
            fault_service.inject_fault(
                kind=str(params.get("kind", "")),
                count=int(params.get("count", 1)),
                hang_seconds=float(params.get("hang_seconds", 30)),
                path_prefix=str(params.get("path_prefix", "")),
            )
        except (TypeError, ValueError) as error:
            return JsonResponse({"error": "invalid_request", "error_description": str(error)}, status=400)
    return JsonResponse(
        {
            "faults": [
                {
                    "kind": rule.kind,
                    "remaining": rule.remaining,
                    "hang_seconds": rule.hang_seconds,
                    "path_prefix": rule.path_prefix,
                }
                for rule in fault_service.active_faults()
            ]
        },
        status=201 if request.method == "POST" else 200,
    )


def _fault_params(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}
    return request.POST


@sage_endpoint
def api_not_found(request: HttpRequest) -> HttpResponse:
    raise SageApiError(404, data_code="RecordNotFound", message="The requested path does not exist.")
