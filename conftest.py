"""Test-run defaults, set before Django's settings are read (pytest loads this file first)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("SAGE_SANDBOX_ENABLED", "1")
