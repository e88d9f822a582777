"""Data shapes shared by the HTTP API and the CLI (request bodies, rows as shown).

Both edges import from here, never from each other; API-only models stay in
`api/schemas.py`. Field names follow the original spec.
"""
