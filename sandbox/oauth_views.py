"""HTTP face of the sandbox's OAuth server (Sage's /oauth2/auth/central, /token and /revoke). Thin: parse,
call sandbox.oauth, answer."""

import base64
import binascii
import functools
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sandbox import oauth
from sandbox.models import SandboxUser
from sandbox.seed_identities import ensure_identities

# The sandbox user last chosen in this browser is preselected: the sandbox's idea of "signed in".
SESSION_USER_KEY = "sandbox_user_id"
FORWARDED_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "scopes",
    "state",
    "country",
    "filter",
    "locale",
)


def _popup_friendly(view):
    """Sage's sign-in page works inside a popup opened by another site (the connect portal's): so must ours.

    Django's default `Cross-Origin-Opener-Policy: same-origin` would cut the popup off from the page that opened
    it, for the rest of the popup's life.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        response = view(request)
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response

    return wrapper


@_popup_friendly
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    try:
        authorization = oauth.validate_authorization_request(params)
    except oauth.AuthorizeRequestInvalid as error:
        return render(request, "sandbox/authorize_error.html", {"message": str(error)}, status=400)
    if authorization.error:
        return HttpResponseRedirect(oauth.error_redirect(authorization, authorization.error))

    ensure_identities()
    problem = ""
    chosen_id = request.session.get(SESSION_USER_KEY, "")
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "deny":
            return HttpResponseRedirect(oauth.deny(authorization=authorization))
        chosen_id = request.POST.get("sandbox_user", "")
        user = SandboxUser.objects.filter(id=chosen_id).first()
        if decision == "allow" and user is not None:
            request.session[SESSION_USER_KEY] = user.id
            return HttpResponseRedirect(oauth.approve(authorization=authorization, user=user))
        problem = (
            "Choose the Sage user to sign in as, then Allow." if user is None else "Choose Allow or Deny."
        )

    users = list(SandboxUser.objects.prefetch_related("memberships__business"))
    if not any(user.id == chosen_id for user in users):
        chosen_id = users[0].id if users else ""
    context = {
        "authorization": authorization,
        "users": users,
        "chosen_id": chosen_id,
        "problem": problem,
        "forwarded": [(name, params.get(name)) for name in FORWARDED_PARAMS if params.get(name)],
    }
    return render(request, "sandbox/authorize.html", context, status=400 if problem else 200)


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    try:
        _require_form_body(request)
        app = _authenticated_client(request)
        body = oauth.grant_tokens(app=app, grant_type=request.POST.get("grant_type", ""), params=request.POST)
    except oauth.OAuthError as error:
        return oauth_error_response(error, request)
    return _no_store(JsonResponse(body))


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    try:
        _require_form_body(request)
        app = _authenticated_client(request)
        oauth.revoke(app=app, token=request.POST.get("token", ""))
    except oauth.OAuthError as error:
        return oauth_error_response(error, request)
    return _no_store(HttpResponse(status=200))


def _require_form_body(request: HttpRequest) -> None:
    # Sage documents form-encoded bodies only. A JSON or multipart body is refused here rather than read, so a
    # client that sends one learns it from the sandbox and not in production.
    if request.content_type != "application/x-www-form-urlencoded":
        raise oauth.OAuthError(
            "invalid_request",
            "The body must be form-encoded (Content-Type: application/x-www-form-urlencoded).",
        )


def client_credentials(request: HttpRequest) -> tuple[str, str]:
    """Sage takes client_id/client_secret in the form body; HTTP Basic (RFC 6749 §2.3.1) is accepted too."""
    form_id, form_secret = request.POST.get("client_id", ""), request.POST.get("client_secret", "")
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return form_id, form_secret
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise oauth.OAuthError("invalid_client", "Malformed Basic credentials.", status=401) from None
    basic_id, _, basic_secret = decoded.partition(":")
    basic_id, basic_secret = unquote_plus(basic_id), unquote_plus(basic_secret)
    if (form_id and form_id != basic_id) or form_secret:
        raise oauth.OAuthError("invalid_request", "Use one client authentication method, not two.")
    return basic_id, basic_secret


def _authenticated_client(request: HttpRequest) -> oauth.RegisteredApp:
    client_id, client_secret = client_credentials(request)
    return oauth.authenticate_client(client_id=client_id, client_secret=client_secret)


def oauth_error_response(error: oauth.OAuthError, request: HttpRequest) -> JsonResponse:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    response = _no_store(JsonResponse(body, status=error.status))
    if error.status == 401 and request.headers.get("Authorization", "").lower().startswith("basic"):
        response["WWW-Authenticate"] = 'Basic realm="sage-sandbox"'
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
