"""What protects the user's Sage from the tools: schema checks before anything is sent, the admin's exposure
setting (read-only mode), writes sent once, trimmed and capped outputs, and each caller reaching only their own
connection."""

import json

import pytest

from agents.models import ToolSettings
from api.models import RequestLog
from tests.fixtures_sage import connect_end_user_via_link

pytestmark = pytest.mark.django_db


def post_tool(client, name, arguments, headers):
    return client.post(
        f"/api/v1/tools/{name}", json.dumps(arguments), content_type="application/json", **headers
    )


def sage_calls(outgoing_requests):
    return [detail for layer, detail in outgoing_requests if layer == "requests"]


# --- input checked against the schema, every error listed, nothing sent ----------------------------------


def test_bad_input_answers_400_listing_every_error_and_sends_nothing(
    client, connected_end_user, bearer_for, outgoing_requests
):
    response = post_tool(
        client,
        "create_sales_invoice",
        {
            "date": "1st of March",
            "invoice_lines": [
                {"description": "x" * 2001, "ledger_account_id": "../user", "unit_price": "ten"}
            ],
            "colour": "blue",
        },
        bearer_for(connected_end_user),
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    problems = {(detail["path"], detail["message"].split(" ")[0]) for detail in error["details"]}
    paths = [detail["path"] for detail in error["details"]]
    assert "(input)" in paths  # contact_id missing, colour not allowed
    assert any("'contact_id' is a required property" in d["message"] for d in error["details"])
    assert any("'colour' was unexpected" in d["message"] for d in error["details"])
    assert "date" in paths
    assert "invoice_lines/0/description" in paths
    assert "invoice_lines/0/ledger_account_id" in paths
    assert "invoice_lines/0/unit_price" in paths
    assert len(error["details"]) == 6, problems
    assert f"{len(error['details'])} problem(s)" in error["message"]
    assert sage_calls(outgoing_requests) == []
    assert not RequestLog.objects.exists()


@pytest.mark.parametrize(
    ("name", "arguments", "path"),
    [
        ("search_contacts", {"items_per_page": 201}, "items_per_page"),
        ("search_contacts", {"contact_type_id": "FRIEND"}, "contact_type_id"),
        ("get_contact", {}, "(input)"),
        ("get_contact", {"id": "abc/../../user"}, "id"),
        ("create_contact", {"name": "N" * 101, "contact_type_ids": ["CUSTOMER"]}, "name"),
        ("create_contact", {"name": "Ann", "contact_type_ids": []}, "contact_type_ids"),
        ("list_sales_invoices", {"from_date": "2025-02-30"}, "from_date"),
        ("record_customer_receipt", {"contact_id": "a", "bank_account_id": "b", "date": "2025-03-05",
                                     "total_amount": "1.999", "allocations": []}, "allocations"),
    ],
)  # fmt: skip
def test_each_schema_rule_is_enforced_before_sending(
    client, connected_end_user, bearer_for, outgoing_requests, name, arguments, path
):
    response = post_tool(client, name, arguments, bearer_for(connected_end_user))

    assert response.status_code == 400, response.content
    assert path in [detail["path"] for detail in response.json()["error"]["details"]]
    assert sage_calls(outgoing_requests) == []


def test_a_body_that_is_not_an_object_is_refused(client, connected_end_user, bearer_for):
    response = client.post(
        "/api/v1/tools/list_tax_rates",
        "[1, 2]",
        content_type="application/json",
        **bearer_for(connected_end_user),
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"path": "(input)", "message": "[1, 2] is not of type 'object'"}
    ]


def test_sage_refusing_a_call_comes_back_in_the_one_error_shape_with_sages_messages(
    client, connected_end_user, bearer_for
):
    response = post_tool(client, "get_contact", {"id": "0" * 32}, bearer_for(connected_end_user))

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "sage_error"
    assert error["message"].startswith("Sage answered 404")
    assert error["details"] and "message" in error["details"][0]
    assert RequestLog.objects.get().tool == "get_contact"


# --- authentication and isolation -----------------------------------------------------------------------


def test_tools_need_a_user_token(client, connected_end_user, outgoing_requests):
    assert client.get("/api/v1/tools").status_code == 401
    response = post_tool(client, "list_tax_rates", {}, {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    bad = post_tool(client, "list_tax_rates", {}, {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    assert sage_calls(outgoing_requests) == []


def test_another_users_token_reaches_only_that_users_connection(
    client, seeded_sandbox, connected_end_user, bearer_for
):
    other = connect_end_user_via_link("company-user-77", sandbox_user="una")
    mine = post_tool(client, "create_contact", {"name": "Only Mine", "contact_type_ids": ["CUSTOMER"]},
                     bearer_for(connected_end_user)).json()["output"]  # fmt: skip

    theirs = post_tool(client, "get_contact", {"id": mine["id"]}, bearer_for(other))
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "sage_error"
    rows = RequestLog.objects.order_by("id")
    assert [(row.end_user_id, row.tool) for row in rows] == [
        (connected_end_user.pk, "create_contact"),
        (other.pk, "get_contact"),
    ]


def test_a_token_for_an_unconnected_user_never_uses_someone_elses_connection(
    client, connected_end_user, user_token_for, outgoing_requests
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {user_token_for('never-connected')}"}
    response = post_tool(client, "list_tax_rates", {}, headers)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_connected"
    assert sage_calls(outgoing_requests) == []


# --- the administrator's choice of tools ------------------------------------------------------------------


def test_read_only_mode_exposes_no_write_tool(client, connected_end_user, bearer_for, outgoing_requests):
    ToolSettings.objects.create(read_only=True)
    headers = bearer_for(connected_end_user)

    listed = {tool["name"] for tool in client.get("/api/v1/tools", **headers).json()["tools"]}
    assert listed.isdisjoint({"create_contact", "create_sales_invoice", "record_customer_receipt"})
    assert "search_contacts" in listed and len(listed) == 7

    refused = post_tool(client, "create_contact", {"name": "Ann", "contact_type_ids": ["CUSTOMER"]}, headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "unknown_tool"
    assert sage_calls(outgoing_requests) == []
    assert post_tool(client, "list_tax_rates", {}, headers).status_code == 200


def test_a_disabled_tool_is_hidden_and_refused(client, connected_end_user, bearer_for):
    ToolSettings.objects.create(disabled_tools=["list_tax_rates"])
    headers = bearer_for(connected_end_user)

    listed = {tool["name"] for tool in client.get("/api/v1/tools", **headers).json()["tools"]}
    assert "list_tax_rates" not in listed and "create_contact" in listed
    assert post_tool(client, "list_tax_rates", {}, headers).status_code == 404


def test_admin_edits_the_exposure_setting(admin_client):
    page = admin_client.get("/admin/agents/toolsettings/add/")
    assert page.status_code == 200
    assert b"record_customer_receipt (writes to Sage)" in page.content
    saved = admin_client.post(
        "/admin/agents/toolsettings/add/", {"read_only": "on", "disabled_tools": ["list_tax_rates"]}
    )
    assert saved.status_code == 302
    row = ToolSettings.load()
    assert row.read_only and row.disabled_tools == ["list_tax_rates"]


# --- writes once, outputs trimmed and capped ----------------------------------------------------------------


def test_a_write_that_fails_at_sage_is_not_sent_again(
    client, connected_end_user, bearer_for, sandbox_transport
):
    sandbox_transport.inject("/contacts", status=503, body=b'[{"$message": "busy", "$source": ""}]')

    response = post_tool(
        client,
        "create_contact",
        {"name": "Ann", "contact_type_ids": ["CUSTOMER"]},
        bearer_for(connected_end_user),
    )

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "sage_error"
    assert sandbox_transport.count("/contacts", method="POST") == 1
    assert RequestLog.objects.get().attempts == 1


def test_list_outputs_keep_only_the_fields_a_model_needs(
    client, seeded_sandbox, connected_end_user, bearer_for
):
    output = post_tool(client, "list_sales_invoices", {}, bearer_for(connected_end_user)).json()["output"]

    assert len(output["items"]) == 20 and output["has_more"] is True
    item = output["items"][0]
    assert set(item) <= {"id", "displayed_as", "invoice_number", "contact", "date", "due_date", "reference",
                         "status", "currency", "total_amount", "outstanding_amount"}  # fmt: skip
    assert set(item["contact"]) <= {"id", "displayed_as"}


def test_a_page_too_large_for_the_cap_loses_items_from_its_end(
    client, settings, seeded_sandbox, connected_end_user, bearer_for
):
    settings.SAGEINT_TOOL_OUTPUT_MAX_BYTES = 3000
    response = post_tool(client, "search_contacts", {"items_per_page": 200}, bearer_for(connected_end_user))

    output = response.json()["output"]
    assert len(json.dumps(output["items"])) < 3000
    assert 0 < len(output["items"]) < 200
    assert output["truncated"]["omitted"] == min(output["total"], 200) - len(output["items"])
    assert "items_per_page" in output["truncated"]["note"]


def test_sage_refusing_the_connections_business_is_not_answered_as_our_401(
    client, connected_end_user, bearer_for, sandbox_transport
):
    sandbox_transport.inject(
        "/tax_rates",
        status=401,
        body=b'[{"$severity": "error", "$dataCode": "X", "$message": "No access to business", "$source": "X-Business"}]',
        headers={"Content-Type": "application/json"},
    )

    response = post_tool(client, "list_tax_rates", {}, bearer_for(connected_end_user))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "sage_error" and "No access to business" in error["message"]
    assert error["details"] == [{"message": "No access to business", "source": "X-Business"}]
