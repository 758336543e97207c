"""Study stores: in-memory, RDB (SQLite, PostgreSQL) and journal file.

Pick one by URL with :func:`get_storage`:

* ``None`` -> :class:`InMemoryStorage`
* ``"sqlite:///path.db"``, ``"postgresql+psycopg://user@host:port/db"`` -> :class:`RDBStorage`
* ``"journal:///path/to/file.jsonl"`` (or a path ending in ``.jsonl``) -> :class:`JournalStorage`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autolearn.storages._base import BaseStorage, StudyInfo
from autolearn.storages._in_memory import InMemoryStorage

if TYPE_CHECKING:
    from autolearn.storages._journal import JournalStorage
    from autolearn.storages._rdb.storage import RDBStorage

__all__ = ["BaseStorage", "InMemoryStorage", "JournalStorage", "RDBStorage", "StudyInfo",
           "get_storage"]


def __getattr__(name: str) -> Any:
    # RDB pulls in SQLAlchemy: load it only when asked for.
    if name == "RDBStorage":
        from autolearn.storages._rdb.storage import RDBStorage

        return RDBStorage
    if name == "JournalStorage":
        from autolearn.storages._journal import JournalStorage

        return JournalStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_storage(storage: str | BaseStorage | None, **options: Any) -> BaseStorage:
    """Return a storage for a URL, an existing storage, or None (in-memory).

    ``options`` (e.g. ``heartbeat_interval``) go to the storage's constructor.
    """
    from autolearn.exceptions import ConfigError

    if storage is None:
        return InMemoryStorage(**options)
    if isinstance(storage, BaseStorage):
        if options:
            raise ConfigError("storage options can only be given together with a URL")
        return storage
    if not isinstance(storage, str):
        raise ConfigError(
            f"`storage` must be None, a URL string or a BaseStorage, but got {storage!r}"
        )
    if storage.startswith("journal://"):
        from autolearn.storages._journal import JournalStorage

        return JournalStorage(storage[len("journal://"):], **options)
    if storage.endswith(".jsonl") and "://" not in storage:
        from autolearn.storages._journal import JournalStorage

        return JournalStorage(storage, **options)
    if storage.startswith(("sqlite:", "postgresql")):
        from autolearn.storages._rdb.storage import RDBStorage

        return RDBStorage(storage, **options)
    raise ConfigError(
        f"unsupported storage URL {storage!r}; use 'sqlite:///file.db', "
        "'postgresql+psycopg://user@host:port/db' or 'journal:///path/file.jsonl'"
    )
