from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from api.openapi import register_paths
        from webhooks import receivers
        from webhooks.openapi import webhook_document

        receivers.connect_receivers()
        register_paths(webhook_document)
