"""The README's runnable examples, as written, against a server started as `make run` starts it.

The blocks marked `<!-- readme-example -->` run in order in one bash session (a `python` block through
`.venv/bin/python -`, as the README says to run it). After a block marked `<!-- readme-example: connect -->` the test
does what the README asks of the person: open the link the block printed, press Connect, keep Sam Sandbox, press
Allow (with requests, filling in the pages' forms as a browser would).
"""

import re
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from django.conf import settings

from tests.foundation.running import VENV, clean_env, free_port, start, stop_process_group, wait_for_http

README = Path(settings.BASE_DIR) / "README.md"
MARKED_BLOCK = re.compile(
    r"<!-- readme-example(?:: (?P<kind>[a-z]+))? -->\n```(?P<language>sh|python)\n(?P<code>.*?)```", re.S
)
PYTHON = str(VENV / "bin" / "python")


def readme_examples() -> list[tuple[str, str, str]]:
    """(kind, language, code) of every marked block, in README order."""
    return [(m["kind"] or "", m["language"], m["code"]) for m in MARKED_BLOCK.finditer(README.read_text())]


@pytest.fixture(scope="module")
def make_run_server(tmp_path_factory):
    """migrate + bootstrap_demo on a fresh SQLite file, then the web server, with make run's environment."""
    var_dir = tmp_path_factory.mktemp("readme-var")
    port = free_port()
    # What make run gives its processes (DEBUG, HOST, PORT); nothing of the test run's own configuration.
    env = clean_env(DEBUG="1", HOST="127.0.0.1", PORT=str(port), SAGEINT_VAR_DIR=str(var_dir))
    prepared = subprocess.run(
        [
            PYTHON,
            "-c",
            "import django; django.setup(); from django.core.management import call_command as run; "
            "run('migrate', verbosity=0); run('bootstrap_demo', '--print-credentials', '--announce-url')",
        ],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "sageint.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    log_path = var_dir / "server.log"
    server = start(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        log_path=log_path,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 60, {"web": (server, log_path)})
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "banner": prepared.stdout}
    finally:
        stop_process_group(server)


class _Forms(HTMLParser):
    """The forms of a page: action, hidden and text fields, radio buttons and submit buttons with their labels."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._labelled: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": attrs.get("action") or "", "fields": {}, "radios": [], "buttons": []}
            )
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("type") == "radio":
            self._labelled = [attrs.get("name"), attrs.get("value"), ""]
            self.forms[-1]["radios"].append(self._labelled)
            if "checked" in attrs:  # sent as a browser sends it, unless changed
                self.forms[-1]["fields"][attrs["name"]] = attrs.get("value")
        elif tag == "input" and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "button":
            self._labelled = [attrs.get("name"), attrs.get("value"), ""]
            self.forms[-1]["buttons"].append(self._labelled)

    def handle_endtag(self, tag):
        if tag in ("label", "button"):
            self._labelled = None

    def handle_data(self, data):
        if self._labelled is not None:
            self._labelled[2] += data


def press(browser: requests.Session, page: requests.Response, button: str) -> requests.Response:
    """Submit the form holding the button labelled `button`, as it stands (checked radios included)."""
    for form in _Forms(page.text).forms:
        for name, value, label in form["buttons"]:
            if button in " ".join(label.split()):
                data = {**form["fields"], **({name: value} if name else {})}
                answer = browser.post(urljoin(page.url, form["action"] or page.url), data=data, timeout=30)
                assert answer.status_code == 200, answer.text[:2000]
                return answer
    raise AssertionError(f"no button {button!r} on {page.url}:\n{page.text[:3000]}")


def checked_choice(page: requests.Response) -> str:
    """The label of the radio button checked on the page."""
    form = next(form for form in _Forms(page.text).forms if form["radios"])
    name = form["radios"][0][0]
    return next(
        " ".join(label.split()) for _, value, label in form["radios"] if form["fields"].get(name) == value
    )


def connect_as_the_readme_says(link: str) -> str:
    browser = requests.Session()
    page = browser.get(link, timeout=30)
    assert page.status_code == 200, page.text[:2000]
    consent = press(browser, page, "Connect Sage Accounting for Ann Example")
    assert "Sam Sandbox" in checked_choice(consent)  # "keep Sam Sandbox"
    connected = press(browser, consent, "Allow")
    return " ".join(connected.text.split())


def run_shell(code: str, env: dict, state: Path) -> str:
    """Run `code` in bash in the checkout, starting from the environment the previous run exported."""
    script = f"set -euo pipefail\n[ -f {state} ] && source {state}\n{code}\nexport -p > {state}\n"
    ran = subprocess.run(
        ["bash", "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, (
        f"README example failed:\n{code}\n--- stdout\n{ran.stdout}\n--- stderr\n{ran.stderr}"
    )
    return ran.stdout


def test_the_readme_examples_run_as_written_against_make_run(make_run_server, tmp_path):
    examples = readme_examples()
    assert [kind for kind, _, _ in examples][:1] == ["connect"], "the examples start by connecting the user"
    state = tmp_path / "shell-state"
    outputs = []
    for kind, language, code in examples:
        if language == "python":
            code = f".venv/bin/python - <<'README_PYTHON'\n{code}README_PYTHON\n"
        output = run_shell(code, make_run_server["env"], state)
        outputs.append(output)
        if kind == "connect":
            link = output.split()[-1]
            assert link.startswith(f"{make_run_server['url']}/connect/sageaccounting/?user_token="), output
            page = connect_as_the_readme_says(link)
            assert "Connected" in page and "Sandbox Trading Ltd" in page, page[:3000]

    first_call, contacts, sdk_business, seed_curl, seed_sdk = outputs[:5]
    assert first_call.startswith("http")
    assert "Acme Widgets Ltd" in contacts and '"$items"' in contacts
    assert sdk_business.strip() == "Sandbox Trading Ltd"
    assert (
        '"PAID"' in seed_curl.splitlines()[-1] and '"outstanding_amount": "0.0' in seed_curl.splitlines()[-1]
    )
    assert seed_sdk.strip() == "PAID"
    assert len(examples) == 5, "a new runnable README block needs an assertion here"


def test_make_run_prints_how_to_make_the_first_call(make_run_server):
    banner = make_run_server["banner"]
    assert "DEBUG=1 .venv/bin/python manage.py user_token customer-42" in banner
    link = re.search(r"(\S+/connect/sageaccounting/\?user_token=\S+)", banner)
    assert link and link[1].startswith(make_run_server["url"]), banner
    # The printed link opens the connect page for customer-42 (signed with the development secret).
    page = requests.get(link[1], timeout=30)
    assert page.status_code == 200 and "Ann Example" in page.text
