"""sageint's own metric families (django-prometheus adds the HTTP, database and cache ones)."""

from prometheus_client import Counter, Histogram

# Sage answers in 100-300 ms; the buckets resolve that range and the retries/timeouts above it.
SAGE_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

proxy_calls = Counter(
    "sageint_proxy_calls",
    "Calls sent to Sage through the proxy (HTTP API and in-process SDK), by Sage's final status "
    "(or sageint's error when Sage gave none), method and source.",
    ["status", "method", "source"],
)
proxy_call_duration = Histogram(
    "sageint_proxy_call_duration_seconds",
    "Time of a proxied call to Sage, retries and refreshes included.",
    ["method"],
    buckets=SAGE_LATENCY_BUCKETS,
)
sage_throttled = Counter(
    "sageint_sage_throttled",
    "429 answers from Sage's API (each one, whether retried or returned to the caller).",
)
token_refreshes = Counter(
    "sageint_token_refreshes",
    "Access token refreshes: succeeded, failed (will be tried again) or reconnect_required (given up).",
    ["outcome"],
)
tasks = Counter(
    "sageint_tasks",
    "Celery tasks finished by the workers, by task name and outcome (succeeded, failed, retried).",
    ["task", "outcome"],
)
workflow_runs = Counter(
    "sageint_workflow_runs",
    "Workflow runs finished, by final status (succeeded, failed, cancelled).",
    ["status"],
)
sync_runs = Counter(
    "sageint_sync_runs",
    "Record syncs finished, by kind (full, incremental) and final status (succeeded, failed).",
    ["kind", "status"],
)
webhook_delivery_failures = Counter(
    "sageint_webhook_delivery_failures",
    "Failed webhook delivery attempts: retrying (another attempt is scheduled) or gave_up (the delivery failed "
    "for good).",
    ["outcome"],
)
