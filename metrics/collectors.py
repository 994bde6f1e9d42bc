"""Families read from the database when scraped (the same for every process, so not kept per process)."""

import logging

from django.db import DatabaseError
from django.db.models import Count, Max, Min
from prometheus_client.core import GaugeMetricFamily

from connections.models import Connection

logger = logging.getLogger(__name__)


class ConnectionStates:
    def collect(self):
        family = GaugeMetricFamily("sageint_connections", "Sage connections by state.", labels=["state"])
        try:
            counts = dict(Connection.objects.values_list("status").annotate(total=Count("pk")))
        except DatabaseError:
            # The processes' own families are still worth serving; readiness reports the database.
            logger.warning("sageint_connections left out: the database did not answer", exc_info=True)
            return
        for state in Connection.Status.values:
            family.add_metric([state], counts.get(state, 0))
        yield family


class SyncLag:
    """How far behind the mirror is: for active connections, the age of the oldest last successful sync."""

    def collect(self):
        from django.utils import timezone

        from records.models import SyncRun

        family = GaugeMetricFamily(
            "sageint_sync_lag_seconds",
            "Seconds since the last successful sync of the active connection synced longest ago (0: none yet).",
        )
        try:
            latest = (
                SyncRun.objects.filter(
                    status=SyncRun.Status.SUCCEEDED, connection__status=Connection.Status.ACTIVE
                )
                .values("connection")
                .annotate(last=Max("finished_at"))
                .aggregate(oldest=Min("last"))["oldest"]
            )
        except DatabaseError:
            logger.warning("sageint_sync_lag_seconds left out: the database did not answer", exc_info=True)
            return
        family.add_metric([], (timezone.now() - latest).total_seconds() if latest else 0)
        yield family
