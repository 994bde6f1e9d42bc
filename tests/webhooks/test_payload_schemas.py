"""The webhook payloads are described in the OpenAPI document (its `webhooks` section), and the description is
true: the payloads sageint really writes for every event type, produced through the real flows, match their
schemas (strictly: no field the schema does not list), as do the document's examples and the README's."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from connections.models import Connection
from projects.models import ApiKey
from records import sync
from tests.api.conftest import seeded_sandbox  # noqa: F401  (shared fixture)
from tests.fixtures_sage import connect_end_user_via_link
from tests.openapi_schemas import assert_matches_schema
from tests.records.conftest import run_sync
from tests.webhooks.test_connection_events import break_connection
from tests.workflows.conftest import example_workflow, invoice_input, run_now  # noqa: F401
from webhooks.models import Event, EventType
from webhooks.openapi import EXAMPLES, schema_name
from workflows.models import Run
from workflows.runs import create_run

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json()


def readme_webhooks_section() -> str:
    return README.read_text().split("## Webhooks:", 1)[1].split("\n## ", 1)[0]


def readme_examples() -> list[dict]:
    """The JSON objects of the README's webhook example block, one after the other."""
    block = readme_webhooks_section().split("```json\n", 1)[1].split("```", 1)[0]
    decoder, examples, at = json.JSONDecoder(), [], 0
    while block[at:].strip():
        at += len(block[at:]) - len(block[at:].lstrip())
        example, at = decoder.raw_decode(block, at)
        examples.append(example)
    return examples


def test_every_event_type_is_described_with_a_valid_example(document):
    assert set(document["webhooks"]) == set(EventType.values)
    for event_type, entry in document["webhooks"].items():
        body = entry["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{schema_name(event_type)}"}
        assert body["example"]["type"] == event_type
        assert_matches_schema(body["example"], schema_name(event_type))
        assert {p["name"] for p in entry["post"]["parameters"]} == {
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }


def test_the_readme_examples_are_the_documents(document):
    examples = readme_examples()
    table = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", readme_webhooks_section(), flags=re.MULTILINE))

    assert table == set(EventType.values)
    assert len(examples) >= 4
    for example in examples:
        documented = document["webhooks"][example["type"]]["post"]["requestBody"]["content"][
            "application/json"
        ]
        assert example == documented["example"], example["type"]


def test_a_wrong_payload_is_caught():
    """The check itself: a missing field, an extra one and a wrong type are all errors."""
    example = EXAMPLES[EventType.SYNC_FAILED]
    missing = {**example, "data": {key: value for key, value in example["data"].items() if key != "sync_run"}}
    extra = {**example, "data": {**example["data"], "secret": "x"}}
    wrong = json.loads(json.dumps(example).replace('"created": 0', '"created": "0"'))

    for payload in (missing, extra, wrong):
        with pytest.raises(AssertionError):
            assert_matches_schema(payload, "SyncFailedEvent")


def test_the_real_payloads_of_every_event_type_match_their_schemas(
    seeded_sandbox,  # noqa: F811
    sandbox_transport,
    example_workflow,  # noqa: F811
    make_endpoint,
    monkeypatch,
    settings,
):
    make_endpoint("http://127.0.0.1:9/hooks")  # every event type; nothing is delivered here
    monkeypatch.setattr(sync, "_enqueue", lambda step_ids: None)
    settings.SAGE_RETRY_MAX_ATTEMPTS = 1

    end_user = connect_end_user_via_link()  # connection.created
    break_connection(end_user)  # connection.reconnect_needed
    connection = connect_end_user_via_link().connection  # connection.recovered
    run_sync(connection)  # sync.succeeded
    sandbox_transport.inject("/contacts", status=500, body=b"[]", times=1)
    assert run_sync(connection).status == "failed"  # sync.failed
    for failing in (False, True):  # workflow_run.succeeded, workflow_run.failed
        if failing:
            sandbox_transport.inject("/contact_payments", status=422, body=b"[]", times=1)
        run_now(
            create_run(
                workflow=example_workflow,
                end_user=end_user,
                trigger=Run.Trigger.API,
                trigger_input=invoice_input(),
                enqueue=False,
            )
        )
    _, key = ApiKey.issue(name="backend")
    Client().delete(
        f"/api/v1/connections/{connection.pk}", HTTP_AUTHORIZATION=f"Bearer {key}"
    )  # disconnected

    written = {event.type: json.loads(event.body) for event in Event.objects.order_by("id")}
    assert set(written) == set(EventType.values)
    assert not Connection.objects.exists()
    for event_type, payload in written.items():
        assert_matches_schema(payload, schema_name(event_type))
