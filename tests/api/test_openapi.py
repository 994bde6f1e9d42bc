"""The proxy describes itself with an OpenAPI document at a stable URL, and the document tells the truth."""

import ast
import re
from pathlib import Path

import pytest

import api
from api.errors import STATUS_FOR_EXCEPTION

pytestmark = pytest.mark.django_db

OPENAPI_URL = "/api/v1/openapi.json"
PROXY_PATH = "/proxy/sageaccounting/{path}"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def document(client):
    return client.get(OPENAPI_URL).json()


MANAGEMENT_SOURCES = [
    Path(api.__file__).parent / "management_views.py",
    Path(api.__file__).parent / "management.py",
    Path(api.__file__).parent.parent / "projects" / "auth.py",
]


def implemented_errors() -> set[tuple[int, str]]:
    """Every (status, code) the proxy can answer with: the exception table, plus each literal
    `ApiError(status, code, …)` / `error_response(status, code, …)` in the api package (the management API's
    own module aside: see test_management_errors_are_documented)."""
    found = {(status, code) for _, status, code in STATUS_FOR_EXCEPTION}
    sources = [
        source for source in Path(api.__file__).parent.glob("*.py") if source not in MANAGEMENT_SOURCES
    ]
    return found | literal_errors(sources)


def literal_errors(sources) -> set[tuple[int, str]]:
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("ApiError", "error_response")
                and len(node.args) >= 2
                and all(isinstance(arg, ast.Constant) for arg in node.args[:2])
            ):
                found.add((node.args[0].value, node.args[1].value))
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "InvalidApiKey"
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add((401, node.args[0].value))
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "SyncNotStarted"
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add((409, node.args[0].value))
    return found


def resolve(document: dict, reference: str):
    assert reference.startswith("#/"), reference
    node = document
    for part in reference[2:].split("/"):
        node = node[part]
    return node


def all_references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_references(item)


def test_openapi_document_is_served_at_a_stable_url(client):
    response = client.get(OPENAPI_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"][0]["url"].endswith("/api/v1")


def test_openapi_document_needs_no_login(client):
    assert client.get(OPENAPI_URL).status_code == 200


def test_openapi_document_has_a_valid_structure(document):
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert document["paths"] and all(path.startswith("/") for path in document["paths"])
    operation_ids = []
    for path, item in document["paths"].items():
        templated = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            assert method in HTTP_METHODS, method
            operation_ids.append(operation["operationId"])
            parameters = [resolve(document, p["$ref"]) if "$ref" in p else p for p in operation["parameters"]]
            assert {p["name"] for p in parameters if p["in"] == "path"} == templated
            assert all(p["required"] for p in parameters if p["in"] == "path")
            assert operation["responses"]
            for status, answer in operation["responses"].items():
                assert status == "default" or re.fullmatch(r"[1-5]\d\d", status), status
                assert answer["description"]
    assert len(operation_ids) == len(set(operation_ids))
    for reference in all_references(document):
        resolve(document, reference)  # raises KeyError when a $ref points nowhere
    for requirement in document["security"]:
        assert set(requirement) <= set(document["components"]["securitySchemes"])


def test_openapi_document_is_valid_openapi_3_1(document):
    """The whole document, webhooks included, against the OpenAPI 3.1 specification's own schema."""
    from openapi_spec_validator import OpenAPIV31SpecValidator

    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]
    assert errors == []
    assert set(document["webhooks"]) and document["paths"]


def test_openapi_document_describes_every_proxied_method(document):
    operations = document["paths"][PROXY_PATH]

    assert set(operations) == {"get", "head", "post", "put", "delete"}
    assert "requestBody" in operations["post"]
    assert "requestBody" not in operations["get"]
    assert document["components"]["securitySchemes"]["userToken"]["scheme"] == "bearer"


@pytest.mark.parametrize("method", ["get", "head", "post", "put", "delete"])
def test_documented_error_statuses_are_exactly_the_implemented_ones(document, method):
    implemented = implemented_errors()
    responses = document["paths"][PROXY_PATH][method]["responses"]

    documented_statuses = {int(status) for status in responses if status != "default"}
    assert documented_statuses == {status for status, _ in implemented}
    for status, code in implemented:
        assert f"`{code}`" in responses[str(status)]["description"], (status, code)
        assert responses[str(status)]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


def test_implemented_errors_include_every_status_the_issue_names():
    statuses = {status for status, _ in implemented_errors()}

    assert {400, 401, 404, 409, 413, 502, 503, 504} <= statuses


def test_readme_error_table_lists_exactly_the_implemented_errors():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("**sageint's own errors**", 1)[1].split("- **Rate limits", 1)[0]

    documented = {
        (int(status), code)
        for status, codes in re.findall(r"^\s*\| (\d{3}) \| ([^|]+) \|", section, flags=re.MULTILINE)
        for code in re.findall(r"`(\w+)`", codes)
    }
    assert documented == implemented_errors()


MANAGEMENT_PATHS = {
    "/connections": {"get"},
    "/connections/{connection_id}": {"get", "delete"},
    "/connections/{connection_id}/syncs": {"post"},
    "/connect-links": {"post"},
}


def test_openapi_document_describes_the_management_api(document):
    for path, methods in MANAGEMENT_PATHS.items():
        assert set(document["paths"][path]) == methods
        for operation in document["paths"][path].values():
            assert operation["security"] == [{"projectKey": []}]
            assert any(status.startswith("2") for status in operation["responses"])


def test_management_errors_are_documented():
    """Every error the management views and the key check can give appears in some management operation."""
    document_errors = set()
    from api.openapi import openapi_document

    paths = openapi_document()["paths"]
    for path in MANAGEMENT_PATHS:
        for operation in paths[path].values():
            for status, answer in operation["responses"].items():
                document_errors |= {
                    (int(status), code) for code in re.findall(r"`(\w+)`", answer["description"])
                }

    # The shared pieces every management view goes through: api_endpoint, allowed_methods, read_json_object.
    shared = {
        (500, "internal_error"),
        (405, "method_not_allowed"),
        (400, "invalid_json"),
        (413, "body_too_large"),
    }
    implemented = literal_errors(MANAGEMENT_SOURCES) | shared
    assert (401, "invalid_api_key") in implemented and (404, "unknown_connection") in implemented
    assert {(409, "sync_running"), (409, "reconnect_required"), (409, "no_business")} <= implemented
    assert implemented <= document_errors


# Routes whose OpenAPI path differs from the URL pattern, and why. The document itself is not an operation.
DOCUMENTED_AS = {
    # One integration exists; an empty Sage path is the same operation with `path` empty.
    "/proxy/{integration}/{sage_path}": "/proxy/sageaccounting/{path}",
    "/proxy/{integration}": "/proxy/sageaccounting/{path}",
}
NOT_OPERATIONS = {"/openapi.json"}


def api_routes() -> set[str]:
    """Every URL pattern under /api/v1/, written as OpenAPI writes paths (`<int:run_id>` → `{run_id}`)."""
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route

    routes = set()
    for route in walk(get_resolver().url_patterns, ""):
        if route.startswith("api/v1/"):
            routes.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.removeprefix("api/v1/")))
    return routes


def test_every_url_under_api_v1_is_in_the_document(document):
    routes = api_routes()
    assert {"/connections/{connection_id}/syncs", "/workflows/{workflow_id}/runs", "/events"} <= routes

    documented = {DOCUMENTED_AS.get(route, route) for route in routes - NOT_OPERATIONS}

    assert documented == set(document["paths"])


def concrete(path: str) -> str:
    return "/api/v1" + re.sub(r"{\w+}", "1", path)


def test_every_documented_operation_exists_and_only_those_methods(client, document):
    """Each documented operation is routed and asks for credentials (401); any other method is a 405 whose Allow
    header lists exactly the documented ones. (The proxy's methods are checked by its own tests.)"""
    for path, operations in document["paths"].items():
        if path == PROXY_PATH:
            continue
        url = concrete(path)
        for method in operations:
            answer = client.generic(method.upper(), url)
            assert answer.status_code == 401, (method, path, answer.content)
            assert answer.json()["error"]["code"] in ("unauthenticated", "invalid_api_key")
        refused = client.generic("PATCH", url)
        assert refused.status_code == 405, path
        assert set(refused["Allow"].lower().split(", ")) == set(operations), path


def documented_errors(document: dict, paths) -> set[tuple[int, str]]:
    found = set()
    for path in paths:
        for operation in document["paths"][path].values():
            for status, answer in operation["responses"].items():
                found |= {(int(status), code) for code in re.findall(r"`(\w+)`", answer["description"])}
    return found


def test_workflow_api_errors_are_documented(document):
    import workflows

    sources = [Path(workflows.__file__).parent / "api_views.py"]
    # Shared with the other end-user APIs: api_endpoint, allowed_methods, read_json_object, authenticate_end_user.
    shared = {
        (500, "internal_error"),
        (405, "method_not_allowed"),
        (400, "invalid_json"),
        (413, "body_too_large"),
        (401, "unauthenticated"),
        (401, "invalid_token"),
        (403, "csrf_failed"),
    }
    implemented = literal_errors(sources) | shared
    assert {(404, "unknown_workflow"), (404, "unknown_run"), (409, "workflow_disabled")} <= implemented

    workflow_paths = [path for path in document["paths"] if path.startswith(("/workflows", "/events"))]
    assert implemented <= documented_errors(document, workflow_paths)
