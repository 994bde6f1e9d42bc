"""The sandbox's own fault injection, seen through the one Sage client (in-process transport)."""

import pytest

from connections.exceptions import SageUnavailable
from connections.sage_client import SageClient
from sandbox.faults import inject_fault


@pytest.fixture
def client(connected_end_user, settings):
    settings.SAGE_RETRY_BACKOFF_SECONDS = 0
    return SageClient.for_end_user(connected_end_user)


@pytest.mark.django_db
def test_a_dropped_get_is_retried_and_then_answers(client, sandbox_transport):
    inject_fault(kind="drop", count=1, path_prefix="/contacts")
    response = client.send("GET", "/contacts")
    assert response.status_code == 200
    assert response.sageint_attempts == 2
    assert sandbox_transport.count("/contacts", method="GET") == 2


@pytest.mark.django_db
def test_a_dropped_post_is_not_sent_again(client, sandbox_transport):
    inject_fault(kind="drop", count=1, path_prefix="/contacts")
    with pytest.raises(SageUnavailable):
        client.send(
            "POST", "/contacts", json={"contact": {"name": "Once Only", "contact_type_ids": ["CUSTOMER"]}}
        )
    assert sandbox_transport.count("/contacts", method="POST") == 1


@pytest.mark.django_db
def test_a_503_burst_on_get_is_ridden_out(client, sandbox_transport):
    inject_fault(kind="503", count=2, path_prefix="/contacts")
    response = client.send("GET", "/contacts")
    assert response.status_code == 200
    assert response.sageint_attempts == 3
