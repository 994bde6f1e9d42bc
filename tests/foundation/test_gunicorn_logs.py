"""gunicorn's own lines (start, workers, signals; the access log when switched on) come out as the app's JSON
lines, once each, with the same redaction: gunicorn.conf.py's logconfig_dict, run for real."""

import json
import re
import time
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings

from tests.foundation.running import VENV, clean_env, free_port, start, stop_process_group, wait_for_http


def test_gunicorns_own_lines_are_json_like_the_apps(tmp_path):
    port = free_port()
    env = clean_env(
        DEBUG="0",
        SECRET_KEY="gunicorn-log-test-" + uuid.uuid4().hex,
        SAGEINT_ENCRYPTION_KEYS="c21va2UtdGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SAGEINT_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"http://127.0.0.1:{port}",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        WEB_THREADS="2",
    )
    log_path = tmp_path / "gunicorn.log"
    command = [str(VENV / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "--access-logfile", "-"]
    server = start(command, cwd=Path(settings.BASE_DIR), env=env, log_path=log_path)
    try:
        url = f"http://127.0.0.1:{port}/healthz?user_token=not-for-the-logs"
        assert wait_for_http(url, time.monotonic() + 60, {"gunicorn": (server, log_path)}) == 200
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200
    finally:
        stop_process_group(server)

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    messages = [(record["logger"], record["message"]) for record in records]
    error_log = [message for logger, message in messages if logger == "gunicorn.error"]
    assert any(message.startswith("Listening at: http://127.0.0.1") for message in error_log), lines
    assert any(message.startswith("Booting worker with pid") for message in error_log), lines
    assert any(message.startswith("Handling signal: term") for message in error_log), lines
    assert all({"time", "level", "request_id"} <= set(record) for record in records)
    # Each line once: gunicorn's own plain handlers are gone, nothing is written twice.
    assert len(error_log) == len(set(error_log))
    # gunicorn's plain format ("[2026-01-01 10:00:00 +0000] [123] [INFO] …") is gone.
    assert not [line for line in lines if re.match(r"\[\d{4}-\d\d-\d\d ", line)], lines
    access = [message for logger, message in messages if logger == "gunicorn.access"]
    assert access and all("GET /healthz?user_token=[redacted]" in message for message in access), access
    assert "not-for-the-logs" not in log_path.read_text()
