"""One rule for tests that need an outside service: skip locally when it is missing, fail when CI requires it."""

import pytest
from django.conf import settings


def require_service(available: bool, what: str) -> None:
    if available:
        return
    message = f"{what} is not available"
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"{message}, and REQUIRE_SERVICES=1 says it must be")
    pytest.skip(f"{message} (set REQUIRE_SERVICES=1 to make this a failure)")


def uses_postgresql() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"  # Django's backend or sageint's (sageint/postgresql)


def uses_redis_broker() -> bool:
    return settings.CELERY_BROKER_URL.startswith("redis")
