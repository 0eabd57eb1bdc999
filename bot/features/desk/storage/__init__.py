"""The desk's tables and repositories. The ORM models register on the shared `Base` metadata
when imported (bot/features/installed.py imports them for the migrations and the schema)."""
