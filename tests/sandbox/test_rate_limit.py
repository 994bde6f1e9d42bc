"""Sage-like throttling: 429 with Retry-After once a business exceeds its calls per minute."""

from sandbox.models import Business


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
