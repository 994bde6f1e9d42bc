"""The proxy describes itself with an OpenAPI document at a stable URL."""

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_document_is_served_at_a_stable_url(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"][0]["url"].endswith("/api/v1")


def test_openapi_document_describes_every_proxied_method_and_error(client):
    document = client.get("/api/v1/openapi.json").json()

    operations = document["paths"]["/proxy/sageaccounting/{path}"]
    assert set(operations) == {"get", "head", "post", "put", "delete"}
    assert {"400", "401", "404", "409", "413", "502", "504", "default"} <= set(
        operations["post"]["responses"]
    )
    assert "requestBody" in operations["post"]
    assert "requestBody" not in operations["get"]
    assert document["components"]["securitySchemes"]["userToken"]["scheme"] == "bearer"


def test_openapi_document_needs_no_login(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
