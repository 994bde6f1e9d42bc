"""`runserver` (what `make run` starts), reading chunked request bodies: see sageint/request_bodies.py.

It extends whitenoise's runserver (static files served by WhiteNoise, as in production), so the `sageint` app
comes before `whitenoise.runserver_nostatic` in INSTALLED_APPS.
"""

from whitenoise.runserver_nostatic.management.commands.runserver import Command as WhiteNoiseRunserver

from sageint.request_bodies import ChunkedRequestsWSGIServer


class Command(WhiteNoiseRunserver):
    server_cls = ChunkedRequestsWSGIServer
