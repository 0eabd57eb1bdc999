"""A callback registry: built first and handed to the part that tells and to the parts that
listen, when each is built from the other (the tool loop tells the front end which cards lost
their buttons, and the front end is built on the conversation that holds the loop)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Listeners(Generic[P]):
    """Calls every subscribed listener, in the order they subscribed; with none, nothing."""

    def __init__(self) -> None:
        self._listeners: list[Callable[P, None]] = []

    def subscribe(self, listener: Callable[P, None]) -> None:
        self._listeners.append(listener)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for listener in self._listeners:
            listener(*args, **kwargs)
