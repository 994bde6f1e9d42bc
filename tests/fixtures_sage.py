"""Shared Sage fixtures: a connected end user, an in-process transport to the sandbox (owned by connections work)."""
