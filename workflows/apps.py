from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self) -> None:
        from api.openapi import register_paths
        from workflows import triggers  # noqa: F401  (connects the on-connect receiver)
        from workflows.openapi import workflow_paths

        register_paths(workflow_paths)
