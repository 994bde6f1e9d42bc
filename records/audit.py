"""The staff audit trail of the mirror: every staff view of a connection's records (who, which connection, when)."""

from __future__ import annotations

from collections.abc import Iterable

from .models import MirroredRecord, RecordView


def record_views(*, request, records: Iterable[MirroredRecord], what: str) -> int:
    """One row per connection (and business) whose records the page showed. `records` must carry
    `connection` (select_related), so this costs one INSERT whatever the page size."""
    seen = {}
    for record in records:
        key = (record.connection_id, record.business_id)
        if key not in seen:
            seen[key] = record.connection.end_user_id
    user = request.user
    RecordView.objects.bulk_create(
        [
            RecordView(
                staff_user=user,
                staff_username=user.get_username(),
                end_user_id=end_user_id,
                connection_id_viewed=connection_id,
                business_id=business_id,
                what=what[:255],
            )
            for (connection_id, business_id), end_user_id in seen.items()
        ]
    )
    return len(seen)
