"""Request bodies sent without a Content-Length (`Transfer-Encoding: chunked`), on both servers sageint ships.

Django reads a WSGI body only up to CONTENT_LENGTH, and a chunked request has none, so its body reads as empty:
a Node client's form post to the sandbox's token endpoint looked like one without credentials (`invalid_client`),
and a proxied POST reached Sage without its body. Two pieces fix that:

- `WSGIHandler` (sageint/wsgi.py serves it): when the server says the input ends where the body ends
  (`wsgi.input_terminated`, the convention of gunicorn and mod_wsgi), a body without a Content-Length is read up
  to that end. Every reader bounds itself: `request.body` stops one byte past DATA_UPLOAD_MAX_MEMORY_SIZE and the
  proxy one byte past SAGEINT_PROXY_MAX_BODY_BYTES, so a chunked body is refused on its real size, never
  buffered whole first.
- `ChunkedRequestsWSGIServer` (the `runserver` of `make run`): Django's development server does not decode
  chunked framing at all and leaves the chunks in the socket, where the next request on a kept-alive connection
  would read them as its request line. This server decodes the body, marks the input terminated, and closes the
  connection after such a request instead of draining an unbounded body.
"""

from __future__ import annotations

import sys
from wsgiref import simple_server

from django.core.handlers.wsgi import LimitedStream, WSGIRequest
from django.core.handlers.wsgi import WSGIHandler as DjangoWSGIHandler
from django.core.servers.basehttp import ServerHandler, WSGIRequestHandler, WSGIServer
from django.http import UnreadablePostError

# A chunk-size line is a hex number with optional extensions; anything this long is not one.
MAX_CHUNK_LINE = 4096
MAX_TRAILER_LINES = 100


class TerminatedInputRequest(WSGIRequest):
    def __init__(self, environ):
        super().__init__(environ)
        if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            # No declared length, but the server ends the input with the body: read up to that end. Readers
            # bound themselves (see the module docstring), so no limit is needed here.
            self._stream = LimitedStream(environ["wsgi.input"], sys.maxsize)


class WSGIHandler(DjangoWSGIHandler):
    request_class = TerminatedInputRequest


def is_chunked(environ) -> bool:
    codings = [coding.strip().lower() for coding in environ.get("HTTP_TRANSFER_ENCODING", "").split(",")]
    return codings[-1:] == ["chunked"]


class ChunkedBody:
    """The body of a chunked HTTP/1.1 request, decoded from the raw socket file; EOF after the last chunk."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self._left_in_chunk = 0
        self._finished = False
        self._buffer = b""  # read ahead by readline()

    def read(self, size: int | None = -1, /) -> bytes:
        """Like a blocking file: `size` bytes unless the body ends first (Django relies on it)."""
        wanted = sys.maxsize if size is None or size < 0 else size
        data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        parts = [data]
        missing = wanted - len(data)
        while missing > 0 and (part := self._read_raw(min(missing, 1 << 16))):
            parts.append(part)
            missing -= len(part)
        return b"".join(parts)

    def readline(self, size: int | None = -1, /) -> bytes:
        limit = sys.maxsize if size is None or size < 0 else size
        while b"\n" not in self._buffer and len(self._buffer) < limit:
            more = self._read_raw(min(1 << 12, limit - len(self._buffer)))
            if not more:
                break
            self._buffer += more
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        end = min(end, limit)
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def _read_raw(self, size: int) -> bytes:
        """Up to `size` bytes of chunk data (fewer at a chunk's end); b"" once the last chunk was read."""
        if self._finished or size == 0:
            return b""
        if self._left_in_chunk == 0:
            self._left_in_chunk = self._next_chunk_size()
            if self._left_in_chunk == 0:
                self._skip_trailers()
                self._finished = True
                return b""
        data = self._raw.read(min(size, self._left_in_chunk))
        if not data:
            raise UnreadablePostError("The connection closed in the middle of a chunked request body.")
        self._left_in_chunk -= len(data)
        if self._left_in_chunk == 0 and self._raw.readline(MAX_CHUNK_LINE) not in (b"\r\n", b"\n"):
            raise UnreadablePostError("A chunk of the request body is not followed by CRLF.")
        return data

    def _next_chunk_size(self) -> int:
        line = self._raw.readline(MAX_CHUNK_LINE + 1)
        size_text = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            raise UnreadablePostError("The chunked request body has a malformed chunk-size line.")
        return int(size_text, 16)

    def _skip_trailers(self) -> None:
        for _ in range(MAX_TRAILER_LINES):
            if self._raw.readline(MAX_CHUNK_LINE) in (b"\r\n", b"\n", b""):
                return
        raise UnreadablePostError("The chunked request body has too many trailer lines.")


class _ChunkedServerHandler(ServerHandler):
    def __init__(self, stdin, stdout, stderr, environ, **kwargs):
        self.chunked = is_chunked(environ)
        if not self.chunked:
            super().__init__(stdin, stdout, stderr, environ, **kwargs)
            return
        # RFC 9112 §6.3: Transfer-Encoding overrides a Content-Length sent beside it.
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
        # Past Django's ServerHandler, which would wrap the input in a zero-length stream (no Content-Length).
        simple_server.ServerHandler.__init__(self, ChunkedBody(stdin), stdout, stderr, environ, **kwargs)

    def cleanup_headers(self):
        super().cleanup_headers()
        if self.chunked:
            # What the application left unread is still in the socket: never read the next request from there.
            self.headers["Connection"] = "close"
            self.request_handler.close_connection = True

    def close(self):
        if self.chunked:
            simple_server.ServerHandler.close(self)  # no draining: the connection closes instead
        else:
            super().close()


class _ChunkedRequestHandler(WSGIRequestHandler):
    def handle_one_request(self):
        """Django's WSGIRequestHandler.handle_one_request, with the chunk-decoding ServerHandler."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ChunkedServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        handler.run(self.server.get_app())


class ChunkedRequestsWSGIServer(WSGIServer):
    """Django's development server, reading chunked request bodies (see the module docstring)."""

    def __init__(self, server_address, handler_class=WSGIRequestHandler, *args, **kwargs):
        if handler_class is WSGIRequestHandler:
            handler_class = _ChunkedRequestHandler
        super().__init__(server_address, handler_class, *args, **kwargs)
