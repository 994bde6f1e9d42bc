from celery import shared_task

from api.request_log import prune_request_log


@shared_task(name="api.prune_request_log")
def prune_request_log_task() -> int:
    """Beat task (CELERY_BEAT_SCHEDULE in settings): drop request-log rows past SAGEINT_REQUEST_LOG_RETENTION_DAYS."""
    return prune_request_log()
