"""Webhook URLs never reach inside the network: private targets are refused before anything is sent, a DNS name
is resolved once and the checked address is the one connected to, redirects are not followed."""

import socket

import pytest

from webhooks import delivery, safe_http
from webhooks.events import emit
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    return settings


@pytest.fixture
def dns(monkeypatch):
    """Answer name lookups from a table (a list of answers per name, the last repeating); count lookups."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://127.5.6.7:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://172.16.5.4/hook", "private"),
        ("http://[fd00::1]/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://100.64.0.1/hook", "non-public"),
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
    ],
)
def test_private_addresses_are_refused(strict, url, reason):
    with pytest.raises(safe_http.TargetRefused, match=reason):
        safe_http.check_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/hook", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("http://user:pw@example.com/hook", "user name or password"),
        ("http:///hook", "no host name"),
        ("http://example.com:99999/hook", "not valid"),
    ],
)
def test_malformed_urls_are_refused(strict, url, message):
    with pytest.raises(safe_http.TargetRefused, match=message):
        safe_http.check_url(url)


def test_names_resolving_to_loopback_are_refused(strict, dns):
    answers, _ = dns
    answers["hooks.customer.example"] = ["127.0.0.1"]
    answers["v6.customer.example"] = ["::1"]

    for host in ("hooks.customer.example", "v6.customer.example", "localhost"):
        with pytest.raises(safe_http.TargetRefused, match="loopback"):
            safe_http.check_url(f"https://{host}/hook")


def test_public_names_pass_and_are_pinned_to_the_checked_address(strict, dns):
    answers, lookups = dns
    answers["hooks.customer.example"] = ["93.184.216.34"]

    target = safe_http.check_url("https://hooks.customer.example:8443/in?x=1")

    assert target.address == "93.184.216.34"
    assert target.host_header == "hooks.customer.example:8443"
    assert target.path == "/in?x=1"
    assert lookups == ["hooks.customer.example"]


def test_dns_rebinding_cannot_move_the_connection(settings, dns, receiver, make_endpoint):
    """The first answer is checked and connected to; a second, different answer is never asked for."""
    answers, lookups = dns
    answers["rebind.customer.example"] = ["127.0.0.1", "10.255.255.1"]
    make_endpoint(f"http://rebind.customer.example:{receiver.port}/hooks")
    emit(event_type="connection.created", end_user_id="u", data={})

    attempt = delivery.deliver(delivery_id=Delivery.objects.get().pk)

    assert attempt.succeeded
    assert lookups == ["rebind.customer.example"]
    (received,) = receiver.received
    assert received.headers["Host"] == f"rebind.customer.example:{receiver.port}"


def test_a_refused_target_is_a_logged_failed_attempt_and_nothing_is_sent(
    strict, dns, make_endpoint, monkeypatch
):
    answers, _ = dns
    answers["turned-internal.example"] = ["10.0.0.5"]
    # Saved while it was public; now its name points inside.
    make_endpoint("https://turned-internal.example/hooks")
    emit(event_type="connection.created", end_user_id="u", data={})
    connects = []
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: connects.append(address))

    attempt = delivery.deliver(delivery_id=Delivery.objects.get().pk)

    assert not attempt.succeeded
    assert attempt.error.startswith(
        "Refused: turned-internal.example resolves to 10.0.0.5, a private address"
    )
    assert connects == []


def test_the_admin_refuses_a_private_url(strict, superuser_client):
    response = superuser_client.post(
        "/admin/webhooks/endpoint/add/",
        {"url": "http://169.254.169.254/latest", "event_types": ["connection.created"], "enabled": "on"},
    )

    assert response.status_code == 200
    assert "link-local address" in response.content.decode()
    assert not Delivery.objects.exists()
