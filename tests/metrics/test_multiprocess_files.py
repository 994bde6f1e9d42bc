"""Per-process metric files: named per host and process, gauges dropped when a process ends, files of ended
processes removed when a server starts, never those of live ones or of other hosts."""

import os
import subprocess
import sys

from metrics import multiprocess


def test_files_are_named_per_host_and_process():
    assert multiprocess.process_identifier(1234).endswith("-1234")
    assert "_" not in multiprocess.process_identifier(1234)  # prometheus_client splits file names on "_"


def ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_starting_server_removes_only_its_hosts_files_of_ended_processes(tmp_path):
    gone, alive = multiprocess.process_identifier(ended_pid()), multiprocess.process_identifier(os.getpid())
    names = [
        f"counter_{gone}.db",
        f"histogram_{gone}.db",
        f"gauge_livesum_{gone}.db",
        f"counter_{alive}.db",
        "counter_other-host-1.db",  # another container sharing the folder: its pids are not ours to judge
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert multiprocess.remove_files_of_ended_processes(str(tmp_path)) == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names[3:])


def test_an_ended_process_keeps_its_counters_but_not_its_live_gauges(tmp_path):
    pid = ended_pid()
    identifier = multiprocess.process_identifier(pid)
    for name in (
        f"counter_{identifier}.db",
        f"gauge_livesum_{identifier}.db",
        f"gauge_liveall_{identifier}.db",
    ):
        (tmp_path / name).write_bytes(b"")
    multiprocess.process_exited(pid, str(tmp_path))
    assert [path.name for path in tmp_path.iterdir()] == [f"counter_{identifier}.db"]
