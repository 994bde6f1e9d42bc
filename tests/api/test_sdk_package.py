"""sageint_sdk is a package of its own: installable with pip, needing only requests and PyJWT, never Django."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import requests
import responses
import sageint_sdk
from sageint_sdk import Client, UnsafePath
from sageint_sdk.client import DEFAULT_TIMEOUT

SDK_ROOT = Path(__file__).resolve().parents[2] / "sdk"
PACKAGE_DIR = SDK_ROOT / "sageint_sdk"


def imported_top_level_modules(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_in_use_is_the_one_in_sdk():
    assert Path(sageint_sdk.__file__).resolve().parent == PACKAGE_DIR


def test_sdk_source_imports_only_the_standard_library_requests_and_jwt():
    allowed = set(sys.stdlib_module_names) | {"requests", "jwt", "sageint_sdk", "__future__"}

    for source in PACKAGE_DIR.rglob("*.py"):
        assert imported_top_level_modules(source) <= allowed, source


def test_sdk_imports_in_a_fresh_interpreter_where_django_cannot_be_imported(tmp_path):
    script = """
import importlib.abc, sys

class NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("django", "sageint", "connections", "api", "sandbox"):
            raise ImportError(f"{name} must not be imported by the SDK")

sys.meta_path.insert(0, NoDjango())
import sageint_sdk, sageint_sdk.client, sageint_sdk.tokens
token = sageint_sdk.mint_user_token("a-secret-of-at-least-32-bytes-long!", "customer-42")
sageint_sdk.Client("http://sageint.invalid", token).close()
print(sorted({m.split(".")[0] for m in sys.modules} & {"django", "sageint", "connections", "api"}))
"""
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,  # not the project: only what pip installed is importable
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_pyproject_declares_requests_and_pyjwt_only():
    project = tomllib.loads((SDK_ROOT / "pyproject.toml").read_text())

    names = {
        dependency.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for dependency in project["project"]["dependencies"]
    }
    assert names == {"requests", "pyjwt"}
    assert project["project"]["name"] == "sageint-sdk"
    assert project["build-system"]["build-backend"]
    assert project["tool"]["setuptools"]["packages"] == [
        path.parent.name for path in SDK_ROOT.glob("*/__init__.py")
    ]


class RecordingSession(requests.Session):
    def __init__(self):
        super().__init__()
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        response = requests.Response()
        response.status_code = 200
        return response


def test_request_sends_the_issues_call_shape_with_a_timeout():
    session = RecordingSession()
    client = Client("https://sageint.example.com/", "user-token", session=session)

    client.request("sageaccounting", "/contacts?email=a@b.c", method="GET")

    method, url, kwargs = session.calls[0]
    assert method == "GET"
    assert url == "https://sageint.example.com/api/v1/proxy/sageaccounting/contacts?email=a@b.c"
    assert kwargs["timeout"] == DEFAULT_TIMEOUT
    assert kwargs["allow_redirects"] is False
    assert session.headers["Authorization"] == "Bearer user-token"


def test_a_call_can_shorten_the_timeout():
    session = RecordingSession()
    client = Client("https://sageint.example.com", "user-token", timeout=12, session=session)

    client.request("sageaccounting", "/contacts")
    client.request("sageaccounting", "/contacts", timeout=2.5)

    assert [kwargs["timeout"] for _, _, kwargs in session.calls] == [12, 2.5]


@pytest.mark.parametrize("timeout", [None, 0, -1])
def test_a_client_without_a_timeout_is_refused(timeout):
    with pytest.raises(ValueError, match="timeout"):
        Client("https://sageint.example.com", "user-token", timeout=timeout)


@pytest.mark.parametrize("path", ["/contacts#../../admin", "/./contacts", "/contacts/.."])
def test_unsafe_paths_raise_the_sdks_own_exception_and_send_nothing(path):
    client = Client("http://sageint.invalid", "token")

    with responses.RequestsMock() as mocked, pytest.raises(UnsafePath):
        client.request("sageaccounting", path)
    assert len(mocked.calls) == 0


def test_unreachable_sageint_raises_requests_connection_error():
    client = Client("http://127.0.0.1:9", "token", timeout=2)  # nothing listens on the discard port

    with pytest.raises(requests.ConnectionError):
        client.request("sageaccounting", "/contacts")
