"""Persistence: SQLAlchemy 2 async over SQLite (default) or PostgreSQL.

- `database`: engines with SQLite's pragmas and BEGIN IMMEDIATE, `Database` (sessions),
  `migrate` / `check_schema_current` (Alembic, refuses a schema newer than the code).
- `models`: the schema (the Alembic revisions in migrations/ must match it; a test checks).
- `repositories`: intention-named queries over one AsyncSession; they flush, never commit.

Nothing here imports aiogram, httpx or another layer of fmbot.
"""
