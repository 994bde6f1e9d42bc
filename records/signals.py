"""Signals the records app sends (other apps listen; records never imports them)."""

from django.dispatch import Signal

# Sent inside the transaction that saves a sync run's final status (succeeded or failed), with `sync_run`.
sync_run_finished = Signal()
