"""Sandbox models: identities and OAuth (identity.py), the accounting data of each business (accounting.py)."""

from .accounting import *  # noqa: F403
from .identity import *  # noqa: F403
