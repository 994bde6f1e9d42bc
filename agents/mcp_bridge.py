"""Run one HTTP request through an ASGI app from a Django (WSGI) view: how /mcp is served beside the proxy.

The async side runs in asgiref's async_to_sync, which parks the request's own thread to run the app's
sync_to_async work: tool calls and token checks use that thread and its database connection, exactly like any
other view. The SDK's stateless session manager is started and stopped around the one request.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync


def asgi_scope(request, *, path: str) -> dict:
    meta = request.META
    headers = [
        (name[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in meta.items()
        if name.startswith("HTTP_")
    ]
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if meta.get(name):
            headers.append((name.replace("_", "-").lower().encode(), str(meta[name]).encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": meta.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": meta.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "server": (meta.get("SERVER_NAME", "localhost"), int(meta.get("SERVER_PORT") or 80)),
        "client": (meta.get("REMOTE_ADDR", ""), 0),
    }


def serve_once(server, app, scope: dict, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) of `app`'s answer to one request."""

    async def run() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        answer = {"status": 500, "headers": [], "body": bytearray()}
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        async with server.session_manager.run():
            await app(scope, receive, send)
        return answer["status"], answer["headers"], bytes(answer["body"])

    return async_to_sync(run)()
