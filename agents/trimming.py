"""What of Sage's answer a model gets: a projection of the fields a tool keeps, then a size cap.

Sage's records carry dozens of fields (links, `$path`s, base-currency copies of every amount); a model needs a
handful, and every byte costs context. The cap is the last guard: a page that is still too large loses items
from its end (the output says how many and how to get them) rather than reaching the model whole.
"""

from __future__ import annotations

import json
from typing import Any

TRUNCATION_NOTE = (
    "Output cut to fit the size cap: ask for a smaller page (items_per_page) or narrow the filters."
)


def project(value: Any, keep: tuple) -> Any:
    """Keep only the fields named in `keep` (names, or (name, nested keep) pairs), recursively through lists."""
    if isinstance(value, list):
        return [project(item, keep) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for item in keep:
        name, nested = (item, None) if isinstance(item, str) else item
        if name not in value:
            continue
        field = value[name]
        kept[name] = project(field, nested) if nested is not None and field is not None else field
    return kept


def size_of(output: Any) -> int:
    return len(json.dumps(output, ensure_ascii=False, separators=(",", ":")).encode())


def cap(output: dict, *, max_bytes: int) -> dict:
    """`output` if it fits in `max_bytes` of JSON; else with items dropped from the end of its longest list."""
    if size_of(output) <= max_bytes:
        return output
    lists = [(name, value) for name, value in output.items() if isinstance(value, list) and value]
    if lists:
        name, items = max(lists, key=lambda pair: size_of(pair[1]))
        capped = {**output, name: list(items), "truncated": {"omitted": 0, "note": TRUNCATION_NOTE}}
        # Binary search for the longest prefix that fits.
        low, high = 0, len(items)
        while low < high:
            middle = (low + high + 1) // 2
            capped[name] = items[:middle]
            capped["truncated"]["omitted"] = len(items) - middle
            if size_of(capped) <= max_bytes:
                low = middle
            else:
                high = middle - 1
        capped[name] = items[:low]
        capped["truncated"]["omitted"] = len(items) - low
        if size_of(capped) <= max_bytes:
            return capped
    # Nothing left to drop: long texts are shortened last of all.
    shortened = _shorten_strings(output, 200)
    shortened["truncated"] = {"note": TRUNCATION_NOTE + " Long texts were shortened to 200 characters."}
    return shortened


def _shorten_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if isinstance(value, list):
        return [_shorten_strings(item, limit) for item in value]
    if isinstance(value, dict):
        return {name: _shorten_strings(item, limit) for name, item in value.items()}
    return value
