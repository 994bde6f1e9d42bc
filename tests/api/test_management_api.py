"""The management API: a project key lists, reads and disconnects the company's users' connections and makes
connect links; nothing of sageint's own accounts is visible, pages are stable."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from api.models import RequestLog
from connections.end_users import end_user_for_user
from connections.models import Connection, ConnectionEvent, EndUser
from projects.models import ApiKey
from tests.openapi_schemas import assert_matches_schema

pytestmark = pytest.mark.django_db

LIST = "/api/v1/connections"


@pytest.fixture
def api(db):
    _, key = ApiKey.issue(name="backend")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def stored_connection(sub: str, *, status=Connection.Status.ACTIVE, kind=EndUser.Kind.EXTERNAL) -> Connection:
    end_user = EndUser.objects.create(kind=kind, external_id=sub, display_name=f"User {sub}")
    return Connection.objects.create(
        end_user=end_user,
        status=status,
        reconnect_reason="Sage refused the stored authorization."
        if status != Connection.Status.ACTIVE
        else "",
        client_id="client",
        business_id=f"biz-{sub}",
        business_name=f"Business of {sub}",
        businesses=[{"id": f"biz-{sub}", "name": f"Business of {sub}"}],
    )


def test_get_one_connection_made_through_the_real_flow(api, connected_end_user):
    RequestLog.objects.create(end_user=connected_end_user, method="GET", path="/contacts", duration_ms=5)

    connection = connected_end_user.connection
    response = api.get(f"{LIST}/{connection.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == connection.pk
    assert body["end_user_id"] == "company-user-42"
    assert body["state"] == "active"
    assert body["business"] == {"id": connection.business_id, "name": "Sandbox Trading Ltd"}
    assert len(body["businesses"]) == 2
    assert body["sage_user"]["email"] == connection.sage_user_email != ""
    assert body["last_used_at"] is not None
    assert body["updated_at"] is not None and body["last_error"] is None
    assert "token" not in response.content.decode().lower()
    assert_matches_schema(body, "Connection")


@pytest.mark.parametrize("connection_id", ["999999", "nobody", "²", "9" * 30])
def test_unknown_connection_is_a_404_that_says_how_to_find_one(api, connection_id):
    stored_connection("nobody")

    for answer in (
        api.get(f"{LIST}/{connection_id}"),
        api.post(f"{LIST}/{connection_id}/syncs", content_type="application/json"),
    ):
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert error["code"] == "unknown_connection"
        assert "?end_user_id=" in error["message"]


@pytest.mark.parametrize("sub", ["team/7/user 1", "a%2Fb", "ü?#&=x", "../connections", " spaced "])
def test_end_user_ids_with_reserved_characters_are_found_and_addressed_by_connection_id(api, sub):
    connection = stored_connection(sub)
    stored_connection("someone-else")

    (listed,) = api.get(LIST, {"end_user_id": sub}).json()["data"]
    read = api.get(f"{LIST}/{listed['id']}").json()
    gone = api.delete(f"{LIST}/{listed['id']}")

    assert listed["id"] == connection.pk and listed["end_user_id"] == sub
    assert read["end_user_id"] == sub
    assert gone.status_code == 200 and gone.json()["end_user_id"] == sub
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert Connection.objects.filter(end_user__external_id="someone-else").exists()


def test_list_filters_by_state_and_end_user_id(api):
    stored_connection("a")
    stored_connection("b", status=Connection.Status.RECONNECT_REQUIRED)

    broken = api.get(LIST, {"state": "reconnect_required"}).json()["data"]
    only_a = api.get(LIST, {"end_user_id": "a"}).json()["data"]

    assert [c["end_user_id"] for c in broken] == ["b"]
    assert broken[0]["reconnect_reason"].startswith("Sage refused")
    assert [c["end_user_id"] for c in only_a] == ["a"]


def test_updated_since_ignores_token_refreshes(api):
    old, changed, refreshed_only = (stored_connection(sub) for sub in ("old", "changed", "refreshed"))
    long_ago = timezone.now() - timedelta(days=3)
    Connection.objects.update(connected_at=long_ago)
    for connection in (old, changed, refreshed_only):
        ConnectionEvent.objects.create(end_user=connection.end_user, kind="connected", created_at=long_ago)
    ConnectionEvent.objects.create(end_user=changed.end_user, kind="reconnect_required")
    ConnectionEvent.objects.create(end_user=refreshed_only.end_user, kind="refreshed")

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    data = api.get(LIST, {"updated_since": since}).json()["data"]

    assert [c["end_user_id"] for c in data] == ["changed"]
    assert data[0]["updated_at"] > since.replace("+00:00", "Z")[:19]


def test_pages_cover_every_connection_once(api):
    for number in range(7):
        stored_connection(f"user-{number}")

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get(LIST, params).json()
        seen += [c["end_user_id"] for c in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == [f"user-{number}" for number in range(7)]


def test_pages_of_a_filtered_list_hold_only_matches_each_once(api):
    for number in range(9):
        broken = number % 2 == 1
        stored_connection(
            f"user-{number}",
            status=Connection.Status.RECONNECT_REQUIRED if broken else Connection.Status.ACTIVE,
        )

    seen, pages, params = [], [], {"state": "reconnect_required", "limit": 2}
    while True:
        body = api.get(LIST, params).json()
        pages.append(len(body["data"]))
        seen += [(c["end_user_id"], c["state"]) for c in body["data"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    assert seen == [(f"user-{number}", "reconnect_required") for number in (1, 3, 5, 7)]
    assert pages == [2, 2]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"limit": "²"},
        {"state": "connected"},
        {"updated_since": "yesterday"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_filters_get_a_clear_400(api, params):
    response = api.get(LIST, params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_sageint_accounts_are_not_the_companys_users(api):
    account = get_user_model().objects.create(username="demo")
    account_end_user = end_user_for_user(account)
    Connection.objects.create(end_user=account_end_user, client_id="client", business_id="b")
    stored_connection("customer-1")

    account_connection = Connection.objects.get(end_user=account_end_user)
    listed = api.get(LIST).json()["data"]
    # Nor is its connection reachable by id, or by its end user id (the account's primary key).
    direct = api.get(f"{LIST}/{account_connection.pk}")
    by_end_user_id = api.get(LIST, {"end_user_id": account_end_user.external_id}).json()["data"]

    assert [c["end_user_id"] for c in listed] == ["customer-1"]
    assert direct.status_code == 404 and by_end_user_id == []
    assert api.delete(f"{LIST}/{account_connection.pk}").status_code == 404
    assert (
        api.post(f"{LIST}/{account_connection.pk}/syncs", content_type="application/json").status_code == 404
    )
    assert Connection.objects.filter(end_user=account_end_user).exists()


def test_disconnect_revokes_at_sage_and_keeps_the_audit(api, connected_end_user, sandbox_transport):
    connection_id = connected_end_user.connection.pk
    response = api.delete(f"{LIST}/{connection_id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": connection_id,
        "end_user_id": "company-user-42",
        "disconnected": True,
        "revoked_at_sage": True,
    }
    assert_matches_schema(response.json(), "Disconnected")
    assert sandbox_transport.count("/oauth/revoke") == 1
    assert not Connection.objects.filter(end_user=connected_end_user).exists()
    assert ConnectionEvent.objects.filter(end_user=connected_end_user, kind="disconnected").exists()
    assert api.get(f"{LIST}/{connection_id}").status_code == 404


def test_methods_outside_the_api_are_refused(api):
    response = api.post(LIST)

    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_connect_link_opens_the_connect_page_for_that_end_user(api):
    response = api.post(
        "/api/v1/connect-links",
        {"end_user_id": "customer-9", "name": "Nina Nine", "expires_in": 600},
        content_type="application/json",
    )

    assert response.status_code == 201
    link = response.json()
    assert_matches_schema(link, "ConnectLink")
    assert link["end_user_id"] == "customer-9"
    url = urlsplit(link["url"])
    assert link["url"].startswith(settings.SITE_URL)
    token = dict(parse_qsl(url.query))["user_token"]
    claims = jwt.decode(token, settings.SAGEINT_USER_TOKEN_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "customer-9" and claims["exp"] - claims["iat"] == 600
    browser = Client()
    opened = browser.get(url.path, dict(parse_qsl(url.query)), follow=True)
    assert opened.status_code == 200
    assert "Nina Nine" in opened.content.decode()
    assert (
        EndUser.objects.get(kind=EndUser.Kind.EXTERNAL, external_id="customer-9").display_name == "Nina Nine"
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"end_user_id": ""},
        {"end_user_id": 42},
        {"end_user_id": "x" * 256},
        {"end_user_id": "a", "expires_in": 5},
        {"end_user_id": "a", "expires_in": True},
        {"end_user_id": "a", "name": ["n"]},
    ],
)
def test_connect_link_refuses_bad_bodies(api, body):
    response = api.post("/api/v1/connect-links", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_connect_link_needs_the_signing_secret(api, settings):
    settings.SAGEINT_USER_TOKEN_SECRET = ""

    response = api.post("/api/v1/connect-links", {"end_user_id": "a"}, content_type="application/json")

    assert response.status_code == 503
    assert "SAGEINT_USER_TOKEN_SECRET" in response.json()["error"]["message"]
