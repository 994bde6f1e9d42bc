"""Connect pages. Thin: find the end user, call one service, render or redirect.

Who is the end user? Someone who arrived with a connect link (`?user_token=<JWT>`) is bound to that end user
in their session for SAGEINT_CONNECT_LINK_SESSION_SECONDS; otherwise the logged-in sageint account is.
"""

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import oauth, services
from .end_users import end_user_for_user, end_user_from_token
from .exceptions import AuthorizationFailed, IntegrationDisabled, InvalidUserToken, NotConnected, SageintError
from .models import EndUser, IntegrationSettings

_LINK_SESSION_KEY = "sageint_connect_link"


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
    request.session[_LINK_SESSION_KEY] = {
        "end_user_id": end_user.pk,
        "until": time.time() + settings.SAGEINT_CONNECT_LINK_SESSION_SECONDS,
    }
    # Drop the token from the address bar (history, Referer, server logs of later requests).
    return redirect("connections:connect")


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
    link = request.session.get(_LINK_SESSION_KEY)
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
