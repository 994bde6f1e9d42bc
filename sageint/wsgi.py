import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")
django.setup(set_prefix=False)

# Django's handler, reading bodies sent without a Content-Length (chunked) too: see sageint/request_bodies.py.
from sageint.request_bodies import WSGIHandler  # noqa: E402

application = WSGIHandler()
