"""The Celery app. Tasks live in each app's tasks.py and are thin wrappers around service functions."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")

app = Celery("sageint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="sageint.ping")
def ping(value: str = "pong") -> str:
    """A no-op round trip, used by health checks and tests to prove a worker is consuming."""
    return value


def _ensure_filesystem_broker_folders() -> None:
    # kombu's filesystem transport needs its folders to exist in every process that sends or consumes.
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)
        if settings.CELERY_RESULT_BACKEND.startswith("file://"):
            os.makedirs(settings.CELERY_RESULT_BACKEND.removeprefix("file://"), exist_ok=True)


_ensure_filesystem_broker_folders()
