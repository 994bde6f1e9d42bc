"""The conformance tests against Sage's API description follow the service-test rule: without the description they
skip on a fresh clone, and FAIL when REQUIRE_SERVICES=1 says it must be there (CI)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.sandbox.sage_description import FULL, load_sage_description


def test_a_missing_description_skips_by_default(settings, tmp_path):
    settings.REQUIRE_SERVICES = False

    with pytest.raises(pytest.skip.Exception, match="SAGE_OPENAPI_DIR"):
        load_sage_description(FULL, folder=tmp_path)


def test_a_missing_description_fails_when_services_are_required(settings, tmp_path):
    settings.REQUIRE_SERVICES = True

    with pytest.raises(pytest.fail.Exception, match="REQUIRE_SERVICES=1"):
        load_sage_description(FULL, folder=tmp_path)


def test_the_fidelity_tests_fail_under_require_services_when_the_description_is_missing(tmp_path):
    """End to end: both modules that read the description, run as CI runs them, with the description absent."""
    environment = {**os.environ, "REQUIRE_SERVICES": "1", "SAGE_OPENAPI_DIR": str(tmp_path / "absent")}
    selected = [
        "tests/sandbox/test_fidelity_openapi.py::test_the_checker_catches_unknown_fields_and_wrong_types",
        "tests/sandbox/test_user_and_businesses.py::test_user_has_every_field_sage_describes",
    ]

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selected],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode != 0, run.stdout
    assert "2 error" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]
    assert "REQUIRE_SERVICES=1 says it must be" in run.stdout
