"""Arguments shared by `manage.py user_token` and `manage.py connect_link`: who the token is for and how long it lives."""

from django.conf import settings
from django.core.management.base import CommandError

from connections.models import EndUser

MAX_END_USER_ID_LENGTH = EndUser._meta.get_field("external_id").max_length


def add_token_arguments(parser, *, default_lifetime: int) -> None:
    parser.add_argument(
        "end_user_id", help="your app's id for the user (the token's `sub`), e.g. customer-42"
    )
    parser.add_argument(
        "--lifetime",
        type=int,
        default=default_lifetime,
        help=f"seconds the token is valid (default {default_lifetime}; at most "
        "SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS)",
    )
    parser.add_argument("--name", default="", help="the user's name, shown on the connect page")
    parser.add_argument("--email", default="", help="the user's e-mail, shown when there is no name")


def checked_token_arguments(options: dict) -> dict:
    """end_user_id, expires_in, name and email, or a CommandError saying what is wrong."""
    end_user_id = options["end_user_id"]
    if not end_user_id.strip() or len(end_user_id) > MAX_END_USER_ID_LENGTH:
        raise CommandError(f"The end user id must be 1 to {MAX_END_USER_ID_LENGTH} characters.")
    longest = settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS
    if not 1 <= options["lifetime"] <= longest:
        raise CommandError(
            f"--lifetime must be 1 to {longest} seconds (SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS): a longer-lived "
            "token is refused by sageint."
        )
    return {
        "end_user_id": end_user_id,
        "expires_in": options["lifetime"],
        "name": options["name"][:255],
        "email": options["email"][:255],
    }
