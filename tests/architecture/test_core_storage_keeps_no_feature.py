"""The core's storage (bot/storage) keeps the core's tables only: a feature's tables, and the
repository over them, live in its folder (bot/features/<name>/) and register on the shared
`Base` when bot/features/installed.py loads them."""

from __future__ import annotations

from pathlib import Path

from bot.features.installed import load_tables
from bot.storage.models import Base

STORAGE = Path(__file__).resolve().parents[2] / "bot" / "storage"
# The tables every deployment has, whatever features are on.
CORE_TABLES = frozenset({"chats", "conversations", "daily_counts", "daily_usage", "messages",
                         "processed_updates", "users"})
# The features' daily counters: kinds of the core's daily counts, never the core's columns.
FEATURE_COUNTERS = frozenset({"images", "photos", "speech_seconds", "web_searches"})


def tables_by_module() -> dict[str, str]:
    load_tables()
    return {mapper.local_table.name: mapper.class_.__module__
            for mapper in Base.registry.mappers}


def test_the_cores_models_are_the_cores_tables_only() -> None:
    found = tables_by_module()
    in_core = {table for table, module in found.items() if module.startswith("bot.storage")}
    assert in_core == CORE_TABLES


def test_no_column_of_the_cores_models_is_a_features_counter() -> None:
    load_tables()
    found = {f"{mapper.local_table.name}.{column.name}"
             for mapper in Base.registry.mappers
             if mapper.class_.__module__.startswith("bot.storage")
             for column in mapper.local_table.columns if column.name in FEATURE_COUNTERS}
    assert found == set()


def test_the_features_name_their_own_kinds_of_daily_counts() -> None:
    """Each counting feature names its kind in its folder (its usage.py)."""
    from bot.features.images.usage import IMAGES
    from bot.features.vision.usage import PHOTOS
    from bot.features.voice.usage import SPEECH_SECONDS
    from bot.features.websearch.usage import WEB_SEARCHES

    assert {IMAGES, PHOTOS, SPEECH_SECONDS, WEB_SEARCHES} == FEATURE_COUNTERS


def test_every_other_table_is_a_features() -> None:
    found = tables_by_module()
    elsewhere = {table: module for table, module in found.items()
                 if table not in CORE_TABLES and not module.startswith("bot.features.")}
    assert elsewhere == {}
    # The features' tables are there (the scan sees what it looks for).
    assert {"tool_calls", "chat_documents", "message_images", "kb_store_files",
            "image_jobs"} <= set(found)


def test_no_repository_of_the_core_is_named_after_a_features_table() -> None:
    names = {path.stem for path in (STORAGE / "repositories").glob("*.py")}
    moved = {"toolcalls", "toolcall_rows", "toollimits", "kb_store", "kb_vectors",
             "chat_documents", "web_searches", "message_images"}
    assert names & moved == set()
