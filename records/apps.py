from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Mirrored Sage records"

    def ready(self) -> None:
        from . import hooks  # noqa: F401  (connects the receivers: sync after connect, mirror gone on disconnect)
