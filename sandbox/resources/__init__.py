"""Sage v3.1 accounting resources served by the sandbox under /api/v3.1/ (one module per resource)."""
