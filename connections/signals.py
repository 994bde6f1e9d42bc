"""Signals other apps listen to, so connections never imports them (arrows point one way)."""

from django.dispatch import Signal

# Sent with `end_user` and `connection` inside the transaction that saves a new or renewed connection (the
# OAuth callback). Receivers that start work should do it on commit, and must not raise.
connection_established = Signal()
