"""The agent tools over HTTP: the catalogue listing, a run of every tool against the sandbox, and the log."""

import json

import pytest

from api.models import RequestLog
from tests.agents.tool_scenario import ISSUE_TOOLS, run_tool_chain

pytestmark = pytest.mark.django_db


def post_tool(client, name, arguments, headers):
    return client.post(
        f"/api/v1/tools/{name}", json.dumps(arguments), content_type="application/json", **headers
    )


def http_call(client, headers):
    def call(name, arguments):
        response = post_tool(client, name, arguments, headers)
        body = response.json()
        return (response.status_code == 200, body["output"] if response.status_code == 200 else body)

    return call


def test_catalogue_is_listed_in_the_function_calling_shape(client, connected_end_user, bearer_for):
    response = client.get("/api/v1/tools", **bearer_for(connected_end_user))

    assert response.status_code == 200
    tools = {tool["name"]: tool for tool in response.json()["tools"]}
    assert set(tools) == ISSUE_TOOLS
    for tool in tools.values():
        assert set(tool) == {"name", "description", "parameters"}
        assert tool["parameters"]["type"] == "object"
    assert tools["create_sales_invoice"]["parameters"]["required"] == ["contact_id", "date", "invoice_lines"]


def test_every_tool_against_the_sandbox_leaves_the_invoice_paid(
    client, seeded_sandbox, connected_end_user, bearer_for
):
    run_tool_chain(http_call(client, bearer_for(connected_end_user)))

    rows = list(
        RequestLog.objects.order_by("id").values_list("source", "tool", "method", "path", "status_code")
    )
    assert {row[0] for row in rows} == {RequestLog.Source.TOOLS}
    writes = [(tool, method, path, status) for _, tool, method, path, status in rows if method == "POST"]
    assert writes == [
        ("create_contact", "POST", "/contacts", 201),
        ("create_sales_invoice", "POST", "/sales_invoices", 201),
        ("record_customer_receipt", "POST", "/contact_payments", 201),
    ]
    assert {row[1] for row in rows} == {
        "create_contact",
        "search_contacts",
        "get_contact",
        "list_ledger_accounts",
        "list_bank_accounts",
        "list_tax_rates",
        "create_sales_invoice",
        "list_sales_invoices",
        "record_customer_receipt",
        "get_sales_invoice",
    }


def test_both_endpoints_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()

    assert set(document["paths"]["/tools"]) == {"get"}
    call = document["paths"]["/tools/{name}"]["post"]
    assert "invalid_input" in call["responses"]["400"]["description"]
    assert "record_customer_receipt" in call["parameters"][0]["schema"]["enum"]
    schema = document["components"]["schemas"]["ToolInput_create_sales_invoice"]
    assert schema["required"] == ["contact_id", "date", "invoice_lines"]
    assert "proxy_get" in {
        op["operationId"] for op in document["paths"]["/proxy/sageaccounting/{path}"].values()
    }
