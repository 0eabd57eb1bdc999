"""What a tester's bot runs with: its settings (fake credentials, a SQLite file of its own,
the test's overrides; never `.env`) and Telegram's pacing shrunk."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.testing.telegram import BOT_TOKEN

if TYPE_CHECKING:
    from bot.features.settings import Settings
    from bot.telegram.outbox import Pacing

FOLDER_ID = "test-folder"
# Telegram's pacing (a message a second per private chat, 20 a minute per group) shrunk a
# thousand times: the same order of calls, without the waiting.
def shrunk(pacing: Pacing) -> Pacing:
    return dataclasses.replace(
        pacing, private_interval=0.001, group_interval=0.001, group_window=0.06,
        draft_interval=0.001, typing_interval=0.01, frame_grace=0.0, final_preview_after=0.0,
        global_window=0.001,
    )


# A guest answer's edits (bot/features/guest), not the outbox's.
GUEST_EDIT_INTERVAL = 0.001
API_KEY = "test-key"


def run_settings(folder: Path, overrides: Mapping[str, object] | None = None,
                 settings_cls: type[Settings] | None = None) -> Settings:
    """The Settings a tester runs with: the environment (never `.env`), fake credentials, a
    SQLite file in `folder`, and `overrides` (by variable name, e.g. `{"KB_PATH": "kb"}`);
    `settings_cls`: composed with the plugins' sections."""
    from bot.config import ConfigError
    from bot.features.settings import Settings

    values: dict[str, Any] = {
        "telegram_bot_token": BOT_TOKEN,
        "telegram_mode": "polling",
        "yandex_api_key": API_KEY,
        "yandex_iam_token": None,
        "yandex_sa_key_file": None,
        "yandex_use_metadata": False,
        "yandex_folder_id": FOLDER_ID,
        "database_url": f"sqlite+aiosqlite:///{folder / 'bot.db'}",
        "redis_url": "",
        "metrics_listen": "",
    }
    # A path is given as the environment would give it (KB_PATH is a list of paths there).
    values.update({str(k).lower(): str(v) if isinstance(v, Path) else v
                   for k, v in (overrides or {}).items()})
    try:
        return (settings_cls or Settings)(_env_file=None, **values)
    except Exception as exc:  # pydantic's ValidationError: one line per variable
        raise ConfigError(f"BotTester settings: {exc}") from None
