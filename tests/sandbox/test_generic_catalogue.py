"""The committed catalogue (sandbox/generic/catalogue.json) is exactly what scripts/derive_sandbox_catalogue.py
derives from Sage's API description, so the generic engine serves what Sage describes and nothing drifts.

Sage's description is kept outside the repository (SAGE_OPENAPI_DIR, ../shared/sage-openapi by default): without
it this module skips, and under REQUIRE_SERVICES=1 (CI) it fails instead."""

import importlib.util
import json
from pathlib import Path

import pytest
from django.conf import settings

from sandbox.generic import catalogue
from tests.services import require_service

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "derive_sandbox_catalogue.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("derive_sandbox_catalogue", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def description() -> dict:
    spec_file = Path(settings.SAGE_OPENAPI_DIR) / "swagger.full.json"
    require_service(spec_file.exists(), f"Sage's API description ({spec_file})")
    return json.loads(spec_file.read_text())


def test_committed_catalogue_is_what_the_script_derives_from_the_description(script, description):
    derived = script.render(script.derive(description))

    assert catalogue.CATALOGUE_FILE.read_text() == derived, "run scripts/derive_sandbox_catalogue.py"


def test_catalogue_lists_every_path_and_operation_of_the_description(description):
    described = {
        (method, path)
        for path, operations in description["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete")
    }

    listed = {(method, path) for path, methods in catalogue.paths().items() for method in methods}

    assert listed == described
    assert catalogue.catalogue()["operations"] == len(described) == 275


def test_catalogue_holds_no_prose_from_the_description(description):
    """Structure only: not one of the description's summaries or descriptions is in the committed file."""
    text = catalogue.CATALOGUE_FILE.read_text()
    prose = {
        operation.get("summary")
        for operations in description["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
    } | {
        field.get("description")
        for definition in description["definitions"].values()
        for field in definition.get("properties", {}).values()
    }
    leaked = sorted(sentence for sentence in prose if sentence and len(sentence) > 30 and sentence in text)

    assert not leaked, leaked[:5]


def test_the_sandbox_docs_say_for_every_resource_how_it_is_served():
    docs = (Path(settings.BASE_DIR) / "docs" / "sandbox.md").read_text()
    table = docs[docs.index("#### Resource by resource") :]

    missing = [name for name in catalogue.resource_names() if f"| `/{name}` |" not in table]

    assert not missing
    for name in catalogue.HAND_WRITTEN:
        assert f"| `/{name}` |" in table and "hand-written" in table.split(f"| `/{name}` |")[1].split("\n")[0]
