"""Token calls to the proxy skip the browser's middleware.

A proxied call with `Authorization: Bearer <user token>` is answered by the proxy view straight from here: it
never reads a session, a CSRF cookie, a login or a flash message (the token wins over a session, see api/auth.py),
and those middlewares cost about as much CPU as the rest of sageint's own work on the call (bench/proxy_overhead.py
--phases). What still applies, because it sits before this one in MIDDLEWARE: the request id and its log line,
SecurityMiddleware (https redirect, HSTS, nosniff). The host check CommonMiddleware would make is made here.
django-prometheus does not see these calls; sageint's own families count them (sageint_proxy_calls_total and
sageint_proxy_call_duration_seconds). Session callers (no Authorization header) take the whole chain.
"""

from django.urls import Resolver404, resolve

from api import views

PROXY_PREFIX = "/api/v1/proxy/"


class TokenProxyCallMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(PROXY_PREFIX) and "HTTP_AUTHORIZATION" in request.META:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is not None and match.func is views.proxy_view:
                request.get_host()  # ALLOWED_HOSTS: a 400 for a host this site does not serve
                request.resolver_match = match
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)
