import pytest

from projects.models import ApiKey


@pytest.fixture
def api_key(db):
    """A usable project API key: (row, the key itself)."""
    return ApiKey.issue(name="backend")


@pytest.fixture
def key_headers(api_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_key[1]}"}
