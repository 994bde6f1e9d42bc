"""Large Sage answers (PDFs, big pages) are passed on as they arrive, never held whole in memory: the proxy reads
at most BUFFERED_ANSWER_BYTES before answering, and the rest of Sage's body is read only as the caller reads.
Small answers are read whole, as before. Sage here is a real HTTP server on a local socket."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from api import views
from api.models import RequestLog
from connections import crypto
from connections.models import Connection, EndUser

pytestmark = pytest.mark.django_db

PDF_HEAD = b"%PDF-1.4\n"
SIZE = 3 * views.BUFFERED_ANSWER_BYTES


class GatedSage:
    """Answers a PDF of SIZE bytes: the first half at once, the rest only once the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.finished = threading.Event()
        self.body = PDF_HEAD + bytes(index % 251 for index in range(SIZE - len(PDF_HEAD)))
        gated = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                half = len(gated.body) // 2
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Disposition", 'attachment; filename="SI-1.pdf"')
                self.send_header("Content-Length", str(len(gated.body)))
                self.end_headers()
                try:
                    self.wfile.write(gated.body[:half])
                    self.wfile.flush()
                    gated.gate.wait(timeout=5)
                    self.wfile.write(gated.body[half:])
                    gated.finished.set()
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3.1"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gated_sage(settings):
    """The product's Sage API (development keys) is the gated server."""
    sage = GatedSage()
    settings.SAGE_DEV_CLIENT_ID = "dev-client"
    settings.SAGE_DEV_CLIENT_SECRET = "dev-client-secret-value"
    settings.SAGE_API_URL = sage.url
    yield sage
    sage.close()


def connected(sub: str) -> Connection:
    """A stored connection with a fresh access token: no refresh happens before the call."""
    return Connection.objects.create(
        end_user=EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id=sub),
        client_id="dev-client",
        business_id="business-1",
        businesses=[{"id": "business-1", "name": "Business One"}],
        access_token_encrypted=crypto.encrypt("access-token-value"),
        access_token_expires_at=timezone.now() + timedelta(minutes=5),
        refresh_token_encrypted=crypto.encrypt("refresh-token-value"),
        scopes="full_access",
    )


def test_a_large_pdf_is_passed_on_before_sage_has_sent_all_of_it(client, gated_sage, user_token_for):
    connected("pdf-reader")

    response = client.get(
        "/api/v1/proxy/sageaccounting/sales_invoices/abc",
        HTTP_ACCEPT="application/pdf",
        HTTP_AUTHORIZATION=f"Bearer {user_token_for('pdf-reader')}",
    )

    # The answer started while Sage still held back half of the PDF: nothing waited for the whole body.
    assert response.status_code == 200
    assert response.streaming
    assert not gated_sage.finished.is_set()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="SI-1.pdf"'
    assert response["Content-Length"] == str(SIZE)
    gated_sage.gate.set()
    assert b"".join(response.streaming_content) == gated_sage.body
    # Logged once the body was sent, as for any answer.
    assert RequestLog.objects.get().status_code == 200


def test_a_small_answer_is_read_whole_and_sent_with_its_length(client, connected_end_user, bearer_for):
    response = client.get(
        "/api/v1/proxy/sageaccounting/contacts?items_per_page=1", **bearer_for(connected_end_user)
    )

    assert response.status_code == 200
    assert not response.streaming
    assert int(response["Content-Length"]) == len(response.content)
