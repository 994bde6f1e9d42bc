"""The generic engine: every resource of Sage's API description the sandbox has no hand-written module for.

It is driven by `catalogue.json`, the project's own structural catalogue derived from Sage's description by
`scripts/derive_sandbox_catalogue.py` (paths, methods, fields, types, required fields, maxLengths, reference
targets). Records live in one table (`sandbox.models.GenericRecord`). Modules: `catalogue` (reading it),
`references` (ids of other resources, hand-written or generic), `reference_lists` (Sage's read-only code lists,
seeded per business), `validation` (request bodies → Sage's 422 list), `records` (create, update, delete,
answer), `samples` (minimal valid bodies, for the demo seed), `views` (the one dispatching view).
"""
