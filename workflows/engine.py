"""The engine: execute one claimed run, step after step, through the in-process proxy (connections.proxy).

Rules that keep a run's history true and its writes single:
- a step is marked "sending" (sent_at, committed) before its request leaves, and its outcome is committed before
  the next step starts; a crash in between leaves a step that recovery can judge (recovery.py);
- a write (POST/PUT/DELETE) is never sent again by the engine: when its outcome is unknown (timeout, Sage
  unreachable, a 5xx answer) the run fails as "outcome unknown", for a person to check;
- opt-in step retries only follow answers that prove Sage did nothing (429; a 401 after the client's own
  refresh-and-replay) and, for GET, 5xx answers and timeouts.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections import proxy
from connections.exceptions import SageintError, SageUnavailable
from connections.models import Connection
from connections.sage_client import sage_errors
from workflows import runs
from workflows.models import Run, StepRun
from workflows.variables import VariableError, render_path, render_value

logger = logging.getLogger(__name__)

# Indirection so tests count waits instead of sleeping.
sleep = time.sleep

OUTCOME_UNKNOWN = "outcome unknown"


class RunTakenOver(Exception):
    """Recovery took the run from this worker (it looked stalled); this worker must stop touching it."""


@dataclass
class StepOutcome:
    ok: bool
    error: str = ""
    outcome_unknown: bool = False


def execute_run(*, run_id: int) -> str:
    """Run a queued run to its end. Returns claimed/busy/gone (see runs.claim_run)."""
    run, state = runs.claim_run(run_id=run_id)
    if state != runs.CLAIMED:
        return state
    try:
        _execute(run)
    except RunTakenOver:
        logger.warning("Workflow run %s was taken over by recovery; this worker stops", run.pk)
    except Exception as error:
        # A bug of ours: the run must not stay "running"; the traceback goes to the log.
        logger.exception("Workflow run %s failed inside the engine", run.pk)
        runs.finish_run(run, status=Run.Status.FAILED, error=f"Internal error: {type(error).__name__}")
    return state


def user_fields(end_user) -> dict:
    """What `{{ user.… }}` can read: the end user and their connection's business, never a token."""
    fields: dict[str, Any] = {
        "id": end_user.pk,
        "external_id": end_user.external_id,
        "display_name": end_user.display_name,
        "kind": end_user.kind,
    }
    if end_user.user_id:
        fields["email"] = end_user.user.email
    connection = Connection.objects.filter(end_user=end_user).first()
    if connection is not None:
        fields.update(
            business_id=connection.business_id,
            business_name=connection.business_name,
            sage_user_email=connection.sage_user_email,
        )
    return fields


def step_answer(step_run: StepRun) -> dict:
    return {"status": step_run.response_status, "response": step_run.response_body}


def _execute(run: Run) -> None:
    context: dict[str, Any] = {"trigger": run.trigger_input, "user": user_fields(run.end_user), "steps": {}}
    step_runs = {step_run.key: step_run for step_run in run.step_runs.all()}
    for step in run.definition:
        step_run = step_runs[step["key"]]
        if step_run.status in (StepRun.Status.SUCCEEDED, StepRun.Status.FAILED, StepRun.Status.SKIPPED):
            # Done before a crash or reused from the run being retried: never sent again.
            context["steps"][step["key"]] = step_answer(step_run)
            continue
        if step_run.status == StepRun.Status.RUNNING and step_run.sent_at and step_run.is_write:
            _fail(run, f"{OUTCOME_UNKNOWN}: step {step['key']!r} ({step['method']}) may have reached Sage.")
            return
        outcome = _run_step(run, step_run, step, context)
        context["steps"][step["key"]] = step_answer(step_run)
        if not outcome.ok and (outcome.outcome_unknown or step["on_error"] == "stop"):
            _fail(run, f"Step {step['key']!r} failed: {outcome.error}")
            return
    runs.finish_run(run, status=Run.Status.SUCCEEDED)


def _fail(run: Run, error: str) -> None:
    runs.finish_run(run, status=Run.Status.FAILED, error=error)


def render_request(step: dict, context: dict) -> dict:
    request = {
        "method": step["method"],
        "path": render_path(step["path"], context),
        "query": render_value(step.get("query") or {}, context),
        "body": render_value(step["body"], context) if step.get("body") is not None else None,
    }
    if not isinstance(request["query"], dict):
        raise VariableError("The query must be a JSON object of parameter names to values.")
    return request


def _run_step(run: Run, step_run: StepRun, step: dict, context: dict) -> StepOutcome:
    step_run.started_at = step_run.started_at or timezone.now()
    try:
        request = render_request(step, context)
    except VariableError as error:
        return _record(step_run, ok=False, error=error.message, request=None)
    method, is_write = request["method"], step_run.is_write
    attempts_allowed = step["max_attempts"] if step.get("retry") else 1
    waited_ms = 0
    for attempt in range(1, attempts_allowed + 1):
        _mark_sending(run, step_run, request)
        started = time.perf_counter()
        response: requests.Response | None = None
        try:
            response = proxy.request(
                run.end_user,
                request["path"],
                method=method,
                json=request["body"],
                params={name: _query_value(value) for name, value in request["query"].items()} or None,
            )
        except SageUnavailable as error:  # SageTimeout included
            failure, retriable = str(error), not is_write
            if is_write:
                return _record(
                    step_run,
                    ok=False,
                    error=f"{OUTCOME_UNKNOWN}: {error} Check in Sage whether the {method} happened before "
                    "retrying.",
                    outcome_unknown=True,
                    attempts=attempt,
                    waited_ms=waited_ms + _elapsed_ms(started),
                )
        except SageintError as error:
            # Refused before anything was sent (not connected, reconnect needed, unsafe path, switched off).
            return _record(step_run, ok=False, error=str(error), attempts=attempt, waited_ms=waited_ms)
        waited_ms += _elapsed_ms(started)
        if response is not None:
            status = response.status_code
            if status < 400:
                return _record(step_run, ok=True, response=response, attempts=attempt, waited_ms=waited_ms)
            failure = _sage_failure(response)
            retriable = status in (429, 401) or (status >= 500 and not is_write)
            if status >= 500 and is_write:
                return _record(
                    step_run,
                    ok=False,
                    response=response,
                    error=f"{OUTCOME_UNKNOWN}: {failure}. Sage may have acted; check before retrying.",
                    outcome_unknown=True,
                    attempts=attempt,
                    waited_ms=waited_ms,
                )
        if not (retriable and attempt < attempts_allowed):
            return _record(
                step_run, ok=False, response=response, error=failure, attempts=attempt, waited_ms=waited_ms
            )
        sleep(_retry_wait(attempt, response))
        if not runs.beat(run):
            raise RunTakenOver()
    raise AssertionError("unreachable")


def _retry_wait(attempt: int, response: requests.Response | None) -> float:
    """Exponential backoff, or Sage's Retry-After when longer; never so long that the run would look stalled."""
    wait = settings.SAGEINT_WORKFLOW_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    if retry_after.strip().isdigit():
        wait = max(wait, float(retry_after))
    return min(wait, settings.SAGEINT_WORKFLOW_STALL_SECONDS / 2)


def _query_value(value: Any) -> Any:
    if isinstance(value, list):
        return [v if isinstance(v, str) else _json_text(v) for v in value]
    return value if isinstance(value, str) else _json_text(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _mark_sending(run: Run, step_run: StepRun, request: dict) -> None:
    """Commit "about to send" before the request leaves: after a crash it tells a write may have reached Sage.

    It only happens while this worker still holds the run, so a worker that lost it never sends.
    """
    now = timezone.now()
    with transaction.atomic():
        # The run's heartbeat and the step's mark in one commit (the claim check rides on the heartbeat).
        if not runs.beat(run, now=now):
            raise RunTakenOver()
        StepRun.objects.filter(pk=step_run.pk).update(
            status=StepRun.Status.RUNNING, request=request, sent_at=now, started_at=step_run.started_at
        )
    step_run.status, step_run.request, step_run.sent_at = StepRun.Status.RUNNING, request, now


def _sage_failure(response: requests.Response) -> str:
    errors = sage_errors(response)
    message = str((errors[0] if errors else {}).get("$message") or "").strip()
    if message == f"HTTP {response.status_code}":  # no message of Sage's, only the status restated
        message = ""
    return f"Sage answered {response.status_code}" + (f": {message}" if message else "")


def _record(
    step_run: StepRun,
    *,
    ok: bool,
    request: dict | bool | None = False,
    response: requests.Response | None = None,
    error: str = "",
    outcome_unknown: bool = False,
    attempts: int = 0,
    waited_ms: int = 0,
) -> StepOutcome:
    """Commit the step's outcome (before the engine moves on)."""
    if request is not False:
        step_run.request = request
    step_run.status = StepRun.Status.SUCCEEDED if ok else StepRun.Status.FAILED
    step_run.error = error[:5000]
    step_run.attempts = attempts
    step_run.duration_ms = waited_ms
    step_run.finished_at = timezone.now()
    if response is not None:
        step_run.response_status = response.status_code
        step_run.response_body, step_run.response_truncated = _kept_body(response)
    step_run.save(
        update_fields=[
            "request",
            "status",
            "error",
            "attempts",
            "duration_ms",
            "started_at",
            "finished_at",
            "response_status",
            "response_body",
            "response_truncated",
        ]
    )
    return StepOutcome(ok=ok, error=error, outcome_unknown=outcome_unknown)


def _kept_body(response: requests.Response) -> tuple[Any, bool]:
    """Sage's answer as JSON (text when it is not), capped at SAGEINT_WORKFLOW_MAX_RESPONSE_BYTES."""
    limit = settings.SAGEINT_WORKFLOW_MAX_RESPONSE_BYTES
    content = response.content or b""
    if len(content) > limit:
        return {
            "$truncated": f"Sage's answer was {len(content)} bytes; only answers up to {limit} are kept."
        }, True
    if not content:
        return None, False
    try:
        return response.json(), False
    except ValueError:
        return content.decode("utf-8", errors="replace"), False
