"""Sage's own API description for the conformance tests: kept outside the repository (it is Sage's text), found
at settings.SAGE_OPENAPI_DIR. Missing, a test using it skips on a fresh clone and fails when REQUIRE_SERVICES=1
(CI), the rule of tests/services.py."""

import json
from pathlib import Path

from django.conf import settings

from tests.services import require_service

FULL = "swagger.full.json"  # every accounting endpoint
USER_BUSINESSES = "swagger.user_businesses.json"  # /user and /businesses


def load_sage_description(file_name: str, *, folder: Path | None = None) -> dict:
    path = Path(folder or settings.SAGE_OPENAPI_DIR) / file_name
    require_service(
        path.is_file(),
        f"Sage's API description {path} (kept outside the repository; set SAGE_OPENAPI_DIR to its folder)",
    )
    return json.loads(path.read_text())
