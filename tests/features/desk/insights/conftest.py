"""Insight fixtures: the real client against the fake Foundation Models server, a migrated
SQLite database (and PostgreSQL when reachable, through `database`)."""

from __future__ import annotations

from tests.fakes.yandex.fixtures import client, fm

__all__ = ["client", "fm"]
