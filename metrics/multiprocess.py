"""Prometheus multiprocess mode: every web and worker process on a machine writes its counters to files in
SAGEINT_METRICS_DIR (PROMETHEUS_MULTIPROC_DIR), and /metrics adds them up, so a worker's numbers reach the same
endpoint as the web's. Files are named per host and process, so containers sharing the folder never collide."""

import glob
import os
import re
import socket

from django.conf import settings
from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"
# <type>_<pid>.db or gauge_<mode>_<pid>.db; our "pid" is host-pid.
_FILE = re.compile(r"^(?:[a-z]+_)+" + re.escape(_HOST) + r"-(\d+)\.db$")


def process_identifier(pid: int | None = None) -> str:
    return f"{_HOST}-{pid or os.getpid()}"


def use_process_identifier() -> None:
    """Name this process's files host-pid instead of pid; must run before the first metric is created."""
    # Settings export SAGEINT_METRICS_DIR as prometheus_client's PROMETHEUS_MULTIPROC_DIR; read the setting itself.
    if settings.SAGEINT_METRICS_DIR:
        values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)


def process_exited(pid: int, folder: str) -> None:
    """Drop the live gauges of a process that ended (its counters stay: totals must not go down)."""
    mark_process_dead(process_identifier(pid), folder)


def remove_files_of_ended_processes(folder: str) -> int:
    """At a server's start: delete this host's files whose process is gone (left by crashes and restarts)."""
    removed = 0
    for path in glob.glob(os.path.join(folder, "*.db")):
        match = _FILE.match(os.path.basename(path))
        if match and not _alive(int(match.group(1))):
            os.remove(path)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
