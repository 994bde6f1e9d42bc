from django.apps import AppConfig, apps


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from . import multiprocess

        # Before any metric exists (this app is listed before django_prometheus).
        multiprocess.use_process_identifier()

        from celery import signals as celery_signals
        from django.conf import settings
        from django.db.models.signals import post_save

        from connections import http_session
        from connections.models import ConnectionEvent
        from connections.proxy import call_finished

        from . import listeners

        call_finished.connect(listeners.count_proxied_call, dispatch_uid="metrics.proxied_call")
        post_save.connect(
            listeners.count_connection_event, sender=ConnectionEvent, dispatch_uid="metrics.connection_event"
        )
        celery_signals.task_success.connect(listeners.task_succeeded, dispatch_uid="metrics.task_succeeded")
        celery_signals.task_failure.connect(listeners.task_failed, dispatch_uid="metrics.task_failed")
        celery_signals.task_retry.connect(listeners.task_retried, dispatch_uid="metrics.task_retried")
        if settings.SAGEINT_METRICS_DIR:
            # Celery's pool processes, as gunicorn.conf.py does for the web's workers.
            celery_signals.worker_init.connect(
                listeners.forget_ended_processes, dispatch_uid="metrics.worker_init"
            )
            celery_signals.worker_process_shutdown.connect(
                listeners.worker_process_ended, dispatch_uid="metrics.worker_ended"
            )
        # Families of features that exist in this installation only.
        if apps.is_installed("workflows"):
            from workflows.signals import workflow_run_finished

            workflow_run_finished.connect(listeners.count_workflow_run, dispatch_uid="metrics.workflow_run")
        if apps.is_installed("records"):
            from records.signals import sync_run_finished

            sync_run_finished.connect(listeners.count_sync_run, dispatch_uid="metrics.sync_run")
        if apps.is_installed("webhooks"):
            from webhooks.delivery import attempt_failed

            attempt_failed.connect(listeners.count_webhook_failure, dispatch_uid="metrics.webhook_failure")
        # Every answer of the one Sage session (proxy, sync, workflows…), retried attempts included.
        hooks = http_session.shared_session().hooks["response"]
        if listeners.count_throttled_answers not in hooks:
            hooks.append(listeners.count_throttled_answers)
