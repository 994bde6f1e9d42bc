"""Sage's answers reach the caller as Sage gave them: status, body (JSON or bytes) and the headers that matter."""

import pytest

from connections import proxy

pytestmark = pytest.mark.django_db

PROXY = "/api/v1/proxy/sageaccounting"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_sage_not_found_passes_through_unchanged(client, connected_end_user, bearer_for):
    response = client.get(f"{PROXY}/contacts/0000000000000000", **bearer_for(connected_end_user))

    assert response.status_code == 404
    errors = response.json()
    assert isinstance(errors, list)
    assert errors[0]["$severity"] == "error"
    assert {"$dataCode", "$message", "$source"} <= set(errors[0])


def test_sage_validation_error_passes_through_unchanged(client, connected_end_user, bearer_for):
    response = client.post(
        f"{PROXY}/sales_invoices",
        data={"sales_invoice": {"date": "2025-01-31"}},
        content_type="application/json",
        **bearer_for(connected_end_user),
    )

    assert response.status_code == 422
    errors = response.json()
    assert isinstance(errors, list)
    assert any(error["$source"] for error in errors)


def test_json_answer_keeps_content_type_and_business_header(client, connected_end_user, bearer_for):
    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Business"] == connected_end_user.connection.business_id
    assert response["X-Sageint-Attempts"] == "1"
    assert "$items" in response.json()


def test_head_is_proxied(client, connected_end_user, bearer_for, scripted_sage):
    sage = scripted_sage("/contacts", [(200, {"Content-Type": "application/json"}, b"")])

    response = client.head(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 200
    assert response.content == b""
    assert sage.requests[0].method == "HEAD"


def test_pdf_passes_through_as_bytes(client, connected_end_user, bearer_for, scripted_sage):
    sage = scripted_sage(
        "/sales_invoices/abc123",
        [
            (
                200,
                {"Content-Type": "application/pdf", "Content-Disposition": 'inline; filename="SI-1.pdf"'},
                PDF,
            )
        ],
    )

    response = client.get(
        f"{PROXY}/sales_invoices/abc123", HTTP_ACCEPT="application/pdf", **bearer_for(connected_end_user)
    )

    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="SI-1.pdf"'
    assert sage.requests[0].headers["Accept"] == "application/pdf"


def test_location_and_created_status_pass_through(client, connected_end_user, bearer_for, scripted_sage):
    location = "https://api.accounting.sage.com/v3.1/contacts/fedcba9876543210"
    scripted_sage(
        "/contacts", [(201, {"Content-Type": "application/json", "Location": location}, b'{"id": "x"}')]
    )

    response = client.post(
        f"{PROXY}/contacts",
        data={"contact": {"name": "A"}},
        content_type="application/json",
        **bearer_for(connected_end_user),
    )

    assert response.status_code == 201
    assert response["Location"] == location


def test_json_body_reaches_sage_byte_for_byte(client, connected_end_user, bearer_for, scripted_sage):
    sage = scripted_sage("/sales_invoices", [(201, {"Content-Type": "application/json"}, b"{}")])
    body = b'{"sales_invoice": {"invoice_lines": [{"unit_price": "25.99", "quantity": 1.50}]}}'

    client.post(
        f"{PROXY}/sales_invoices",
        data=body,
        content_type="application/json",
        **bearer_for(connected_end_user),
    )

    sent = sage.requests[0]
    assert sent.body == body
    assert sent.headers["Content-Type"] == "application/json"


def test_caller_cannot_choose_the_sage_token_or_send_other_headers(
    client, connected_end_user, bearer_for, scripted_sage
):
    sage = scripted_sage("/contacts", [(200, {"Content-Type": "application/json"}, b"{}")])

    client.get(
        f"{PROXY}/contacts", HTTP_X_SAGE_DEBUG="1", HTTP_COOKIE="sage=1", **bearer_for(connected_end_user)
    )

    sent = sage.requests[0].headers
    assert sent["X-Business"] == connected_end_user.connection.business_id
    assert sent["Authorization"].startswith("Bearer ")
    assert bearer_for(connected_end_user)["HTTP_AUTHORIZATION"] != sent["Authorization"]
    assert "X-Sage-Debug" not in sent and "Cookie" not in sent


def test_in_process_request_returns_sages_answer(connected_end_user):
    response = proxy.request(connected_end_user, "/contacts?items_per_page=2")

    assert response.status_code == 200
    assert response.json()["$itemsPerPage"] == 2
    assert response.sageint_attempts == 1


def test_in_process_request_returns_sage_errors_instead_of_raising(connected_end_user):
    response = proxy.request(connected_end_user, "/contacts/0000000000000000")

    assert response.status_code == 404
    assert response.json()[0]["$severity"] == "error"


def test_sage_server_error_on_a_write_passes_through_byte_for_byte(
    client, connected_end_user, bearer_for, scripted_sage
):
    page = b"<html><body>Internal Server Error</body></html>"
    scripted_sage(
        "/contacts",
        [(500, {"Content-Type": "text/html; charset=utf-8", "Set-Cookie": "sage_session=abc"}, page)],
    )

    response = client.post(
        f"{PROXY}/contacts",
        data={"contact": {"name": "A"}},
        content_type="application/json",
        **bearer_for(connected_end_user),
    )

    assert response.status_code == 500
    assert response.content == page
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "Set-Cookie" not in response  # Sage's cookies are not the caller's business
    assert not response.cookies


def test_query_string_reaches_sage_as_given(client, connected_end_user, bearer_for, scripted_sage):
    sage = scripted_sage("/contacts", [(200, {"Content-Type": "application/json"}, b"{}")])

    client.get(
        f"{PROXY}/contacts?email=a%2Bb%40example.com&contact_type_id=CUSTOMER&contact_type_id=VENDOR&search=",
        **bearer_for(connected_end_user),
    )

    assert sage.requests[0].url.split("?", 1)[1] == (
        "email=a%2Bb%40example.com&contact_type_id=CUSTOMER&contact_type_id=VENDOR&search="
    )
