"""Reading a Sage list answer so that each item keeps its own JSON text, as Sage sent it.

The mirror stores every item's JSON (`raw`). Encoding 200 decoded items again per page cost a sync about as much
as decoding the page (bench/sync_and_browse.py), for text Sage had just sent: read_list keeps each item's slice
of the answer, and the mirror's JSON columns store that slice as it is (StoreAsSent).
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring

ITEMS = "$items"
_decoder = json.JSONDecoder()
_space = re.compile(r"[ \t\n\r]*")


class SageItem(dict):
    """One item of a list answer, decoded, with `text`: its JSON exactly as it was in the answer."""

    text: str = ""


class StoreAsSent(json.JSONEncoder):
    """Encodes a SageItem as the text Sage sent, anything else as json.dumps would."""

    def encode(self, o) -> str:
        if isinstance(o, SageItem) and o.text:
            return o.text
        return super().encode(o)


def read_list_answer(response):
    """read_list of a requests response's body. A body that is not UTF-8 (JSON may be UTF-16 or UTF-32) is
    decoded as requests decodes it, its items without their texts. Raises ValueError when it is not JSON."""
    try:
        body = response.content.decode("utf-8-sig")  # a byte-order mark may come first: dropped
    except UnicodeDecodeError:
        return response.json()
    return read_list(body)


def read_list(body: str):
    """The decoded answer, as json.loads gives it, except that the items of a top-level `$items` array are
    SageItems. Raises ValueError when the body is not JSON."""
    try:
        return _envelope(body)
    except (ValueError, IndexError):
        return json.loads(body)  # not the usual envelope: decoded as it is (and ValueError if not JSON)


def _envelope(body: str) -> dict:
    index = _skip(body, 0)
    _expect(body, index, "{")
    envelope: dict = {}
    index = _skip(body, index + 1)
    if body[index] == "}":
        return _end(body, index, envelope)
    while True:
        _expect(body, index, '"')
        key, index = scanstring(body, index + 1)
        index = _skip(body, index)
        _expect(body, index, ":")
        index = _skip(body, index + 1)
        if key == ITEMS and body[index] == "[":
            envelope[key], index = _items(body, index)
        else:
            envelope[key], index = _decoder.raw_decode(body, index)
        index = _skip(body, index)
        if body[index] == "}":
            return _end(body, index, envelope)
        _expect(body, index, ",")
        index = _skip(body, index + 1)


def _items(body: str, index: int) -> tuple[list, int]:
    items: list = []
    index = _skip(body, index + 1)
    if body[index] == "]":
        return items, index + 1
    while True:
        start = index
        item, index = _decoder.raw_decode(body, index)
        if isinstance(item, dict):
            item = SageItem(item)
            item.text = body[start:index]
        items.append(item)
        index = _skip(body, index)
        if body[index] == "]":
            return items, index + 1
        _expect(body, index, ",")
        index = _skip(body, index + 1)


def _skip(body: str, index: int) -> int:
    return _space.match(body, index).end()


def _expect(body: str, index: int, character: str) -> None:
    if body[index] != character:
        raise ValueError(f"expected {character!r} at {index}")


def _end(body: str, index: int, envelope: dict) -> dict:
    if _skip(body, index + 1) != len(body):
        raise ValueError("extra data after the answer")
    return envelope
