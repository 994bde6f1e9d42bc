"""A small HTTP client for a sageint deployment's proxy API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests

DEFAULT_TIMEOUT = 30.0


class UnsafePath(ValueError):
    """The Sage path would not reach the intended proxy URL (`..`, `.`, `//`, `\\`, `#`); nothing was sent."""


class Client:
    """Call Sage through sageint on behalf of the user the token names.

        client = Client("https://sageint.example.com", user_token)
        response = client.request("sageaccounting", "/contacts?email=a@b.c")
        response.raise_for_status()
        contacts = response.json()["$items"]

    The answer is a `requests.Response`: Sage's own status and body (errors included), or the proxy's JSON error
    `{"error": {"code", "message"}}` (statuses and codes in the deployment's /api/v1/openapi.json). One HTTP
    session is kept for connection reuse. Raises UnsafePath for a path that cannot be sent safely, and requests'
    own ConnectionError / Timeout when sageint itself cannot be reached or does not answer within `timeout`
    seconds (every call has one).
    """

    def __init__(self, base_url: str, user_token: str, *, timeout: float = DEFAULT_TIMEOUT, session=None):
        if not timeout or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds: a call must never wait forever")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {user_token}"

    def request(
        self,
        integration: str,
        path: str,
        method: str = "GET",
        json: Any = None,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """`path` is Sage's path relative to its API base, optionally with a query: `/contacts?email=a@b.c`."""
        path_only = path.split("?", 1)[0]
        # HTTP libraries collapse `..` before sending (and drop a #fragment), which would turn a bad path into a
        # request for another sageint URL; refuse it here, the server checks everything else.
        if (
            "#" in path
            or path_only.startswith("//")
            or "\\" in path_only
            or any(segment in (".", "..") for segment in path_only.split("/"))
        ):
            raise UnsafePath(f"Unsafe Sage path: {path!r}")
        url = f"{self.base_url}/api/v1/proxy/{integration}/{path.lstrip('/')}"
        return self.session.request(
            method.upper(),
            url,
            json=json,
            params=params,
            headers=dict(headers or {}),
            timeout=timeout or self.timeout,
            allow_redirects=False,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
