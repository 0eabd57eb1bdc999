"""Every feature's ORM models: a feature's tables live in its folder and register on the
shared `Base` metadata (bot/storage/models/base.py) when their module is imported, and their
personal tables with bot/storage/personal.py (erased on /forget, pruned by retention). What
needs the whole schema (the Alembic environment, the schema checks, the composition root
before anything is erased) calls `load_models`."""

from __future__ import annotations


def load_models() -> None:
    """Import each feature's models module, so that `Base.metadata` holds every table."""
    import bot.features.business.models
    import bot.features.desk.storage.insights_models
    import bot.features.desk.storage.models
    import bot.features.knowledge.models
    import bot.features.voice.models  # noqa: F401 - imported for their tables
