"""The production web server: `gunicorn -c gunicorn.conf.py sageint.wsgi` (README, Procfile, Dockerfile).

Sized for I/O-bound proxying: a proxied call spends ~1 ms of CPU in sageint and 100-300 ms (up to the read
timeout) waiting on Sage, so each worker process runs many threads (gthread) and waiting callers do not queue.
Values come from sageint's settings (WEB_* in the README's configuration table); command-line flags still win.
"""

import os

from sageint import settings as sageint_settings

wsgi_app = "sageint.wsgi:application"
bind = [sageint_settings.WEB_BIND]
worker_class = "gthread"
workers = sageint_settings.WEB_WORKERS
threads = sageint_settings.WEB_THREADS
# gthread: the worker's heartbeat to the master, not a per-request limit (a slow Sage call never kills a worker).
timeout = 30
# On restart or stop, in-flight calls get as long as a Sage read may take to finish.
graceful_timeout = int(sageint_settings.SAGE_READ_TIMEOUT_SECONDS) + 10
keepalive = sageint_settings.WEB_KEEPALIVE_SECONDS
max_requests = sageint_settings.WEB_MAX_REQUESTS
max_requests_jitter = max_requests // 10
forwarded_allow_ips = sageint_settings.WEB_FORWARDED_ALLOW_IPS
# Containers often put /tmp on disk (overlayfs): the workers' heartbeat files belong in memory.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (gunicorn heartbeat files only)
# sageint logs one line per request itself (sageint.request: JSON, request id, path without its query string,
# which may hold a connect link's user_token or an OAuth code); gunicorn's access log would repeat it with them.
accesslog = None
# gunicorn's own lines (starting, workers booting and exiting, timeouts; the access log, if switched on with
# --access-logfile) in the app's format: JSON in production, with the same redaction of anything like a token.
# They carry no handler of their own and go to the root logger's, which Django's LOGGING gives the workers too,
# so each line is written once.
logconfig_dict = {
    **sageint_settings.LOGGING,
    "loggers": {
        **sageint_settings.LOGGING["loggers"],
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": True},
    },
}
# gunicorn's control socket lives in $HOME and would be shared by every server on the machine; not used here.
control_socket_disable = True


def on_starting(server):
    if sageint_settings.SAGEINT_METRICS_DIR:
        from metrics.multiprocess import remove_files_of_ended_processes

        remove_files_of_ended_processes(sageint_settings.SAGEINT_METRICS_DIR)


def child_exit(server, worker):
    if sageint_settings.SAGEINT_METRICS_DIR:
        from metrics.multiprocess import process_exited

        process_exited(worker.pid, sageint_settings.SAGEINT_METRICS_DIR)


def post_worker_init(worker):
    # Each web worker writes the request log from one thread, in batches (api/request_log.py says why). Only
    # when the app served is sageint (gunicorn also reads this file for other apps started from this folder).
    if _django_ready():
        from api.request_log import write_in_background

        write_in_background()


def worker_exit(server, worker):
    # A graceful stop or restart writes the rows still waiting.
    if _django_ready():
        from api.request_log import stop_writing_in_background

        stop_writing_in_background()


def _django_ready() -> bool:
    from django.apps import apps

    return apps.ready
