"""Installed plugins: entry points of the group `fmbot.plugins`, each naming a `Feature`
(`bot.plugin.Feature`), added to an App by name (`App.use_plugins`, `FMBOT_PLUGINS`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.plugin.feature import Feature

log = logging.getLogger("bot")

PLUGIN_GROUP = "fmbot.plugins"


def installed(wanted: Sequence[str], done: Sequence[str]) -> Iterator[tuple[str, Feature]]:
    """The `Feature` of each plugin of `wanted` not in `done`, by name; every name is checked
    before any plugin is loaded (an unknown one is refused with the list of installed
    plugins). An entry point names a `Feature` and nothing else: the feature registers what
    it adds in its own `setup`, so nothing outside the App changes the App."""
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
        except Exception as exc:
            log.exception("plugin %s failed to load", name)
            raise ConfigError(f"FMBOT_PLUGINS: plugin {name!r} failed to load: {exc!r}"
                              ) from None
        if not isinstance(loaded, Feature):
            # The `plugin(app)` of 0.3's development, which changed the App, is refused.
            raise ConfigError(
                f"FMBOT_PLUGINS: plugin {name!r}: its entry point {point.value} is "
                f"{_what(loaded)}, not a bot.plugin.Feature: point it at a Feature whose "
                "setup(setup) registers its routers, commands, context providers, tools "
                "and hooks on the FeatureSetup it is given (a function plugin(app) that "
                "changes the App is no longer run; docs/extending.md, \"Writing a plugin\")"
            )
        # Quiet: a settings error of the plugin's section, read next, stays the one line.
        log.debug("plugin %s added (%s)", name, point.value)
        yield name, loaded


def _what(value: object) -> str:
    return "a function" if callable(value) else f"a {type(value).__name__}"
