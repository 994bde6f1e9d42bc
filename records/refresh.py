""" "Refresh from Sage": fetch one mirrored record live and store what Sage says now."""

from __future__ import annotations

from dataclasses import dataclass

from connections import proxy
from connections.exceptions import SageError, SageintError
from connections.models import Connection
from connections.sage_client import sage_errors

from . import mirror
from .models import MirroredRecord
from .resources import resource_for_model

BASE_KEYS = ("id", "displayed_as", "$path")


class RefreshRefused(SageintError):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Refreshed:
    outcome: str  # "updated", "unchanged" or "deleted"
    record: MirroredRecord | None


def refresh_record(*, record: MirroredRecord) -> Refreshed:
    """GET the record from Sage (outside any transaction) and upsert it; a 404 removes it from the mirror."""
    resource = resource_for_model(type(record))
    connection = Connection.objects.select_related("end_user").filter(pk=record.connection_id).first()
    if connection is None:
        raise RefreshRefused("This record's connection no longer exists.")
    if connection.business_id != record.business_id:
        raise RefreshRefused(
            f"The connection now works with {connection.business_name}, not {record.business_name}: Sage can "
            "only be asked about the business the user has chosen."
        )
    response = proxy.request(connection.end_user, record.sage_path, connection=connection)
    if response.status_code == 404:
        mirror.delete_items(
            connection=connection,
            business_id=record.business_id,
            resource=resource,
            sage_ids=[record.sage_id],
        )
        return Refreshed("deleted", None)
    if response.status_code >= 400:
        raise SageError(response.status_code, sage_errors(response))
    item = response.json()
    # Keep the shape a sync stores (the list attributes), so the next sync does not see a change that is none.
    wanted = set(BASE_KEYS) | set(resource.attributes)
    item = {key: value for key, value in item.items() if key in wanted}
    written = mirror.upsert_items(
        connection=connection,
        business_id=record.business_id,
        business_name=connection.business_name,
        resource=resource,
        items=[item],
    )
    record = type(record).objects.get(pk=record.pk)
    return Refreshed("updated" if written.updated or written.created else "unchanged", record)
