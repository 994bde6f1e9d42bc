"""The sandbox's fixed Sage users and businesses: deterministic ids, safe to run any number of times.

The built-in development app is not seeded: it is read from settings at request time
(sandbox.oauth.find_app)."""

import uuid
from dataclasses import dataclass

from django.db import transaction

from sandbox.models import Business, BusinessMembership, SandboxUser

# Fixed namespace so every install gives the same ids (handy in docs, tests and bookmarks).
ID_NAMESPACE = uuid.UUID("5a6e0b1c-2d3e-4f50-8a6b-7c8d9e0f1a2b")


def fixed_id(name: str) -> str:
    return uuid.uuid5(ID_NAMESPACE, name).hex


@dataclass(frozen=True)
class BusinessSpec:
    key: str
    name: str
    country_code: str
    city: str
    postal_code: str
    address_line_1: str
    subscription_active: bool = True


@dataclass(frozen=True)
class UserSpec:
    key: str
    first_name: str
    last_name: str
    email: str
    locale: str
    businesses: tuple[BusinessSpec, ...]  # the first one is the lead business


DEMO_BUSINESS = BusinessSpec(
    "demo-trading", "Sandbox Trading Ltd", "GB", "London", "EC1A 1BB", "1 Sandbox Street"
)
USERS = (
    UserSpec(
        "sam",
        "Sam",
        "Sandbox",
        "sam.sandbox@example.com",
        "en-GB",
        (
            DEMO_BUSINESS,
            BusinessSpec(
                "sam-services", "Sandbox Services Ltd", "IE", "Dublin", "D02 X285", "2 Harbour Road"
            ),
        ),
    ),
    UserSpec(
        "una",
        "Una",
        "Single",
        "una.single@example.com",
        "en-US",
        (BusinessSpec("una-shop", "Single Shop Inc", "US", "Austin", "78701", "300 Congress Ave"),),
    ),
    UserSpec(
        "eve",
        "Eve",
        "Expired",
        "eve.expired@example.com",
        "en-GB",
        (
            BusinessSpec(
                "eve-lapsed",
                "Lapsed Trial Ltd",
                "GB",
                "Leeds",
                "LS1 4AP",
                "9 Quiet Lane",
                subscription_active=False,
            ),
        ),
    ),
)


@transaction.atomic
def ensure_identities() -> list[Business]:
    """Create (or restore) the fixed users and businesses. Returns the businesses, the demo business first
    (the lead business of Sam Sandbox, who has two)."""
    businesses: list[Business] = []
    for user_spec in USERS:
        user, _ = SandboxUser.objects.update_or_create(
            id=fixed_id(f"user:{user_spec.key}"),
            defaults={
                "first_name": user_spec.first_name,
                "last_name": user_spec.last_name,
                "initials": f"{user_spec.first_name[0]}{user_spec.last_name[0]}",
                "email": user_spec.email,
                "locale": user_spec.locale,
            },
        )
        for position, spec in enumerate(user_spec.businesses):
            business, _ = Business.objects.get_or_create(
                id=fixed_id(f"business:{spec.key}"),
                defaults={
                    "name": spec.name,
                    "country_code": spec.country_code,
                    "city": spec.city,
                    "postal_code": spec.postal_code,
                    "address_line_1": spec.address_line_1,
                    "subscription_active": spec.subscription_active,
                    "is_demo": True,
                },
            )
            is_lead = position == 0
            if is_lead:
                # Only one lead per user (a constraint): demote any other before promoting this one.
                user.memberships.exclude(business=business).filter(is_lead=True).update(is_lead=False)
            BusinessMembership.objects.update_or_create(
                user=user, business=business, defaults={"is_lead": is_lead}
            )
            businesses.append(business)
    return businesses


def demo_business() -> Business:
    ensure_identities()
    return Business.objects.get(id=fixed_id(f"business:{DEMO_BUSINESS.key}"))
