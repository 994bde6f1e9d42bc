"""The OAuth connect flow: Sage's authorize URL with a single-use state, then the callback and code exchange.

State is kept in the browser session, capped, bound to the end user, valid SAGE_OAUTH_STATE_SECONDS and
removed on first use (the shape of allauth's statekit).
"""

import hashlib
import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import token_endpoint, tokens
from .audit import record_event
from .credentials import SageCredentials, redirect_url, sage_credentials
from .exceptions import (
    AccessDenied,
    AuthorizationFailed,
    IntegrationDisabled,
    InvalidState,
    SageError,
    SageUnavailable,
    TokenExchangeFailed,
)
from .http_session import oauth_session
from .models import Connection, ConnectionEvent, EndUser, IntegrationSettings
from .sage_client import SageClient
from .sage_details import split_sage_details, with_sage_details
from .signals import connection_established

logger = logging.getLogger(__name__)

_STATES_SESSION_KEY = "sageint_oauth_states"
_MAX_PENDING_STATES = 5
_COMPLETED_SESSION_KEY = "sageint_oauth_completed"


def start_authorization(*, request, end_user: EndUser) -> str:
    """Sage's authorize URL for this end user; remembers the state in the session."""
    integration = IntegrationSettings.load()
    if not integration.enabled:
        raise IntegrationDisabled()
    credentials = sage_credentials(integration)
    session = oauth_session(
        client_id=credentials.client_id, redirect_uri=redirect_url(), scope=credentials.scope
    )
    url, state = session.authorization_url(credentials.auth_url)
    _remember_state(request.session, state=state, end_user=end_user)
    return url


def complete_authorization(*, request) -> Connection:
    """Handle Sage's redirect back: check state, handle a refusal, exchange the code, store the connection.

    The state is checked first: anyone can send a browser to this URL with `error` and `reason` of their
    choosing, so Sage's text is shown only on a redirect this browser's own Connect press started.
    """
    params = request.GET
    state = params.get("state", "")
    pending = _pop_state(request.session, state)
    if pending is None:
        finished = _connection_made_with(request.session, state)
        if finished is not None:
            # The same browser came back to a callback that already succeeded (a reload, the Back button):
            # show what it made rather than an error. Nothing is exchanged or changed.
            return finished
        raise InvalidState(
            "This sign-in link is invalid, expired or was already used. Start connecting again from the "
            "connect page."
        )
    error = params.get("error")
    if error:
        # Sage sends `error=access_denied` when the user declines, and sometimes `error=…&reason=…`.
        if error == "access_denied":
            raise AccessDenied("You declined the connection to Sage Accounting. Nothing was connected.")
        reason = params.get("reason") or params.get("error_description") or error
        raise AccessDenied(
            with_sage_details("Sage could not connect your account. Nothing was connected.", reason[:200])
        )
    code = params.get("code")
    if not code:
        raise AuthorizationFailed("Sage did not send an authorization code. Start connecting again.")
    end_user = EndUser.objects.filter(pk=pending["end_user_id"]).first()
    if end_user is None:
        raise InvalidState("The user who started this connection no longer exists.")
    if not IntegrationSettings.integration_enabled():  # switched off while the user was at Sage
        raise IntegrationDisabled()

    credentials = sage_credentials()
    try:
        token_set = token_endpoint.exchange_code(
            credentials=credentials, code=code, redirect_uri=redirect_url()
        )
    except token_endpoint.TokenRefused as refused:
        raise TokenExchangeFailed(
            with_sage_details(
                "Sage did not accept the sign-in. It may have expired: start connecting again.", refused.error
            )
        ) from refused
    except SageUnavailable as unavailable:
        raise _not_connected_try_again(unavailable) from None
    identity = _fetch_identity(credentials, token_set.access_token)
    connection = _save_connection(
        end_user=end_user,
        credentials=credentials,
        token_set=token_set,
        identity=identity,
        country=params.get("country", ""),
    )
    _remember_success(request.session, state=state, end_user=end_user)
    return connection


# --- state ------------------------------------------------------------------------------------------------


def _remember_state(session, *, state: str, end_user: EndUser) -> None:
    states = dict(session.get(_STATES_SESSION_KEY) or {})
    states[state] = {"end_user_id": end_user.pk, "issued_at": time.time()}
    # Keep only the newest few: a user clicking Connect repeatedly cannot grow the session without bound.
    newest = sorted(states.items(), key=lambda item: item[1]["issued_at"])[-_MAX_PENDING_STATES:]
    session[_STATES_SESSION_KEY] = dict(newest)


def _pop_state(session, state: str) -> dict | None:
    states = session.get(_STATES_SESSION_KEY) or {}
    if not state or state not in states:
        # Nothing written: a hit without a matching state (anonymous, forged) must not create a session.
        return None
    states = dict(states)
    pending = states.pop(state)
    session[_STATES_SESSION_KEY] = states
    if time.time() - pending["issued_at"] > settings.SAGE_OAUTH_STATE_SECONDS:
        return None
    return pending


def _remember_success(session, *, state: str, end_user: EndUser) -> None:
    # Kept hashed and capped like pending states; only this browser's session can ever match them.
    done = dict(session.get(_COMPLETED_SESSION_KEY) or {})
    done[_state_hash(state)] = {"end_user_id": end_user.pk, "finished_at": time.time()}
    newest = sorted(done.items(), key=lambda item: item[1]["finished_at"])[-_MAX_PENDING_STATES:]
    session[_COMPLETED_SESSION_KEY] = dict(newest)


def _connection_made_with(session, state: str) -> Connection | None:
    done = (session.get(_COMPLETED_SESSION_KEY) or {}).get(_state_hash(state)) if state else None
    if done is None:
        return None
    return Connection.objects.filter(end_user_id=done["end_user_id"]).select_related("end_user").first()


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


# --- after the exchange ---------------------------------------------------------------------------------


def _fetch_identity(credentials: SageCredentials, access_token: str) -> dict:
    client = SageClient.for_access_token(access_token, api_url=credentials.api_url)
    try:
        user = client.get_json("user")
        lead_response = client.send("GET", "businesses/lead")
        lead = lead_response.json() if lead_response.ok else {}
        businesses = [
            _business_entry(item, str(item.get("id"))) for item in client.iter_collection("businesses")
        ]
    except SageError as error:
        logger.warning(
            "Connect: reading the Sage user/businesses failed: HTTP %s %s", error.status, error.data_code
        )
        raise TokenExchangeFailed(
            with_sage_details(
                "Sage refused to share your user and businesses, so nothing was connected. Start connecting "
                "again.",
                f"HTTP {error.status}{f' {error.data_code}' if error.data_code else ''}: {error.message}",
            )
        ) from error
    except SageUnavailable as error:
        raise _not_connected_try_again(error) from error
    # The lead business comes from /businesses/lead (its body, else its X-Business header).
    lead_id = str(lead.get("id") or lead_response.headers.get("X-Business") or "")
    if lead_id and not any(b["id"] == lead_id for b in businesses):
        businesses.insert(0, _business_entry(lead, lead_id))
    if not businesses:
        raise TokenExchangeFailed("Your Sage user has no business to connect to.")
    return {"user": user or {}, "lead_business_id": lead_id or businesses[0]["id"], "businesses": businesses}


def _business_entry(business: dict, business_id: str) -> dict:
    """How a business is kept on the connection: its id and a name to show (Sage may leave `name` out)."""
    return {
        "id": business_id,
        "name": str(business.get("name") or business.get("displayed_as") or business_id),
    }


def _not_connected_try_again(unavailable: SageUnavailable) -> TokenExchangeFailed:
    sentence, details = split_sage_details(str(unavailable))
    return TokenExchangeFailed(
        with_sage_details(f"{sentence} Your account was not connected; please try again.", details)
    )


@transaction.atomic
def _save_connection(
    *, end_user: EndUser, credentials: SageCredentials, token_set, identity: dict, country: str
) -> Connection:
    connection = Connection.objects.select_for_update().filter(end_user=end_user).first()
    previous_business = connection.business_id if connection else ""
    connection = connection or Connection(end_user=end_user)
    user = identity["user"]
    connection.businesses = identity["businesses"]
    # Reconnecting keeps the business chosen before when the Sage user can still reach it.
    chosen = connection.business_by_id(previous_business) or connection.business_by_id(
        identity["lead_business_id"]
    )

    tokens.store_tokens(connection, token_set)
    connection.status = Connection.Status.ACTIVE
    connection.reconnect_reason = ""
    connection.client_id = credentials.client_id
    connection.credentials_mode = credentials.mode
    connection.country = country[:10]
    connection.sage_user_id = str(user.get("id") or token_set.sage_user_id)
    connection.sage_user_email = str(user.get("email") or "")
    connection.sage_user_name = " ".join(filter(None, [user.get("first_name"), user.get("last_name")]))[:255]
    connection.lead_business_id = identity["lead_business_id"]
    connection.business_id = chosen["id"]
    connection.business_name = chosen["name"][:255]
    connection.connected_at = connection.last_refreshed_at = timezone.now()
    connection.refresh_failures = 0
    connection.last_refresh_error = ""
    connection.save()
    record_event(
        end_user=end_user,
        kind=ConnectionEvent.Kind.CONNECTED,
        detail=f"Sage user {connection.sage_user_email or connection.sage_user_id}, business {connection.business_name}",
        connection=connection,
    )
    logger.info("End user %s connected Sage business %s", end_user.pk, connection.business_id)
    connection_established.send(sender=Connection, end_user=end_user, connection=connection)
    return connection
