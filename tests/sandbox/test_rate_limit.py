"""Sage-like throttling: 429 with Retry-After once a business exceeds its calls per minute."""

from datetime import timedelta

from django.db.models import F

from sandbox.models import Business, RateLimitWindow


def test_rate_limiting_is_off_by_default(access_token, api, settings):
    assert settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE == 0

    statuses = {api("get", "/user", access_token).status_code for _ in range(30)}

    assert statuses == {200}


def test_calls_past_the_limit_answer_429_with_retry_after(access_token, api, settings):
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 3

    statuses = [api("get", "/user", access_token).status_code for _ in range(3)]
    throttled = api("get", "/user", access_token)

    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json()[0]["$dataCode"] == "TooManyRequests"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled["X-Business"]


def test_the_limit_counts_per_business(access_token, api, settings):
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 2
    other = Business.objects.get(name="Sandbox Services Ltd")
    for _ in range(2):
        api("get", "/user", access_token)

    assert api("get", "/user", access_token).status_code == 429
    assert api("get", "/user", access_token, headers={"X-Business": other.id}).status_code == 200


def test_unauthenticated_calls_are_refused_before_they_count(api, access_token, settings):
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    for _ in range(3):
        api("get", "/user", "made-up")

    assert api("get", "/user", access_token).status_code == 200


def test_calls_are_allowed_again_once_the_window_has_passed(access_token, api, settings):
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    api("get", "/user", access_token)
    assert api("get", "/user", access_token).status_code == 429

    RateLimitWindow.objects.update(window_start=F("window_start") - timedelta(seconds=60))

    assert api("get", "/user", access_token).status_code == 200


def test_the_limit_covers_writes_and_accounting_resources_too(access_token, api, settings, books, business):
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    api("get", "/contacts", access_token)

    refused = api(
        "post", "/contacts", access_token, json={"contact": {"name": "X", "contact_type_ids": ["CUSTOMER"]}}
    )

    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert not business.contacts.exists()
