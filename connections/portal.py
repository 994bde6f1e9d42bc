"""The connect portal: the pages a user of the company's app sees after opening a connect link or connect session.

Here: who the browser acts for (a link or a session binds it to one end user for
SAGEINT_CONNECT_LINK_SESSION_SECONDS), the company's branding, the way back to the company's app, and the outcome
the portal reports to the page that opened it (postMessage, only to the session's allowed origins, each by name).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from .models import Connection, ConnectSession, EndUser

LINK_SESSION_KEY = "sageint_connect_link"
PENDING_LINK_SESSION_KEY = "sageint_connect_link_pending"
OUTCOME_SESSION_KEY = "sageint_portal_outcome"
# How long a link waiting for "continue?" can be confirmed.
PENDING_LINK_SECONDS = 600
POPUP, PAGE = "popup", "page"

# What the portal reports (the `status` of its message and `sageint_status` on the return URL).
CONNECTED, DISCONNECTED, DENIED, ERROR, EXPIRED, CLOSED = (
    "connected",
    "disconnected",
    "denied",
    "error",
    "expired",
    "closed",
)
RETURN_PARAMETERS = ("sageint_status", "sageint_state", "sageint_business_id", "sageint_connection_id")


@dataclass(frozen=True)
class Visit:
    """A browser acting for one of the company's users, bound by a connect link (JWT) or a connect session."""

    end_user: EndUser
    connect_session: ConnectSession | None = None  # None for a signed connect link: no return URL, no origins
    display: str = PAGE  # POPUP when connect.js opened the portal in a popup

    @property
    def in_popup(self) -> bool:
        return self.display == POPUP and self.connect_session is not None


# --- binding the browser -------------------------------------------------------------------------------------


def bind(request, visit: Visit) -> None:
    # A new session key: one planted in the browser, or seen before the link was opened, binds nobody. An
    # anonymous session starts afresh (nothing of a planted session survives); a signed-in one stays signed in.
    if request.user.is_authenticated:
        request.session.cycle_key()
    else:
        request.session.flush()
    request.session[LINK_SESSION_KEY] = _stored(visit, seconds=settings.SAGEINT_CONNECT_LINK_SESSION_SECONDS)


def hold_pending(request, visit: Visit) -> None:
    """Remember a link that would replace the signed-in account or another link's end user, until confirmed."""
    request.session[PENDING_LINK_SESSION_KEY] = _stored(visit, seconds=PENDING_LINK_SECONDS)


def pending_visit(request) -> Visit | None:
    return _visit(request.session.get(PENDING_LINK_SESSION_KEY), current=True)


def drop_pending(request) -> None:
    request.session.pop(PENDING_LINK_SESSION_KEY, None)


def current_visit(request) -> Visit | None:
    return _visit(request.session.get(LINK_SESSION_KEY), current=True)


def lapsed_visit(request) -> Visit | None:
    """The binding this browser had, past its time: the way back to the company's app is still known."""
    return _visit(request.session.get(LINK_SESSION_KEY), current=False)


def forget(request) -> None:
    request.session.pop(LINK_SESSION_KEY, None)


def _stored(visit: Visit, *, seconds: int) -> dict:
    return {
        "end_user_id": visit.end_user.pk,
        "connect_session_id": visit.connect_session.pk if visit.connect_session else None,
        "display": visit.display,
        "until": time.time() + seconds,
    }


def _visit(stored, *, current: bool) -> Visit | None:
    if not stored or (stored.get("until", 0) >= time.time()) != current:
        return None
    end_user = EndUser.objects.filter(pk=stored.get("end_user_id")).first()
    if end_user is None:
        return None
    session_id = stored.get("connect_session_id")
    connect_session = ConnectSession.objects.filter(pk=session_id).first() if session_id else None
    return Visit(end_user=end_user, connect_session=connect_session, display=stored.get("display", PAGE))


# --- outcome ---------------------------------------------------------------------------------------------------


def remember_outcome(request, *, status: str, message: str = "") -> None:
    """What just happened (connected, declined, failed…), shown and reported once by the next portal page."""
    request.session[OUTCOME_SESSION_KEY] = {"status": status, "message": message}


def pop_outcome(request) -> dict | None:
    return request.session.pop(OUTCOME_SESSION_KEY, None)


def connection_summary(end_user: EndUser, connection: Connection | None) -> dict:
    """What the company's page learns: the connection's state and business, nothing else (never a token)."""
    return {
        "id": connection.pk if connection else None,  # the management API's /connections/{id}
        "end_user_id": end_user.external_id,
        "state": connection.status if connection else DISCONNECTED,
        "business": {"id": connection.business_id, "name": connection.business_name}
        if connection and connection.business_id
        else None,
    }


def status_of(connection: Connection | None) -> str:
    """The status a portal reports when nothing new happened: the connection as it stands."""
    return CONNECTED if connection else CLOSED


def return_url_with(return_url: str, *, status: str, connection: Connection | None) -> str:
    """The session's return URL carrying the outcome (query parameters `sageint_…`), its own fragment kept.

    Anyone can type these parameters: they tell the company's page what to show, and its backend confirms
    with the management API before trusting them.
    """
    parts = urlsplit(return_url)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(name, value) for name, value in query if name not in RETURN_PARAMETERS]
    query.append(("sageint_status", status))
    if connection is not None:
        query.append(("sageint_connection_id", str(connection.pk)))
        query.append(("sageint_state", connection.status))
        if connection.business_id:
            query.append(("sageint_business_id", connection.business_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def message_for(
    *, status: str, end_user: EndUser, connection: Connection | None, message: str = "", close: bool = False
) -> dict:
    """The postMessage payload connect.js understands."""
    known = connection is not None or status == DISCONNECTED
    return {
        "source": "sageint",
        "type": "connect.outcome",
        "status": status,
        "connection": connection_summary(end_user, connection) if known else None,
        "message": message,
        "close": close,
    }


def page_script_data(visit: Visit, *, connection: Connection | None, outcome: dict | None) -> dict:
    """What portal.js posts when the page loads, and to which origins (the session's, each by name).

    Every portal page in a popup reports: what just happened when something did (and asks connect.js to close
    the popup when the session wants the user sent back at once), else the connection as it stands. connect.js
    settles with the last report once the popup closes, so a user who declines and then connects after all is
    reported as connected. No connection and nothing new: nothing is posted ("closed").
    """
    if not visit.in_popup:
        return {"targets": [], "message": None}
    if outcome:
        posted = message_for(
            status=outcome["status"],
            end_user=visit.end_user,
            connection=connection,
            message=outcome.get("message", ""),
            close=visit.connect_session.auto_return,
        )
    elif connection:
        posted = message_for(status=CONNECTED, end_user=visit.end_user, connection=connection)
    else:
        posted = None
    return {"targets": list(visit.connect_session.allowed_origins), "message": posted}


def brand() -> dict:
    color = settings.SAGEINT_BRAND_COLOR
    return {
        "name": settings.SAGEINT_BRAND_NAME,
        "logo_url": settings.SAGEINT_BRAND_LOGO_URL,
        "color": color,
        "ink": text_color_on(color),
    }


def text_color_on(color: str) -> str:
    """White or dark text, whichever reads better on the company's colour (WCAG relative luminance)."""
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = [int(digits[index : index + 2], 16) / 255 for index in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # Contrast with white is 1.05 / (L + 0.05); with the site's ink (#1d2630, L ≈ 0.018) (L + 0.05) / 0.068.
    return "#fff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.068 else "#1d2630"
