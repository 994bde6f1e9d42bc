"""Sandbox models: identities and OAuth (identity.py), the accounting data of each business (accounting.py), the
records of the resources served by the generic engine (generic.py)."""

from .accounting import *  # noqa: F403
from .generic import *  # noqa: F403
from .identity import *  # noqa: F403
