"""Import aiogram with its pydantic models built on first use instead of at import.

`import aiogram` builds a pydantic schema for every Bot API type and method, about 590 models:
aiogram/types/__init__.py calls ``model_rebuild()`` on each of its ~400 types (which forces the
build their ``defer_build=True`` config would have put off) and the ~190 methods are built as
their classes are created. That costs about 100 MB of memory and 2-3 s of CPU in every process
(https://github.com/aiogram/aiogram/issues/1513, /1876), while a bot validates a few dozen of
them. Measured with ``/usr/bin/time``-style ru_maxrss on this machine: 165 MB and 3.0 s for a
plain ``import aiogram``, 61 MB and 0.65 s through `import_aiogram`.

For the length of the import only:

- ``BaseModel.model_rebuild`` called on an aiogram model publishes the namespace the rebuild was
  given (every type by name) into the model's module globals, where pydantic looks when it
  builds the deferred schema on first use, instead of building now;
- classes created in ``aiogram.methods.*`` get ``defer_build=True`` merged into their config.

Everything else behaves as before: a model is built, with the same annotations resolved the
same way, the first time it validates or serialises. tests/telegram/test_lazy_models.py builds
every type and method after a lazy import to prove nothing is left unresolvable.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel
from pydantic._internal._model_construction import ModelMetaclass


def import_aiogram() -> None:
    """Import aiogram (and its types and methods) lazily; a no-op once it is imported."""
    if "aiogram" in sys.modules:
        return
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
        import aiogram
        import aiogram.methods
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
        ModelMetaclass.__new__ = original_new  # type: ignore[method-assign]
