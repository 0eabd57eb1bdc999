"""The core's storage (bot/storage) keeps the core's tables only: a feature's tables, and the
repository over them, live in its folder (bot/features/<name>/) and register on the shared
`Base` when bot/features/installed.py loads them."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.features.installed import load_tables
from bot.storage.models import Base
from tests.architecture.test_core_reads_no_feature import BOT, outside_the_features

STORAGE = Path(__file__).resolve().parents[2] / "bot" / "storage"
# The tables every deployment has, whatever features are on (answer_traces: every answer's
# trace, which each feature adds its entries to and the core stores).
CORE_TABLES = frozenset({"answer_traces", "chats", "conversations", "daily_counts",
                         "daily_usage", "messages", "processed_updates", "users"})
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


def kinds_defined(source: str) -> set[str]:
    """The features' kinds of daily counts `source` gives a name to (`IMAGES_KIND =
    "images"`, `KINDS = ("photos", ...)`): what only the feature's usage.py may define."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            values = (node.value.elts if isinstance(node.value, ast.Tuple | ast.List | ast.Set)
                      else [node.value])
            found |= {value.value for value in values if isinstance(value, ast.Constant)
                      and value.value in FEATURE_COUNTERS}
    return found


def test_no_module_of_the_core_defines_a_features_kind() -> None:
    """The core's Telegram front reads no feature's counter: the image budget and the
    /stats lines of images, photos and voice are the features' (their Telegram parts)."""
    found = {str(path.relative_to(BOT.parent)): kinds
             for path in outside_the_features() if (kinds := kinds_defined(path.read_text()))}
    assert found == {}, "a feature's kind of daily counts lives in its usage.py"


def test_the_kinds_check_sees_what_it_looks_for() -> None:
    source = ('IMAGES_KIND = "images"\nKINDS: tuple[str, ...] = ("photos", "speech_seconds")\n'
              'def f(kind: str = "photos") -> None:\n    pass\nX = {"photos": "jpg"}\n')
    assert kinds_defined(source) == {"images", "photos", "speech_seconds"}
    assert BOT / "telegram" / "handlers" / "commands.py" in outside_the_features()


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
