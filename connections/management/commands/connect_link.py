"""Print a connect link for one of the company's users: opened in a browser, it connects Sage for that user."""

from django.core.management.base import BaseCommand, CommandError

from connections.end_users import connect_link_url, mint_user_token
from connections.exceptions import UserTokensUnavailable
from connections.management.token_arguments import add_token_arguments, checked_token_arguments


class Command(BaseCommand):
    help = "Print a connect link (SITE_URL/connect/sageaccounting/?user_token=…) for END_USER_ID."

    def add_arguments(self, parser):
        add_token_arguments(parser, default_lifetime=24 * 3600)

    def handle(self, *args, **options):
        try:
            token = mint_user_token(**checked_token_arguments(options))
        except UserTokensUnavailable as unavailable:
            raise CommandError(str(unavailable)) from None
        self.stdout.write(connect_link_url(token))
