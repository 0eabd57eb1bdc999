"""`Built`: what the features built, found by type. A feature's build adds what it offers
others; a feature that needs another's part asks for it here, by type, and fails at start
naming both when it is absent."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class FeatureMissing(RuntimeError):
    """A feature needs another that is not in the bot's list: raised at start, naming both."""


class Built:
    """What the features built so far, found by type: a feature's build adds the services
    others may ask for (`add`), and asks for what it needs (`find`: None when absent;
    `need`: FeatureMissing naming both features when absent). The command line and the test
    kit find the same way what they reach (the knowledge base to sync, the desk's cases)."""

    def __init__(self) -> None:
        self._items: list[tuple[str, object]] = []

    def add(self, owner: str, item: object) -> None:
        """`item` offered by the feature named `owner`."""
        self._items.append((owner, item))

    def find(self, kind: type[T]) -> T | None:
        """The first part of type `kind` (a class or a runtime-checkable protocol)."""
        for _owner, item in self._items:
            if isinstance(item, kind):
                return item
        return None

    def all(self, kind: type[T]) -> list[T]:
        """Every part of type `kind`, in the order the features were built."""
        return [item for _owner, item in self._items if isinstance(item, kind)]

    def need(self, kind: type[T], by: str) -> T:
        """The part of type `kind`; FeatureMissing naming `by` and what it needs if none."""
        found = self.find(kind)
        if found is None:
            raise FeatureMissing(
                f"the {by} feature needs {kind.__name__}, which no feature in the bot's list "
                f"provides: add the feature that does (bot/features/installed.py)")
        return found
