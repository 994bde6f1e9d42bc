"""Everything the processes write locally goes under var/ (SAGEINT_VAR_DIR), and each creates what it needs."""

import pytest
from celery.signals import beat_init
from django.conf import settings


class BeatService:
    """What beat_init receivers see of celery.beat.Service."""

    def __init__(self, scheduler_cls: str, schedule_filename: str):
        self.scheduler_cls = scheduler_cls
        self.schedule_filename = schedule_filename


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("filesystem"), reason="filesystem broker only")
def test_filesystem_transport_keeps_its_control_folder_under_var():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["control_folder"] == str(settings.VAR_DIR / "celery" / "control")
    for folder in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert options[folder].startswith(str(settings.VAR_DIR))


def test_a_file_based_beat_scheduler_gets_its_folder(tmp_path):
    schedule = tmp_path / "missing" / "beat-schedule"
    beat_init.send(sender=BeatService("celery.beat:PersistentScheduler", str(schedule)))
    assert schedule.parent.is_dir()


def test_the_database_scheduler_needs_no_folder(tmp_path):
    schedule = tmp_path / "missing" / "beat-schedule"
    beat_init.send(sender=BeatService("django_celery_beat.schedulers:DatabaseScheduler", str(schedule)))
    assert not schedule.parent.exists()
