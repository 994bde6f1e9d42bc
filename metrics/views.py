"""/metrics in Prometheus' text format: every process's families (multiprocess mode) and the database-read ones.

Served only when protected or in development: with SAGEINT_METRICS_TOKEN set, callers must send
`Authorization: Bearer <token>`; SAGEINT_METRICS_ALLOWED_IPS narrows it to some addresses. Otherwise 404.
"""

import hmac
import ipaddress

from django.apps import apps
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from .collectors import ConnectionStates, SyncLag


def _refused(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _allowed_address(request) -> bool:
    if not settings.SAGEINT_METRICS_ALLOWED_IPS:
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.SAGEINT_METRICS_ALLOWED_IPS)


@never_cache
def metrics(request):
    token = settings.SAGEINT_METRICS_TOKEN
    if not token and not settings.DEBUG:
        return _refused(404, "not_found", "Metrics are off: set SAGEINT_METRICS_TOKEN to serve them.")
    if not _allowed_address(request):
        return _refused(403, "forbidden", "This address may not read the metrics.")
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return _refused(401, "unauthenticated", "Send Authorization: Bearer <SAGEINT_METRICS_TOKEN>.")
    from_database = CollectorRegistry()
    from_database.register(ConnectionStates())
    if apps.is_installed("records"):
        from_database.register(SyncLag())
    if settings.SAGEINT_METRICS_DIR:
        processes = CollectorRegistry()
        MultiProcessCollector(processes, path=str(settings.SAGEINT_METRICS_DIR))
    else:  # one process: its own registry
        processes = REGISTRY
    body = generate_latest(processes) + generate_latest(from_database)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
