"""The demo world a newcomer logs into: one admin and one end user, created idempotently."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction


@dataclass(frozen=True)
class DemoAccount:
    username: str
    email: str
    password: str
    is_staff: bool
    created: bool


DEMO_ADMIN = ("admin", "admin@example.com")
DEMO_USER = ("demo", "demo@example.com")


@transaction.atomic
def ensure_demo_account(*, username: str, email: str, password: str, superuser: bool) -> DemoAccount:
    """Create the account if missing. An existing account keeps its password: a user may have changed it."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": superuser, "is_superuser": superuser}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return DemoAccount(username, email, password, superuser, created)


def ensure_demo_accounts() -> list[DemoAccount]:
    return [
        ensure_demo_account(
            username=DEMO_ADMIN[0], email=DEMO_ADMIN[1], password=settings.DEMO_ADMIN_PASSWORD, superuser=True
        ),
        ensure_demo_account(
            username=DEMO_USER[0], email=DEMO_USER[1], password=settings.DEMO_USER_PASSWORD, superuser=False
        ),
    ]
