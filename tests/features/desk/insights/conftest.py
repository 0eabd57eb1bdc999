"""Insight fixtures: the real client against the fake Foundation Models server, a migrated
SQLite database (and PostgreSQL when reachable, through `database`)."""

from __future__ import annotations

from tests.conversation.fm_fixtures import client, fm

__all__ = ["client", "fm"]
