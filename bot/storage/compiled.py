"""One cache of compiled SQL for every engine of the process.

SQLAlchemy compiles a statement once per engine and keeps the result in that engine's cache,
keyed by the engine's dialect object among the rest
(https://docs.sqlalchemy.org/en/20/core/connections.html#sql-compilation-caching). A process
of fmbot has two or three engines on one database (the writer, the readers, the searches) and
compiled each of its statements in each; a test process has an engine per test and compiled
every statement a test ran again (about 30 of them, ~30 ms of CPU, for each `BotTester`).

`SHARED` is handed to every engine as its `compiled_cache` execution option (public: "a
dictionary where Compiled objects will be cached when the Connection compiles a clause
expression"). It keys the dialect by what its SQL and parameter handling depend on, its class,
driver, parameter style and server version, so engines configured alike share one compiled
form; a key of another shape (a future SQLAlchemy's) is kept as it is, which only shares less.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

from sqlalchemy.engine import Dialect

# SQLAlchemy's own default is 500 entries per engine; the engines here share these.
SIZE = 1500


def dialect_key(dialect: Dialect) -> tuple[object, ...]:
    """What a compiled statement depends on of its dialect, for engines built alike."""
    return (type(dialect), dialect.driver, dialect.paramstyle, dialect.positional,
            dialect.server_version_info, dialect.max_identifier_length, dialect.label_length)


class SharedCompiledCache(MutableMapping[Any, Any]):
    """A bounded LRU mapping whose keys' dialect is taken by `dialect_key`."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()  # engines may compile on several threads

    @staticmethod
    def _key(key: Any) -> Any:
        if isinstance(key, tuple) and key and isinstance(key[0], Dialect):
            return (dialect_key(key[0]), *key[1:])
        return key

    def __getitem__(self, key: Any) -> Any:
        key = self._key(key)
        with self._lock:
            value = self._entries[key]
            self._entries.move_to_end(key)
            return value

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: Any, value: Any) -> None:
        key = self._key(key)
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            del self._entries[self._key(key)]

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


SHARED = SharedCompiledCache()
