"""Installed plugins: entry points of the group `fmbot.plugins`, set up on an App by name
(`App.use_plugins`, `FMBOT_PLUGINS`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.plugin.feature import Feature

log = logging.getLogger("bot")

PLUGIN_GROUP = "fmbot.plugins"


def set_up(
    app: object, wanted: Sequence[str], done: Sequence[str]
) -> Iterator[tuple[str, Feature | None]]:
    """Set up each plugin of `wanted` not in `done` on `app`, yielding its name once it is,
    with the `Feature` it ships (None when it only sets the App up); every name is checked
    before any plugin is set up (an unknown one is refused with the list of installed
    plugins). An entry point is a `Feature`, or a function of the App that sets it up and may
    return one."""
    from bot.config import ConfigError
    from bot.plugin.feature import Feature

    todo = [name for name in wanted if name not in done]
    if not todo:
        return  # no scan of the installed distributions' metadata (milliseconds each start)
    found = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
    for name in todo:
        if name not in found:
            installed = ", ".join(sorted(found)) or "none"
            raise ConfigError(
                f"FMBOT_PLUGINS: no installed plugin named {name!r} (installed: {installed})"
            )
    for name in todo:
        point = found[name]
        try:
            loaded = point.load()
            shipped = loaded if isinstance(loaded, Feature) else loaded(app)
        except ConfigError:
            raise
        except Exception as exc:
            log.exception("plugin %s failed to set up", name)
            raise ConfigError(
                f"FMBOT_PLUGINS: plugin {name!r} failed to set up: {exc!r}"
            ) from None
        log.info("plugin %s set up (%s)", name, point.value)
        yield name, shipped if isinstance(shipped, Feature) else None
