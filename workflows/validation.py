"""Save-time checks of a workflow's steps: malformed placeholders, unknown steps, references to later steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workflows.variables import VariableError, check_references, variables_in

TEMPLATE_FIELDS = ("path", "query", "body")


@dataclass(frozen=True)
class StepDraft:
    key: str
    method: str
    path: str
    query: Any = None
    body: Any = None


def step_errors(steps: Sequence[StepDraft]) -> dict[int, dict[str, str]]:
    """{index of the step: {field: message}} for every template field that cannot work; {} when all can."""
    all_keys = [step.key for step in steps]
    errors: dict[int, dict[str, str]] = {}
    for index, step in enumerate(steps):
        if step.key in all_keys[:index]:
            errors.setdefault(index, {})["key"] = f"Another step already uses the key {step.key!r}."
        for field in TEMPLATE_FIELDS:
            template = getattr(step, field)
            try:
                found = variables_in(template)
                check_references(found, earlier_keys=all_keys[:index], all_keys=all_keys)
            except VariableError as error:
                errors.setdefault(index, {})[field] = error.message
        if step.query not in (None, "") and not isinstance(step.query, dict):
            errors.setdefault(index, {})["query"] = 'The query must be a JSON object, e.g. {"email": "…"}.'
        if step.method in ("GET", "DELETE") and step.body not in (None, ""):
            errors.setdefault(index, {})["body"] = f"A {step.method} request has no body; leave it empty."
    return errors
