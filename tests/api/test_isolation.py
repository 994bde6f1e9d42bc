"""Each caller only ever reaches their own connection: tokens name one end user, sessions are their own user."""

import pytest

from connections.end_users import end_user_for_user
from connections.models import Connection
from tests.fixtures_sage import connect_end_user_via_link

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/proxy/sageaccounting/contacts"


@pytest.fixture
def other_connected_end_user(connected_end_user):
    """A second company-app user, connected to a different Sage user and business ("una")."""
    return connect_end_user_via_link("company-user-77", sandbox_user="una")


def create_contact(client, headers, name):
    response = client.post(
        CONTACTS,
        data={"contact": {"name": name, "contact_type_ids": ["CUSTOMER"]}},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_each_token_uses_its_own_users_connection(
    client, connected_end_user, other_connected_end_user, bearer_for
):
    first = client.get(CONTACTS, **bearer_for(connected_end_user))
    second = client.get(CONTACTS, **bearer_for(other_connected_end_user))

    assert first["X-Business"] == connected_end_user.connection.business_id
    assert second["X-Business"] == other_connected_end_user.connection.business_id
    assert first["X-Business"] != second["X-Business"]


def test_a_token_cannot_read_another_users_records(
    client, connected_end_user, other_connected_end_user, bearer_for
):
    contact_id = create_contact(client, bearer_for(connected_end_user), "Private To A Ltd")

    as_owner = client.get(f"{CONTACTS}/{contact_id}", **bearer_for(connected_end_user))
    as_other = client.get(f"{CONTACTS}/{contact_id}", **bearer_for(other_connected_end_user))

    assert as_owner.status_code == 200
    assert as_other.status_code == 404


def test_token_for_an_unconnected_user_never_falls_back_to_someone_elses_connection(
    client, connected_end_user, user_token_for, outgoing_requests
):
    response = client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {user_token_for('not-connected-user')}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_connected"
    assert outgoing_requests == []


def test_staff_session_does_not_reach_other_users_connections(
    admin_client, connected_end_user, outgoing_requests
):
    response = admin_client.get(CONTACTS)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_connected"
    assert outgoing_requests == []


def test_bearer_token_decides_the_end_user_even_for_a_logged_in_staff_member(
    admin_client, connected_end_user, other_connected_end_user, bearer_for
):
    response = admin_client.get(CONTACTS, **bearer_for(other_connected_end_user))

    assert response["X-Business"] == other_connected_end_user.connection.business_id


def test_request_log_rows_belong_to_the_caller(
    client, connected_end_user, other_connected_end_user, bearer_for
):
    client.get(CONTACTS, **bearer_for(connected_end_user))
    client.get(CONTACTS, **bearer_for(other_connected_end_user))
    client.get(CONTACTS, **bearer_for(other_connected_end_user))

    assert connected_end_user.request_logs.count() == 1
    assert other_connected_end_user.request_logs.count() == 2


def test_token_whose_sub_is_an_account_users_id_does_not_reach_that_accounts_connection(
    client, connected_account_user, user_token_for, outgoing_requests
):
    """Token users and sageint accounts are separate kinds of end user, even when the ids look alike."""
    token = user_token_for(str(connected_account_user.pk))

    response = client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_connected"
    assert outgoing_requests == []


def test_staff_session_cannot_name_another_end_user_in_the_request(
    admin_client, connected_end_user, outgoing_requests
):
    response = admin_client.get(
        f"{CONTACTS}?end_user={connected_end_user.external_id}&sub={connected_end_user.external_id}",
        HTTP_X_END_USER=connected_end_user.external_id,
        HTTP_X_SAGEINT_END_USER=connected_end_user.external_id,
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_connected"
    assert outgoing_requests == []


def test_staff_session_with_its_own_connection_reaches_only_that_one(
    admin_client, admin_user, connected_end_user, other_connected_end_user
):
    Connection.objects.filter(end_user=other_connected_end_user).update(
        end_user=end_user_for_user(admin_user)
    )

    response = admin_client.get(CONTACTS)

    assert response.status_code == 200
    assert response["X-Business"] == Connection.objects.get(end_user__user=admin_user).business_id
    assert response["X-Business"] != connected_end_user.connection.business_id
