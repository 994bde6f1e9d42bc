"""Probes and the metrics scraper call the server directly: by IP (not a host in ALLOWED_HOSTS) and over plain
http behind a TLS-terminating proxy. Their paths are answered here, before host validation, the https redirect,
sessions and the per-request log line (a probe every few seconds would drown it)."""

from django.utils.module_loading import import_string

PROBE_VIEWS = {
    "/healthz": "health.views.healthz",
    "/readyz": "health.views.readyz",
    "/metrics": "metrics.views.metrics",
}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.views = {path: import_string(view) for path, view in PROBE_VIEWS.items()}

    def __call__(self, request):
        view = self.views.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
