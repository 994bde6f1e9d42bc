"""Families read from the database when scraped (the same for every process, so not kept per process)."""

import logging

from django.db import DatabaseError
from django.db.models import Count
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
