"""Fault injection: the next N calls answer 500/503, hang past a client timeout, or drop the connection."""

import base64

import pytest
import requests
from django.core.management import call_command

from sandbox.faults import ConnectionDropped, inject_fault
from sandbox.models import FaultRule


def test_next_n_calls_answer_503_then_the_api_recovers(access_token, api):
    inject_fault(kind="503", count=2)

    statuses = [api("get", "/user", access_token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert not FaultRule.objects.exists()


def test_a_500_fault_answers_sages_error_body(access_token, api):
    inject_fault(kind="500")

    response = api("get", "/user", access_token)

    assert response.status_code == 500
    assert response.json()[0]["$dataCode"] == "InternalServerError"


def test_a_fault_with_a_path_prefix_hits_only_matching_paths(access_token, api):
    inject_fault(kind="503", path_prefix="/businesses")

    assert api("get", "/user", access_token).status_code == 200
    assert api("get", "/businesses", access_token).status_code == 503
    assert api("get", "/businesses", access_token).status_code == 200


def test_faults_hit_writes_too_and_nothing_is_written(access_token, api):
    inject_fault(kind="500")

    response = api("put", "/user", access_token, json={"user": {"first_name": "Lost"}})

    assert response.status_code == 500
    assert api("get", "/user", access_token).json()["first_name"] == "Sam"


def test_drop_under_the_test_client_raises_connection_dropped(access_token, api):
    inject_fault(kind="drop")

    with pytest.raises(ConnectionDropped):
        api("get", "/user", access_token)


def test_faults_can_be_set_with_the_management_command(access_token, api):
    call_command("sandbox_fault", "500", "--count", "1", stdout=None)

    assert api("get", "/user", access_token).status_code == 500
    call_command("sandbox_fault", "503", "--count", "5", stdout=None)
    call_command("sandbox_fault", "--clear", stdout=None)
    assert api("get", "/user", access_token).status_code == 200


def test_faults_can_be_set_over_http_with_client_credentials(client, dev_app, access_token, api):
    credentials = base64.b64encode(f"{dev_app.client_id}:{dev_app.client_secret}".encode()).decode()

    response = client.post(
        "/sandbox/faults/",
        {"kind": "503", "count": 1},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code == 201
    assert response.json()["faults"] == [
        {"kind": "503", "remaining": 1, "hang_seconds": 30.0, "path_prefix": ""}
    ]
    assert api("get", "/user", access_token).status_code == 503


def test_the_http_fault_control_refuses_strangers(client, identities):
    response = client.post("/sandbox/faults/", {"kind": "503", "client_id": "x", "client_secret": "y"})

    assert response.status_code == 401
    assert not FaultRule.objects.exists()


def test_the_http_fault_control_clears_with_delete(client, admin_client, identities):
    inject_fault(kind="503", count=3)

    response = admin_client.delete("/sandbox/faults/")

    assert response.status_code == 200
    assert not FaultRule.objects.exists()


def test_an_unknown_fault_kind_is_refused(admin_client, identities):
    response = admin_client.post("/sandbox/faults/", {"kind": "explode"})

    assert response.status_code == 400


# --- Against a real server (live_server): the client really times out / really loses the connection ------------


@pytest.fixture
def live_token(live_server, get_tokens):
    return get_tokens()["access_token"]


def test_hang_makes_a_real_client_time_out(live_server, live_token):
    inject_fault(kind="hang", hang_seconds=1.5)
    url = f"{live_server.url}/sandbox/api/v3.1/user"

    with pytest.raises(requests.Timeout):
        requests.get(url, headers={"Authorization": f"Bearer {live_token}"}, timeout=0.3)

    after = requests.get(url, headers={"Authorization": f"Bearer {live_token}"}, timeout=5)
    assert after.status_code == 200


def test_drop_makes_a_real_client_see_a_connection_error(live_server, live_token):
    inject_fault(kind="drop")
    url = f"{live_server.url}/sandbox/api/v3.1/user"

    with pytest.raises(requests.ConnectionError) as raised:
        requests.get(url, headers={"Authorization": f"Bearer {live_token}"}, timeout=5)

    assert not isinstance(raised.value, requests.Timeout)
    assert requests.get(url, headers={"Authorization": f"Bearer {live_token}"}, timeout=5).status_code == 200


def test_drop_of_a_post_also_yields_a_connection_error(live_server, live_token):
    inject_fault(kind="drop")

    with pytest.raises(requests.ConnectionError):
        requests.put(
            f"{live_server.url}/sandbox/api/v3.1/user",
            json={"user": {"first_name": "X"}},
            headers={"Authorization": f"Bearer {live_token}"},
            timeout=5,
        )
