"""The `{{ }}` variables of workflow steps: parse, validate and resolve them over plain JSON data.

Evaluation is data-only. A placeholder is a dotted path (`steps.find_contact.response.$items.0.id`) walked
through `dict` keys and `list` indexes only, never attributes or methods, so `response.items` is the key "items"
and `__class__` is refused by name. Three places, three renderings:

- a JSON string that is exactly one placeholder is replaced by the value itself, keeping its JSON type (a number
  stays a number, an object an object);
- a placeholder inside a longer string is interpolated (strings as they are, anything else as compact JSON);
- inside a Sage path it is URL-encoded as one segment (or one query value after `?`), so a value can never
  add a `/`, a `?` or a `..` of its own; the proxy's path check then refuses anything left encoded.

Everything is bounded: template and data depth, the number of placeholders, the length of a path, and the
size of what a rendering produces. Errors are `VariableError` with a message that names the variable and
says what was there instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

ROOTS = ("trigger", "user", "steps")
STEP_FIELDS = ("response", "status")
MAX_DEPTH = 20  # nesting of a template or of the data given to a run
MAX_PLACEHOLDERS = 200
MAX_NAME_PARTS = 32
MAX_RENDERED_BYTES = 1024 * 1024
MAX_INPUT_BYTES = 256 * 1024
MAX_LISTED = 12  # how many available names an error message lists

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME_PART = re.compile(r"[A-Za-z0-9_$-]+")
_WHOLE = re.compile(r"\s*\{\{(.*?)\}\}\s*", re.DOTALL)


class VariableError(ValueError):
    """A template or a variable could not be used; the message is safe to show and names the variable."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Variable:
    """One parsed placeholder: `steps.create_invoice.response.id` → parts ("steps", "create_invoice", ...)."""

    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        return ".".join(self.parts)

    @property
    def step_key(self) -> str | None:
        return self.parts[1] if self.parts[0] == "steps" else None

    def __str__(self) -> str:
        return "{{ " + self.name + " }}"


def parse_variable(text: str) -> Variable:
    """`" steps.a.response.$items.0 "` → Variable; anything but a dotted data path is refused."""
    shown = "{{" + text[:60] + "}}"
    name = text.strip()
    if not name:
        raise VariableError(f"{shown} is empty: write a variable such as {{{{ trigger.email }}}}.")
    parts = tuple(name.split("."))
    if len(parts) > MAX_NAME_PARTS:
        raise VariableError(f"{shown} has more than {MAX_NAME_PARTS} parts.")
    for part in parts:
        if not _NAME_PART.fullmatch(part):
            raise VariableError(
                f"{shown} is not a variable: use names of letters, digits, '_', '-' and '$' joined by dots "
                "(no spaces, brackets, quotes, calls or filters)."
            )
        if part.startswith("__"):
            raise VariableError(f"{shown} uses the name {part!r}: names starting with '__' are not allowed.")
    if parts[0] not in ROOTS:
        raise VariableError(f"{shown} must start with trigger., user. or steps. (not {parts[0]!r}).")
    if parts[0] == "steps":
        if len(parts) < 3:
            raise VariableError(f"{shown}: write steps.<step key>.response… or steps.<step key>.status.")
        if parts[2] not in STEP_FIELDS:
            raise VariableError(
                f"{shown}: after the step key comes 'response' or 'status', not {parts[2]!r}."
            )
    elif len(parts) < 2 and parts[0] != "trigger":
        raise VariableError(f"{shown}: name a field, e.g. {{{{ user.external_id }}}}.")
    return Variable(parts)


def variables_in(template: Any, *, _depth: int = 0) -> list[Variable]:
    """Every placeholder of a template (a string, or JSON holding strings), refusing malformed ones."""
    if _depth > MAX_DEPTH:
        raise VariableError(f"The template is nested deeper than {MAX_DEPTH} levels.")
    found: list[Variable] = []
    if isinstance(template, str):
        for match in PLACEHOLDER.finditer(template):
            found.append(parse_variable(match.group(1)))
        rest = PLACEHOLDER.sub("", template)
        if "{{" in rest or "}}" in rest:
            raise VariableError("A '{{' has no matching '}}' (or a '}}' no '{{').")
    elif isinstance(template, dict):
        for key, value in template.items():
            if "{{" in str(key):
                raise VariableError(f"Variables are not allowed in object keys ({str(key)[:40]!r}).")
            found.extend(variables_in(value, _depth=_depth + 1))
    elif isinstance(template, list):
        for value in template:
            found.extend(variables_in(value, _depth=_depth + 1))
    if len(found) > MAX_PLACEHOLDERS:
        raise VariableError(f"A template may hold at most {MAX_PLACEHOLDERS} variables.")
    return found


def check_references(variables: Iterable[Variable], *, earlier_keys: list[str], all_keys: list[str]) -> None:
    """Refuse references to unknown steps and to this or later steps (their answers do not exist yet)."""
    for variable in variables:
        key = variable.step_key
        if key is None or key in earlier_keys:
            continue
        if key in all_keys:
            raise VariableError(
                f"{variable} refers to step {key!r}, which runs at or after this one; only earlier steps "
                f"can be used ({_listing(earlier_keys) or 'none'})."
            )
        raise VariableError(
            f"{variable} refers to an unknown step {key!r}; earlier steps: {_listing(earlier_keys) or 'none'}."
        )


def check_data(value: Any, *, what: str) -> None:
    """Data given to a run (trigger input) must be plain JSON, of bounded depth and size."""
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise VariableError(f"The {what} is not plain JSON: {error}.") from None
    except RecursionError:
        raise VariableError(f"The {what} is nested deeper than {MAX_DEPTH} levels.") from None
    if len(encoded.encode()) > MAX_INPUT_BYTES:
        raise VariableError(f"The {what} is larger than {MAX_INPUT_BYTES} bytes.")
    if _depth_of(value) > MAX_DEPTH:
        raise VariableError(f"The {what} is nested deeper than {MAX_DEPTH} levels.")


def _depth_of(value: Any) -> int:
    # Iterative, so hostile nesting cannot exhaust the stack.
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return deepest


# --- resolving ------------------------------------------------------------------------------------------------


def lookup(variable: Variable, context: dict) -> Any:
    """The value at the variable's path in `context` ({"trigger": …, "user": …, "steps": {key: {...}}})."""
    current: Any = context
    walked: list[str] = []
    for part in variable.parts:
        if isinstance(current, dict):
            if part not in current:
                where = ".".join(walked) or "the run"
                if walked == ["steps"]:
                    raise VariableError(
                        f"{variable} is missing: step {part!r} has no answer in this run (steps with "
                        f"answers: {_listing(current) or 'none'})."
                    )
                raise VariableError(
                    f"{variable} is missing: {where} has no {part!r}; available: "
                    f"{_listing(current) or 'nothing'}."
                )
            current = current[part]
        elif isinstance(current, list):
            if not part.isdigit():
                raise VariableError(
                    f"{variable} is missing: {'.'.join(walked)} is a list of {len(current)}; use an index "
                    f"(0 to {len(current) - 1}), not {part!r}."
                    if current
                    else f"{variable} is missing: {'.'.join(walked)} is an empty list."
                )
            index = int(part)
            if index >= len(current):
                raise VariableError(
                    f"{variable} is missing: {'.'.join(walked)} has {len(current)} item(s), no index {index}."
                )
            current = current[index]
        else:
            raise VariableError(
                f"{variable} is missing: {'.'.join(walked)} is {_kind(current)}, which has no {part!r}."
            )
        walked.append(part)
    return current


def render_value(template: Any, context: dict) -> Any:
    """A JSON template (step body or query) with its placeholders replaced; the result's size is capped."""
    rendered = _render(template, context, depth=0)
    size = len(json.dumps(rendered).encode())
    if size > MAX_RENDERED_BYTES:
        raise VariableError(f"The rendered body is {size} bytes; the limit is {MAX_RENDERED_BYTES}.")
    return rendered


def render_path(template: str, context: dict) -> str:
    """A Sage path with each placeholder URL-encoded as one segment (or one query value after `?`)."""
    variables_in(template)
    rendered = PLACEHOLDER.sub(lambda match: _segment(match, context), template)
    if len(rendered) > 4000:
        raise VariableError("The rendered path is longer than 4000 characters.")
    return rendered


def _segment(match: re.Match, context: dict) -> str:
    variable = parse_variable(match.group(1))
    value = lookup(variable, context)
    if isinstance(value, dict | list) or value is None:
        raise VariableError(f"{variable} is {_kind(value)}; a path needs a text or a number.")
    return quote(_as_text(value), safe="")


def _render(template: Any, context: dict, *, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise VariableError(f"The template is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(template, str):
        if "{{" not in template and "}}" not in template:
            return template
        variables_in(template)  # refuses malformed placeholders and stray braces before anything is looked up
        whole = _WHOLE.fullmatch(template)
        if whole and "{{" not in whole.group(1):
            return lookup(parse_variable(whole.group(1)), context)
        return _interpolate(template, context)
    if isinstance(template, dict):
        return {key: _render(value, context, depth=depth + 1) for key, value in template.items()}
    if isinstance(template, list):
        return [_render(value, context, depth=depth + 1) for value in template]
    return template


def _interpolate(template: str, context: dict) -> str:
    pieces, total, position = [], 0, 0
    for match in PLACEHOLDER.finditer(template):
        text = _as_text(lookup(parse_variable(match.group(1)), context))
        pieces.extend([template[position : match.start()], text])
        total += len(text)
        if total > MAX_RENDERED_BYTES:
            raise VariableError(f"The rendered text would be larger than {MAX_RENDERED_BYTES} bytes.")
        position = match.end()
    pieces.append(template[position:])
    return "".join(pieces)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a text", bool: "a boolean"}.get(type(value), "a number")


def _listing(names: Iterable) -> str:
    names = [str(name) for name in names]
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def field_paths(value: Any, *, prefix: str, limit: int = 200, depth: int = 0) -> list[str]:
    """Variable names reachable in sample data (for the builder's menu): dict keys and the first list item."""
    paths: list[str] = []
    if depth > 6 or len(paths) >= limit:
        return paths
    if isinstance(value, dict):
        for key, child in list(value.items())[:50]:
            name = f"{prefix}.{key}"
            paths.append(name)
            paths.extend(field_paths(child, prefix=name, limit=limit, depth=depth + 1))
    elif isinstance(value, list) and value:
        name = f"{prefix}.0"
        paths.append(name)
        paths.extend(field_paths(value[0], prefix=name, limit=limit, depth=depth + 1))
    return paths[:limit]
