"""Sending a webhook to a URL someone typed into the admin, without letting it reach inside our network (SSRF).

- Only http(s), no user:password@, and every address the host name resolves to must be a public one: no
  loopback, private, link-local (cloud metadata at 169.254.169.254), shared, reserved or multicast ranges,
  IPv4 hidden in IPv6 included. WEBHOOK_ALLOW_PRIVATE_TARGETS (development) lifts the address rule.
- The name is resolved ONCE, and the connection goes to the address that was checked: the socket is opened to
  the IP itself, with the name kept for the Host header and for TLS (SNI and certificate check). A DNS answer
  that changes between the check and the connection (DNS rebinding) therefore changes nothing.
- Redirects are never followed (a 3xx is a failed attempt), and no proxy from the environment is used.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

EXCERPT_BYTES = 1024


class TargetRefused(Exception):
    """The URL may not be called; the message says why (shown in the admin and the attempt log)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP the connection is made to
    path: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.scheme == "https" else 80
        return host if self.port == default_port else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str
    duration_ms: int


def check_url(url: str) -> Target:
    """Resolve and check `url`; raises TargetRefused. The Target holds the address to connect to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetRefused(f"The URL is not valid ({error}).") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("Only http:// and https:// URLs can receive webhooks.")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not hold a user name or password.")
    host = parts.hostname
    if not host:
        raise TargetRefused("The URL has no host name.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"The host name {host!r} could not be resolved.") from None
    # IPv4 first: a host with both is reached over IPv4, which every deployment has.
    addresses = sorted(dict.fromkeys(info[4][0] for info in infos), key=lambda address: ":" in address)
    if not addresses:
        raise TargetRefused(f"The host name {host!r} resolves to no address.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            reason = _not_public(address)
            if reason:
                raise TargetRefused(
                    f"{host} resolves to {address}, a {reason} address: webhooks only go to public addresses."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0], path=path)


def _not_public(address: str) -> str:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return reason
    return "" if ip.is_global else "non-public"


def post(target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once to the checked address. Raises urllib3's errors (timeouts, refused connections, TLS)."""
    common = {
        "host": target.address,
        "port": target.port,
        "timeout": urllib3.Timeout(
            connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS, read=settings.WEBHOOK_READ_TIMEOUT_SECONDS
        ),
        "retries": False,
        "maxsize": 1,
    }
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            **common,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        pool = urllib3.HTTPConnectionPool(**common)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=False)
        finally:
            response.release_conn()
        return Answer(
            status=response.status,
            excerpt=excerpt.decode("utf-8", errors="replace"),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    finally:
        pool.close()
