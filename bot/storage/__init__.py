"""Persistence: SQLAlchemy 2 async over SQLite (default) or PostgreSQL.

- `database`: engines with SQLite's pragmas and BEGIN IMMEDIATE, `Database` (sessions),
  `migrate` / `check_schema_current` (Alembic, refuses a schema newer than the code).
- `models`: the core's tables (users, chats, conversations, messages, image jobs, processed
  updates, daily usage) on the shared `Base`; each feature's tables and repositories live in
  its folder (bot/features/<name>/) and join the schema through bot/features/installed.py (the
  Alembic revisions in migrations/ must match the whole; a test checks).
- `repositories`: intention-named queries over one AsyncSession; they flush, never commit.
- `personal`: the features' tables of personal data, registered for /forget and retention.

Nothing here imports aiogram, httpx or another layer of fmbot.
"""
