"""The runtime and the tooling are installed from separate files: the container image gets requirements.txt only
(no test or lint tools), `make install` gets requirements-dev.txt (the runtime plus the tools), and the app, its
Celery tasks and the Dockerfile's commands need nothing from the tools."""

import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.foundation.test_production_commands import dockerfile

ROOT = Path(settings.BASE_DIR)
# Test and lint tools, by distribution name, with the module each is imported as (None: a command only).
TOOLS = {
    "pytest": "pytest",
    "pytest-django": "pytest_django",
    "pytest-xdist": "xdist",
    "PyYAML": "yaml",
    "responses": "responses",
    "openapi-spec-validator": "openapi_spec_validator",
    "playwright": "playwright",
    "ruff": None,
}


def pinned(path: Path) -> dict[str, str]:
    names = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            names[re.sub(r"\[.*\]", "", name).lower()] = version
    return names


def test_the_runtime_file_holds_no_tool_and_the_dev_file_adds_them_to_it():
    runtime, dev = pinned(ROOT / "requirements.txt"), pinned(ROOT / "requirements-dev.txt")
    tools = {name.lower() for name in TOOLS}
    assert not tools & set(runtime)
    assert tools <= set(dev)
    assert not set(runtime) & set(dev), "a package pinned in both files can drift apart"
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert {"django", "gunicorn", "celery", "psycopg"} <= set(runtime)


def test_the_image_installs_the_runtime_and_make_installs_both():
    installs = [command for command in dockerfile()["run"] if "pip install" in command]
    assert installs and all("-r requirements.txt" in command for command in installs)
    assert not any("requirements-dev" in command for command in installs)
    makefile = (ROOT / "Makefile").read_text()
    stamp = next(line for line in makefile.splitlines() if line.startswith("$(VENV)/.installed:"))
    assert "requirements.txt" in stamp.split() and "requirements-dev.txt" in stamp.split()
    assert "pip install --quiet -r requirements-dev.txt" in makefile


# With every tool made unimportable: Django's deploy checks (which load every URLconf, view and model), every
# Celery task module, the WSGI app, gunicorn's configuration, and the Dockerfile's collectstatic.
WITHOUT_TOOLS = f"""
import runpy, sys
sys.modules.update(dict.fromkeys({[module for module in TOOLS.values() if module]!r}))
import django
django.setup()
from django.core.management import call_command
call_command("check", "--deploy", "--fail-level", "ERROR")
call_command("collectstatic", "--no-input", verbosity=0)
from sageint.celery import app
app.loader.import_default_modules()
import sageint.wsgi
runpy.run_path("gunicorn.conf.py")
print("loaded without the tools")
"""


def test_the_app_and_the_images_commands_need_none_of_the_tools(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "sageint.settings",
        "DEBUG": "0",
        "SECRET_KEY": "requirements-test-secret-key-0123456789-abcdefghijklmnop",
        "SAGEINT_ENCRYPTION_KEYS": "c21va2UtdGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=",
        "SAGEINT_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "ALLOWED_HOSTS": "sageint.example",
        "SITE_URL": "https://sageint.example",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", WITHOUT_TOOLS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert loaded.returncode == 0, loaded.stdout[-3000:] + loaded.stderr[-3000:]
    assert "loaded without the tools" in loaded.stdout
    assert (tmp_path / "static" / "staticfiles.json").exists()
