"""Fixtures of the agent tools tests; the proxy tests' fixtures (bearer_for, outgoing_requests) are reused."""

from tests.api.conftest import bearer_for, outgoing_requests, seeded_sandbox  # noqa: F401 (fixtures)
