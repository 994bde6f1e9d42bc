"""What one proxied call costs sageint itself: one read of the database before Sage is called (the end user with
their connection; the integration's on/off switch is kept per process for a moment), one log row after."""

import pytest

from api.models import RequestLog
from connections import proxy
from connections.models import EndUser

pytestmark = pytest.mark.django_db

PROXY = "/api/v1/proxy/sageaccounting"
JSON = {"Content-Type": "application/json"}


def test_a_proxied_call_reads_the_database_once_and_writes_one_log_row(
    client, connected_end_user, bearer_for, scripted_sage, django_assert_num_queries
):
    scripted_sage("/contacts", [(200, JSON, b'{"$items": []}')] * 3)
    headers = bearer_for(connected_end_user)
    client.get(f"{PROXY}/contacts", **headers)  # the first call of a token checks its signature

    with django_assert_num_queries(2) as queries:
        response = client.get(f"{PROXY}/contacts?email=ann@example.com", **headers)

    assert response.status_code == 200
    select, insert = (query["sql"] for query in queries.captured_queries)
    assert select.startswith("SELECT") and "connections_connection" in select
    assert insert.startswith("INSERT") and "api_requestlog" in insert
    assert RequestLog.objects.count() == 2


def test_a_connection_that_is_not_the_end_users_is_refused_before_sending(
    connected_end_user, outgoing_requests
):
    stranger = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="stranger")

    with pytest.raises(ValueError, match="not this end user"):
        proxy.request(stranger, "/contacts", connection=connected_end_user.connection)

    assert outgoing_requests == []
    assert not RequestLog.objects.filter(end_user=stranger).exists()
