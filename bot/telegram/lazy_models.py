"""Import aiogram with its pydantic models built on first use instead of at import, on the
pydantic and aiogram versions this is tested on; the plain import elsewhere.

`import aiogram` builds a pydantic schema for every Bot API type and method, about 590 models:
aiogram/types/__init__.py calls ``model_rebuild()`` on each of its ~400 types (which forces the
build their ``defer_build=True`` config would have put off) and the ~190 methods are built as
their classes are created. That costs about 100 MB of memory and 2-3 s of CPU in every process
(https://github.com/aiogram/aiogram/issues/1513, /1876), while a bot validates a few dozen of
them. `bench/bench_aiogram_import.py` measures both ways (figures in docs/performance.md).

Neither library offers a public switch: pydantic's ``defer_build`` is the model's own config,
and aiogram's types module rebuilds every type explicitly (``model_rebuild`` builds whatever
the config says). So, for the length of the import only:

- ``BaseModel.model_rebuild`` called on an aiogram model publishes the namespace the rebuild was
  given (every type by name) into the model's module globals, where pydantic looks when it
  builds the deferred schema on first use, instead of building now;
- classes created in ``aiogram.methods.*`` get ``defer_build=True`` merged into their config.

Both lean on pydantic internals (the metaclass in ``pydantic._internal``, the private
``_types_namespace`` argument) and on the shape of aiogram's types module, so they are used only
on the versions in `TESTED` (tests/telegram/test_lazy_models.py builds every type and method
after a lazy import, on each of them); on any other version, or if the patched import fails,
aiogram is imported the plain way and one warning line says so. Nothing else changes: a model
is built, with the same annotations resolved the same way, the first time it validates or
serialises.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
from typing import Any, Literal

import pydantic.version
from pydantic import BaseModel

log = logging.getLogger(__name__)

# Inclusive (major, minor) ranges the lazy import was run and tested on.
TESTED: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "pydantic": ((2, 10), (2, 13)),
    "aiogram": ((3, 31), (3, 31)),
}

How = Literal["lazy", "plain", "already"]


def _minor(version: str) -> tuple[int, int] | None:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def untested(pydantic_version: str, aiogram_version: str) -> str | None:
    """Why the lazy import is not used with these versions (None: it is)."""
    for name, version in (("pydantic", pydantic_version), ("aiogram", aiogram_version)):
        low, high = TESTED[name]
        minor = _minor(version)
        if minor is None or not low <= minor <= high:
            return (f"{name} {version} is outside the tested "
                    f"{low[0]}.{low[1]}-{high[0]}.{high[1]}")
    return None


def import_aiogram() -> How:
    """Import aiogram (and its types and methods), lazily where tested; says which way."""
    if "aiogram" in sys.modules:
        return "already"
    try:
        aiogram_version = importlib.metadata.version("aiogram")
    except importlib.metadata.PackageNotFoundError:
        aiogram_version = "unknown"
    why = untested(pydantic.version.VERSION, aiogram_version)
    if why is None:
        try:
            _import_lazily()
            return "lazy"
        except Exception as exc:  # a version the ranges above let through after all
            for name in [m for m in sys.modules if m == "aiogram" or m.startswith("aiogram.")]:
                del sys.modules[name]
            why = f"the lazy import failed ({type(exc).__name__}: {exc})"
    log.warning("aiogram imported with every model built (about 100 MB and 2 s of CPU more "
                "than the lazy import): %s", why)
    _import_plainly()
    return "plain"


def _import_plainly() -> None:
    import aiogram
    import aiogram.methods
    import aiogram.types  # noqa: F401


def _import_lazily() -> None:
    from pydantic._internal._model_construction import ModelMetaclass

    rebuild = vars(BaseModel)["model_rebuild"]
    original_new = vars(ModelMetaclass)["__new__"]
    create = ModelMetaclass.__new__

    def publish_namespace(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: dict[str, Any] | None = None,
    ) -> bool | None:
        if force or not cls.__module__.startswith("aiogram."):
            return rebuild.__func__(  # type: ignore[no-any-return]
                cls,
                force=force,
                raise_errors=raise_errors,
                _parent_namespace_depth=_parent_namespace_depth + 1,
                _types_namespace=_types_namespace,
            )
        module_globals = vars(sys.modules[cls.__module__])
        for name, value in (_types_namespace or {}).items():
            module_globals.setdefault(name, value)
        return None

    def create_deferred(
        mcs: type[ModelMetaclass],
        name: str,
        bases: tuple[type[Any], ...],
        namespace: dict[str, Any],
        **kwargs: Any,
    ) -> type:
        module = namespace.get("__module__", "")
        if module.startswith("aiogram.methods.") and "model_config" not in namespace:
            # Merged with the inherited config by pydantic, like any subclass's own config.
            namespace["model_config"] = {"defer_build": True}
        return create(mcs, name, bases, namespace, **kwargs)

    BaseModel.model_rebuild = classmethod(publish_namespace)  # type: ignore[method-assign,assignment]
    ModelMetaclass.__new__ = create_deferred  # type: ignore[method-assign,assignment]
    try:
        _import_plainly()
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
        ModelMetaclass.__new__ = original_new  # type: ignore[method-assign]
