"""The seed's three calls end to end against the sandbox, through the HTTP proxy and the in-process SDK."""

import json

import pytest

from api.models import RequestLog
from connections import proxy
from tests.api.seed_scenario import run_seed_calls

pytestmark = pytest.mark.django_db


def test_seed_calls_through_the_http_proxy(client, seeded_sandbox, connected_end_user, bearer_for):
    headers = bearer_for(connected_end_user)

    def call(method, path, body=None):
        response = client.generic(
            method,
            "/api/v1/proxy/sageaccounting" + path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            **headers,
        )
        return response.status_code, response.json()

    run_seed_calls(call)

    logged = list(RequestLog.objects.filter(method="POST").order_by("id").values_list("path", "status_code"))
    assert logged == [("/contacts", 201), ("/sales_invoices", 201), ("/contact_payments", 201)]


def test_seed_calls_through_the_in_process_sdk(seeded_sandbox, connected_end_user):
    def call(method, path, body=None):
        response = proxy.request(connected_end_user, path, method=method, json=body)
        return response.status_code, response.json()

    run_seed_calls(call)

    assert set(RequestLog.objects.values_list("source", flat=True)) == {RequestLog.Source.PYTHON}
