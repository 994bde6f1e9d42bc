"""The Celery app. Tasks live in each app's tasks.py and are thin wrappers around service functions."""

import os

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import beat_init, setup_logging
from kombu.utils.imports import symbol_by_name

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sageint.settings")

app = Celery("sageint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    # Workers and beat log like the web processes (settings.LOGGING: JSON lines with request ids, secrets
    # redacted) instead of Celery's own format.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@app.task(name="sageint.ping")
def ping(value: str = "pong") -> str:
    """A no-op round trip, used by health checks and tests to prove a worker is consuming."""
    return value


@app.on_after_configure.connect
def ensure_runtime_folders(sender, **kwargs) -> None:
    # kombu's filesystem transport needs its folders to exist in every process that sends or consumes.
    conf = sender.conf
    if str(conf.broker_url).startswith("filesystem"):
        for folder in (conf.broker_transport_options or {}).values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)
    if str(conf.result_backend).startswith("file://"):
        os.makedirs(str(conf.result_backend).removeprefix("file://"), exist_ok=True)


@beat_init.connect
def ensure_beat_schedule_folder(sender, **kwargs) -> None:
    # Beat keeps its schedule in the database by default; a file-based scheduler (-S celery.beat:PersistentScheduler)
    # needs its file's folder and will not create it.
    if issubclass(symbol_by_name(sender.scheduler_cls), PersistentScheduler):
        os.makedirs(os.path.dirname(os.path.abspath(sender.schedule_filename)), exist_ok=True)
