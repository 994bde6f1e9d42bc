"""Project API keys: created in the admin and shown once, stored only as a hash, revocable, last use recorded."""

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import ApiKey

pytestmark = pytest.mark.django_db

CONNECTIONS = "/api/v1/connections"


def test_admin_shows_a_new_key_once_and_stores_only_its_hash(superuser_client):
    created = superuser_client.post("/admin/projects/apikey/add/", {"name": "billing backend"})

    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    api_key = ApiKey.objects.get(name="billing backend")
    key = created.context["key"]
    assert key.startswith("sk_") and len(key) > 40
    assert key in created.content.decode()
    assert api_key.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert api_key.visible_prefix == key[:11]
    assert api_key.created_by.username == "boss"
    stored = [str(value) for value in ApiKey.objects.values_list().get(pk=api_key.pk)]
    assert not any(key in value for value in stored)
    # Never again: the change page and the list show only the prefix.
    for page in (f"/admin/projects/apikey/{api_key.pk}/change/", "/admin/projects/apikey/"):
        body = superuser_client.get(page).content.decode()
        assert api_key.visible_prefix in body
        assert key not in body


def test_the_key_created_in_the_admin_opens_the_management_api(superuser_client):
    key = superuser_client.post("/admin/projects/apikey/add/", {"name": "backend"}).context["key"]

    assert Client().get(CONNECTIONS, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_a_revoked_key_is_refused_at_once(api_key, key_headers, superuser_client):
    row, _ = api_key
    assert Client().get(CONNECTIONS, **key_headers).status_code == 200

    superuser_client.post(
        "/admin/projects/apikey/", {"action": "revoke_keys", "_selected_action": [row.pk]}, follow=True
    )

    row.refresh_from_db()
    assert row.revoked_at is not None
    refused = Client().get(CONNECTIONS, **key_headers)
    assert refused.status_code == 401
    assert refused.json()["error"] == {"code": "invalid_api_key", "message": "This API key was revoked."}


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "unauthenticated"),
        ("Bearer sk_not-a-key-that-exists", "invalid_api_key"),
        ("Basic c2s6eA==", "invalid_api_key"),
        ("Bearer", "invalid_api_key"),
    ],
)
def test_missing_unknown_or_malformed_keys_are_refused(db, header, code):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = Client().get(CONNECTIONS, **extra)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


def test_an_end_users_token_is_not_a_project_key(db, user_token_for):
    response = Client().get(CONNECTIONS, HTTP_AUTHORIZATION=f"Bearer {user_token_for('customer-1')}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_last_use_is_recorded_at_most_once_a_minute(api_key, key_headers):
    row, _ = api_key
    assert row.last_used_at is None

    Client().get(CONNECTIONS, **key_headers)
    row.refresh_from_db()
    first_use = row.last_used_at
    assert first_use is not None and timezone.now() - first_use < timedelta(seconds=5)

    Client().get(CONNECTIONS, **key_headers)
    row.refresh_from_db()
    assert row.last_used_at == first_use

    ApiKey.objects.filter(pk=row.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    Client().get(CONNECTIONS, **key_headers)
    row.refresh_from_db()
    assert row.last_used_at > first_use


def management_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the document tags `management`."""
    from api.openapi import openapi_document

    return [
        (method.upper(), "/api/v1" + path)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if "management" in operation["tags"]
    ]


def other_installations_key() -> str:
    """A well-formed key issued by another sageint installation (another database): unknown here."""
    return ApiKey(name="elsewhere").generate_key()


@pytest.mark.parametrize(
    "credentials", ["revoked key", "another installation's key", "user token", "admin session"]
)
def test_no_management_operation_opens_without_a_usable_key_of_this_installation(
    credentials, api_key, superuser_client, user_token_for, django_capture_on_commit_callbacks
):
    from connections.models import Connection, EndUser
    from records.models import SyncRun

    row, key = api_key
    end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="customer-1")
    connection = Connection.objects.create(end_user=end_user, client_id="client", business_id="b")
    browser, headers = Client(), {}
    if credentials == "revoked key":
        row.revoke()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    elif credentials == "another installation's key":
        headers = {"HTTP_AUTHORIZATION": f"Bearer {other_installations_key()}"}
    elif credentials == "user token":
        headers = {"HTTP_AUTHORIZATION": f"Bearer {user_token_for('customer-1')}"}
    else:
        browser = superuser_client  # the admin's session is not a key either

    operations = management_operations()
    assert len(operations) >= 5
    for method, path in operations:
        url = path.replace("{connection_id}", str(connection.pk))
        body = '{"end_user_id": "customer-1"}' if method == "POST" else None
        with django_capture_on_commit_callbacks(execute=True):
            answer = browser.generic(method, url, body or "", content_type="application/json", **headers)
        assert answer.status_code == 401, (method, path)
        assert answer.json()["error"]["code"] in ("invalid_api_key", "unauthenticated")
        assert "customer-1" not in answer.content.decode()
    assert Connection.objects.filter(pk=connection.pk).exists() and not SyncRun.objects.exists()
