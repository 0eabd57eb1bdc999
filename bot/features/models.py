"""Every feature's ORM models: a feature's tables live in its folder and register on the
shared `Base` metadata (bot/storage/models/base.py) when their module is imported. What needs
the whole schema (the Alembic environment, the schema checks) calls `load_feature_models`."""

from __future__ import annotations


def load_feature_models() -> None:
    """Import each feature's models module, so that `Base.metadata` holds every table."""
    from bot.features.desk.storage import insights_models, models

    assert models  # imported for its tables
    assert insights_models
