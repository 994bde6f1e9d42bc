"""Connect pages. Thin: find the end user, call one service, render or redirect.

Who is the end user? Someone who arrived with a connect link (`?user_token=<JWT>`) or a connect session
(`session/?token=cs_…`, made by the company's backend) is bound to that end user in their browser session for
SAGEINT_CONNECT_LINK_SESSION_SECONDS, and sees the connect portal: the company's branding, no sageint chrome, and
a way back to the company's app (connections/portal.py). Otherwise the logged-in sageint account is the end user.

A link never takes a session over silently. An attacker can mint a link for their own end user and get a
victim to open it: bound without a word, the victim would connect *their* Sage to the attacker's end user. So
a link that would replace a signed-in account or a binding to another end user only asks (naming who the
connection would belong to, answered by a CSRF-checked POST); binding gives the session a new key; and the
connect page names the owner of the connection before the Connect button.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import connect_sessions, oauth, portal, services
from .end_users import end_user_for_user, end_user_from_token
from .exceptions import (
    AccessDenied,
    AuthorizationFailed,
    IntegrationDisabled,
    InvalidUserToken,
    NotConnected,
    SageintError,
)
from .models import Connection, EndUser, IntegrationSettings

_LAPSED_MESSAGE = (
    "This connect page has expired. Go back to the app you came from and start connecting again."
)


def _opener_kept(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let a page of the company's app that opened the portal in a popup keep its handle on the popup.

    Django's default `Cross-Origin-Opener-Policy: same-origin` would cut the popup off from its cross-origin
    opener: connect.js could then neither tell that it was closed nor receive the outcome. What the portal
    posts goes only to the session's allowed origins, by name.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response

    return wrapper


def _with_end_user(
    view: Callable[[HttpRequest, EndUser], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Run `view(request, end_user)` for the link's or the logged-in account's end user, else say why not."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        end_user = _end_user(request)
        if end_user is not None:
            return view(request, end_user)
        lapsed = portal.lapsed_visit(request)
        if lapsed is not None:
            # A user of the company's app has no sageint account: a sign-in page would be a dead end.
            return _portal_error(request, _LAPSED_MESSAGE, status=401, visit=lapsed, outcome=portal.EXPIRED)
        return redirect_to_login(request.get_full_path())

    return wrapper


@_opener_kept
@require_GET
def connect(request: HttpRequest) -> HttpResponse:
    if "user_token" in request.GET:
        return _open_connect_link(request)
    return _connect_page(request)


def _open_connect_link(request: HttpRequest) -> HttpResponse:
    try:
        end_user = end_user_from_token(request.GET["user_token"])
    except InvalidUserToken as error:
        return _portal_error(request, error.message, status=401)
    return _open_visit(request, portal.Visit(end_user=end_user))


@_opener_kept
@require_GET
def open_session(request: HttpRequest) -> HttpResponse:
    """A connect session's link (connect.js opens it in a popup): use the token up, bind, show the portal."""
    display = portal.POPUP if request.GET.get("display") == portal.POPUP else portal.PAGE
    try:
        connect_session = connect_sessions.open_connect_session(request.GET.get("token"))
    except connect_sessions.ConnectSessionRefused as refused:
        known = refused.session
        if known is not None and known.auto_return and display == portal.PAGE:
            return redirect(portal.return_url_with(known.return_url, status=portal.EXPIRED, connection=None))
        visit = (
            portal.Visit(end_user=known.end_user, connect_session=known, display=display) if known else None
        )
        return _portal_error(
            request, refused.message, status=410 if known else 404, visit=visit, outcome=portal.EXPIRED
        )
    return _open_visit(
        request,
        portal.Visit(end_user=connect_session.end_user, connect_session=connect_session, display=display),
    )


def _open_visit(request: HttpRequest, visit: portal.Visit) -> HttpResponse:
    linked = portal.current_visit(request)
    if (linked is not None and linked.end_user.pk != visit.end_user.pk) or (
        linked is None and request.user.is_authenticated
    ):
        portal.hold_pending(request, visit)
        # Drop the token from the address bar (history, Referer, server logs of later requests).
        return redirect("connections:confirm_link")
    portal.bind(request, visit)
    return redirect("connections:connect")


@_opener_kept
@require_http_methods(["GET", "POST"])
def confirm_link(request: HttpRequest) -> HttpResponse:
    """Ask before a link replaces the signed-in account or another link's end user; act only on a POST."""
    pending = portal.pending_visit(request)
    if request.method == "GET":
        if pending is None:
            return redirect("connections:connect")
        current = portal.current_visit(request)
        return render(
            request,
            "connections/confirm_link.html",
            {
                "link_end_user": pending.end_user,
                "current_end_user": _end_user(request),
                "current_is_link": current.end_user if current else None,
                **_page_frame(request),
            },
        )
    decision = request.POST.get("decision")
    if decision == "forget":
        # Stop acting for the link's end user: back to the signed-in account (or to signing in).
        portal.forget(request)
        return redirect("connections:connect")
    if pending is None:
        return render(
            request,
            "connections/error.html",
            {
                "message": "No connect link is waiting for confirmation. Open the link again.",
                **_page_frame(request),
            },
            status=400,
        )
    portal.drop_pending(request)
    if decision == "continue":
        portal.bind(request, pending)
        messages.info(request, f"This page now connects Sage Accounting for {pending.end_user.owner_label}.")
    return redirect("connections:connect")


@_with_end_user
def _connect_page(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    connection = services.connection_of(end_user)
    visit = portal.current_visit(request)
    if visit is None:
        return render(
            request,
            "connections/connect.html",
            {
                "end_user": end_user,
                "connection": connection,
                "integration_enabled": IntegrationSettings.integration_enabled(),
            },
        )
    return _portal_page(request, visit, connection)


def _portal_page(
    request: HttpRequest,
    visit: portal.Visit,
    connection: Connection | None,
    *,
    outcome: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    outcome = outcome or portal.pop_outcome(request)
    session = visit.connect_session
    reported = outcome["status"] if outcome else portal.status_of(connection)
    return_link = (
        portal.return_url_with(session.return_url, status=reported, connection=connection)
        if session
        else None
    )
    if outcome and session and session.auto_return and not visit.in_popup:
        return redirect(return_link)
    return render(
        request,
        "connections/portal.html",
        {
            "brand": portal.brand(),
            "visit": visit,
            "end_user": visit.end_user,
            "connection": connection,
            "integration_enabled": IntegrationSettings.integration_enabled(),
            "outcome": outcome,
            "return_link": return_link,
            "portal_script": portal.page_script_data(visit, connection=connection, outcome=outcome),
        },
        status=status,
    )


def _portal_error(
    request: HttpRequest,
    message: str,
    *,
    status: int,
    visit: portal.Visit | None = None,
    outcome: str = portal.ERROR,
) -> HttpResponse:
    """A branded page for someone who came from the company's app: the reason, and the way back when known."""
    session = visit.connect_session if visit else None
    script = (
        portal.page_script_data(visit, connection=None, outcome={"status": outcome, "message": message})
        if visit
        else None
    )
    return render(
        request,
        "connections/error.html",
        {
            "base_template": "connections/portal_base.html",
            "brand": portal.brand(),
            "message": message,
            "return_link": portal.return_url_with(session.return_url, status=outcome, connection=None)
            if session
            else None,
            "portal_script": script,
            "visit": visit,
        },
        status=status,
    )


@_opener_kept
@require_POST
@_with_end_user
def start(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    try:
        authorize_url = oauth.start_authorization(request=request, end_user=end_user)
    except IntegrationDisabled as error:
        messages.error(request, str(error))
        return redirect("connections:connect")
    return redirect(authorize_url)


@_opener_kept
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    visit = portal.current_visit(request)
    try:
        connection = oauth.complete_authorization(request=request)
    except AuthorizationFailed as error:
        outcome = portal.DENIED if isinstance(error, AccessDenied) else portal.ERROR
        return _connect_failed(request, visit, error.message, status=error.status_code, outcome=outcome)
    except IntegrationDisabled as error:
        return _connect_failed(request, visit, str(error), status=403, outcome=portal.ERROR)
    if visit is not None and visit.end_user.pk == connection.end_user_id:
        portal.remember_outcome(request, status=portal.CONNECTED)
    else:
        messages.success(request, f"Sage Accounting is connected: {connection.business_name}.")
    return redirect("connections:connect")


def _connect_failed(
    request: HttpRequest, visit: portal.Visit | None, message: str, *, status: int, outcome: str
) -> HttpResponse:
    if visit is not None:
        return _portal_page(
            request,
            visit,
            services.connection_of(visit.end_user),
            outcome={"status": outcome, "message": message},
            status=status,
        )
    if request.user.is_authenticated:
        return render(request, "connections/error.html", {"message": message}, status=status)
    return _portal_error(request, message, status=status, visit=portal.lapsed_visit(request), outcome=outcome)


@_opener_kept
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


@_opener_kept
@require_http_methods(["GET", "POST"])
@_with_end_user
def disconnect(request: HttpRequest, end_user: EndUser) -> HttpResponse:
    """GET asks (naming the business); the POST of that page disconnects."""
    if request.method == "GET":
        connection = services.connection_of(end_user)
        if connection is None:
            return redirect("connections:connect")
        return render(
            request,
            "connections/disconnect_confirm.html",
            {"end_user": end_user, "connection": connection, **_page_frame(request)},
        )
    visit = portal.current_visit(request)
    try:
        services.disconnect(end_user=end_user)
    except NotConnected:
        messages.info(request, "Sage Accounting was not connected.")
    except SageintError as error:  # a refresh held the connection for too long: nothing was changed
        messages.error(request, str(error))
    else:
        if visit is not None:
            portal.remember_outcome(request, status=portal.DISCONNECTED)
        messages.success(request, "Sage Accounting is disconnected.")
    return redirect("connections:connect")


def _page_frame(request: HttpRequest) -> dict:
    """Pages shared by both kinds of visitor: the portal's frame for the company's users, else the site's."""
    if request.user.is_authenticated and portal.current_visit(request) is None:
        return {"base_template": "base.html"}
    return {"base_template": "connections/portal_base.html", "brand": portal.brand()}


def _end_user(request: HttpRequest) -> EndUser | None:
    visit = portal.current_visit(request)
    if visit is not None:
        return visit.end_user
    if request.user.is_authenticated:
        return end_user_for_user(request.user)
    return None
