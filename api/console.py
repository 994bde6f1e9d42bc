"""The admin API console: one call to Sage for a chosen connection, sent by a staff member through the proxy.

It goes through connections.proxy.request, the service the HTTP proxy uses, so the path check, the Sage client's
refresh and retry rules and the request log are the same as for any proxied call; the log row names the staff
account. What comes back is made for reading: status, the headers the proxy passes on, and the body formatted.
No token is ever part of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import requests

from api.errors import status_and_code
from api.models import RequestLog
from api.views import ANSWER_CHUNK_BYTES, BUFFERED_ANSWER_BYTES, PASSED_RESPONSE_HEADERS, read_up_to
from connections import proxy
from connections.exceptions import SageintError
from connections.models import Connection

# The console's own permission: seeing connections (or the request log) is not enough to act in a user's books.
PERMISSION = "api.use_api_console"
WRITE_METHODS = ("POST", "PUT", "DELETE")
METHODS = ("GET", *WRITE_METHODS)
SHOWN_HEADERS = ("Content-Type", *PASSED_RESPONSE_HEADERS)


@dataclass(frozen=True)
class ConsoleAnswer:
    """What the console shows of one call: Sage's answer, or sageint's own error when Sage gave none."""

    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    note: str = ""  # why the body is not shown whole (binary, cut short)
    error_code: str = ""
    error_message: str = ""


def send(
    *, connection: Connection, method: str, path: str, body: bytes | None, staff_username: str
) -> ConsoleAnswer:
    """Send the call for the connection's end user and describe the answer. Domain errors become an answer too."""
    try:
        response = proxy.request(
            connection.end_user,
            path,
            method=method,
            data=body,
            stream=True,  # read at most BUFFERED_ANSWER_BYTES of a large answer (a PDF, a big page)
            source=RequestLog.Source.CONSOLE,
            staff_username=staff_username,
        )
    except SageintError as error:
        status, code = status_and_code(error) or (None, type(error).__name__)
        return ConsoleAnswer(status=status, error_code=code, error_message=str(error))
    try:
        head, complete = read_up_to(response.iter_content(ANSWER_CHUNK_BYTES), BUFFERED_ANSWER_BYTES)
    except requests.RequestException:
        return ConsoleAnswer(
            status=response.status_code,
            headers=_shown_headers(response),
            note="Sage's answer broke off before it was complete.",
        )
    finally:
        response.close()
    body, note = _readable(b"".join(head)[:BUFFERED_ANSWER_BYTES], response.headers.get("Content-Type", ""))
    if not complete:
        note = f"Only the first {BUFFERED_ANSWER_BYTES // 1024} KiB are shown. " + note
    return ConsoleAnswer(
        status=response.status_code, headers=_shown_headers(response), body=body, note=note.strip()
    )


def _shown_headers(response) -> list[tuple[str, str]]:
    shown = [(name, response.headers[name]) for name in SHOWN_HEADERS if name in response.headers]
    attempts = getattr(response, "sageint_attempts", None)
    if attempts is not None:
        shown.append(("X-Sageint-Attempts", str(attempts)))
    return shown


def _readable(content: bytes, content_type: str) -> tuple[str, str]:
    """The body as text to show (JSON indented), and a note when it cannot be shown as it is."""
    if not content:
        return "", ""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.dumps(json.loads(content), indent=2, ensure_ascii=False), ""
        except ValueError:
            pass  # cut short or not JSON after all: shown as text below
    if media_type.startswith("text/") or media_type.endswith(("json", "xml")) or not media_type:
        return content.decode("utf-8", errors="replace"), ""
    return "", f"{len(content)} bytes of {media_type}, not shown."
