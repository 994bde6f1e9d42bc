"""Connect pages. Thin: find the end user, call one service, render or redirect.

Who is the end user? Someone who arrived with a connect link (`?user_token=<JWT>`) is bound to that end user
in their session for SAGEINT_CONNECT_LINK_SESSION_SECONDS; otherwise the logged-in sageint account is.

A link never takes a session over silently. An attacker can mint a link for their own end user and get a
victim to open it: bound without a word, the victim would connect *their* Sage to the attacker's end user. So
a link that would replace a signed-in account or a binding to another end user only asks (naming who the
connection would belong to, answered by a CSRF-checked POST); binding gives the session a new key; and the
connect page names the owner of the connection before the Connect button.
"""

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import oauth, services
from .end_users import end_user_for_user, end_user_from_token
from .exceptions import AuthorizationFailed, IntegrationDisabled, InvalidUserToken, NotConnected, SageintError
from .models import EndUser, IntegrationSettings

_LINK_SESSION_KEY = "sageint_connect_link"
_PENDING_LINK_SESSION_KEY = "sageint_connect_link_pending"
# How long a link waiting for "continue?" can be confirmed.
_PENDING_LINK_SECONDS = 600


def _with_end_user(
    view: Callable[[HttpRequest, EndUser], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Run `view(request, end_user)` for the connect link's or the logged-in account's end user, else log in."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        end_user = _end_user(request)
        if end_user is None:
            return redirect_to_login(request.get_full_path())
        return view(request, end_user)

    return wrapper


@require_GET
def connect(request: HttpRequest) -> HttpResponse:
    if "user_token" in request.GET:
        return _open_connect_link(request)
    return _connect_page(request)


def _open_connect_link(request: HttpRequest) -> HttpResponse:
    try:
        end_user = end_user_from_token(request.GET["user_token"])
    except InvalidUserToken as error:
        return render(request, "connections/error.html", {"message": error.message}, status=401)
    linked = _linked_end_user(request)
    if (linked is not None and linked.pk != end_user.pk) or (
        linked is None and request.user.is_authenticated
    ):
        request.session[_PENDING_LINK_SESSION_KEY] = {
            "end_user_id": end_user.pk,
            "until": time.time() + _PENDING_LINK_SECONDS,
        }
        # Drop the token from the address bar (history, Referer, server logs of later requests).
        return redirect("connections:confirm_link")
    _bind_link(request, end_user)
    return redirect("connections:connect")


@require_http_methods(["GET", "POST"])
def confirm_link(request: HttpRequest) -> HttpResponse:
    """Ask before a link replaces the signed-in account or another link's end user; act only on a POST."""
    pending = _pending_link_end_user(request)
    if request.method == "GET":
        if pending is None:
            return redirect("connections:connect")
        current = _end_user(request)
        return render(
            request,
            "connections/confirm_link.html",
            {
                "link_end_user": pending,
                "current_end_user": current,
                "current_is_link": _linked_end_user(request),
            },
        )
    decision = request.POST.get("decision")
    if decision == "forget":
        # Stop acting for the link's end user: back to the signed-in account (or to signing in).
        request.session.pop(_LINK_SESSION_KEY, None)
        return redirect("connections:connect")
    if pending is None:
        return render(
            request,
            "connections/error.html",
            {"message": "No connect link is waiting for confirmation. Open the link again."},
            status=400,
        )
    request.session.pop(_PENDING_LINK_SESSION_KEY, None)
    if decision == "continue":
        _bind_link(request, pending)
        messages.info(request, f"This page now connects Sage Accounting for {pending.owner_label}.")
    return redirect("connections:connect")


def _bind_link(request: HttpRequest, end_user: EndUser) -> None:
    # A new session key: one planted in the browser, or seen before the link was opened, binds nobody. An
    # anonymous session starts afresh (nothing of a planted session survives); a signed-in one stays signed in.
    if request.user.is_authenticated:
        request.session.cycle_key()
    else:
        request.session.flush()
    request.session[_LINK_SESSION_KEY] = {
        "end_user_id": end_user.pk,
        "until": time.time() + settings.SAGEINT_CONNECT_LINK_SESSION_SECONDS,
    }


@_with_end_user
def _connect_page(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    return render(
        request,
        "connections/connect.html",
        {
            "end_user": end_user,
            "connection": services.connection_of(end_user),
            "integration_enabled": IntegrationSettings.integration_enabled(),
            "via_connect_link": _linked_end_user(request) is not None,
        },
    )


@require_POST
@_with_end_user
def start(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    try:
        authorize_url = oauth.start_authorization(request=request, end_user=end_user)
    except IntegrationDisabled as error:
        messages.error(request, str(error))
        return redirect("connections:connect")
    return redirect(authorize_url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    try:
        connection = oauth.complete_authorization(request=request)
    except AuthorizationFailed as error:
        return render(request, "connections/error.html", {"message": error.message}, status=error.status_code)
    except IntegrationDisabled as error:
        return render(request, "connections/error.html", {"message": str(error)}, status=403)
    messages.success(request, f"Sage Accounting is connected: {connection.business_name}.")
    return redirect("connections:connect")


@require_POST
@_with_end_user
def choose_business(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    try:
        connection = services.switch_business(
            end_user=end_user, business_id=request.POST.get("business_id", "")
        )
    except SageintError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Sage calls now go to {connection.business_name}.")
    return redirect("connections:connect")


@require_POST
@_with_end_user
def disconnect(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    try:
        services.disconnect(end_user=end_user)
    except NotConnected:
        messages.info(request, "Sage Accounting was not connected.")
    except SageintError as error:  # a refresh held the connection for too long: nothing was changed
        messages.error(request, str(error))
    else:
        messages.success(request, "Sage Accounting is disconnected.")
    return redirect("connections:connect")


def _linked_end_user(request: HttpRequest) -> EndUser | None:
    return _session_end_user(request, _LINK_SESSION_KEY)


def _pending_link_end_user(request: HttpRequest) -> EndUser | None:
    return _session_end_user(request, _PENDING_LINK_SESSION_KEY)


def _session_end_user(request: HttpRequest, key: str) -> EndUser | None:
    link = request.session.get(key)
    if not link or link.get("until", 0) < time.time():
        return None
    return EndUser.objects.filter(pk=link.get("end_user_id")).first()


def _end_user(request: HttpRequest) -> EndUser | None:
    linked = _linked_end_user(request)
    if linked is not None:
        return linked
    if request.user.is_authenticated:
        return end_user_for_user(request.user)
    return None
