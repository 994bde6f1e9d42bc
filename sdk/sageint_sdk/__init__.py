"""sageint SDK: call Sage Accounting through a sageint deployment on behalf of your users."""

from sageint_sdk.client import Client, UnsafePath
from sageint_sdk.tokens import mint_user_token

__version__ = "0.1.0"
__all__ = ["Client", "UnsafePath", "mint_user_token"]
