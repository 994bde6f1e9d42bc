"""Print a signed user token for one of the company's users, e.g. `TOKEN=$(python manage.py user_token customer-42)`.

It is what the company's backend mints for each call (README: *The user token*); here for trying the proxy by hand.
Only the token is printed, so the command fits in `$(...)`.
"""

from django.core.management.base import BaseCommand, CommandError

from connections.end_users import mint_user_token
from connections.exceptions import UserTokensUnavailable
from connections.management.token_arguments import add_token_arguments, checked_token_arguments


class Command(BaseCommand):
    help = (
        "Print a user token (HS256 with SAGEINT_USER_TOKEN_SECRET) that calls the proxy API as END_USER_ID."
    )

    def add_arguments(self, parser):
        add_token_arguments(parser, default_lifetime=3600)

    def handle(self, *args, **options):
        try:
            token = mint_user_token(**checked_token_arguments(options))
        except UserTokensUnavailable as unavailable:
            raise CommandError(str(unavailable)) from None
        self.stdout.write(token)
