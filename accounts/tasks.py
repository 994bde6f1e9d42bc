"""Celery tasks of the accounts app: thin wrappers (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(name="accounts.prune_expired_sessions")
def prune_expired_sessions() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does: nothing else ever removes them."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
