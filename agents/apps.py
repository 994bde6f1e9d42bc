from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agent tools"

    def ready(self) -> None:
        from agents.openapi import tools_paths
        from api.openapi import register_paths

        register_paths(tools_paths)
