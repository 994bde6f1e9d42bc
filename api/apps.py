from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Proxy API"

    def ready(self) -> None:
        from api.request_log import record_finished_call
        from connections.proxy import call_finished

        call_finished.connect(record_finished_call, dispatch_uid="api.request_log")

        from api.connect_sessions_openapi import connect_session_paths
        from api.openapi import register_paths

        register_paths(connect_session_paths)
