"""What `make run` prints for a newcomer's first API call (DEBUG only): a connect link for a user of the company's
app and the commands that get a user token and call Sage through the proxy (README: *Your first API call*)."""

from django.conf import settings
from django.urls import reverse

from connections.end_users import connect_link_url, mint_user_token

DEMO_END_USER_ID = "customer-42"
DEMO_END_USER_NAME = "Ann Example"
# The printed link must still work the next morning; never longer than a user token may live.
_LINK_SECONDS = 24 * 3600


def first_call_instructions() -> list[str]:
    """Lines to print after start-up; none with DEBUG off (the link holds a signed token: a credential)."""
    if not settings.DEBUG:
        return []
    link = connect_link_url(
        mint_user_token(
            DEMO_END_USER_ID,
            name=DEMO_END_USER_NAME,
            expires_in=min(_LINK_SECONDS, settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS),
        )
    )
    secret = (
        "a development secret (DEBUG only)"
        if settings.SAGEINT_USER_TOKEN_SECRET_IS_DEV
        else "SAGEINT_USER_TOKEN_SECRET"
    )
    proxy_url = f"{settings.SITE_URL}{reverse('api:proxy', args=['sageaccounting', 'contacts'])}"
    return [
        "",
        f"Your first API call, as {DEMO_END_USER_ID} (a user of your app; tokens signed with {secret}):",
        f"  1. Connect Sage for {DEMO_END_USER_ID}: open this link (valid a day), press Connect, then Allow:",
        f"     {link}",
        "  2. In another terminal, in this folder: a user token, then a call through the proxy:",
        f"     TOKEN=$(DEBUG=1 .venv/bin/python manage.py user_token {DEMO_END_USER_ID})",
        f'     curl -s -H "Authorization: Bearer $TOKEN" {proxy_url}',
        "  (README: Your first API call. A new link: DEBUG=1 .venv/bin/python manage.py connect_link "
        f"{DEMO_END_USER_ID})",
    ]
