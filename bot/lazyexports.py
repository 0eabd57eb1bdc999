"""A package's public names imported on first use (PEP 562), for packages whose modules are
heavy to import and whose importers often need one name of many: `bot.foundation_models`
(httpx and every wire's models) and `bot.testing` (aiogram; pytest loads its plugin in every
run where fmbot is installed)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of `package`, which exports each name of
    `where` from the module it maps to, imported (and kept in the package) on first use."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *where])

    return __getattr__, __dir__
