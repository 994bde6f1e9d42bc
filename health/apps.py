from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = "Health"

    def ready(self) -> None:
        from celery.signals import after_task_publish

        from . import heartbeats

        # Beat is the only process that publishes the heartbeat task: each publish is beat's proof of life.
        after_task_publish.connect(heartbeats.record_beat_publish, dispatch_uid="health.beat_publish")
