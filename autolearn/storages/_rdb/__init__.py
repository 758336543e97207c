"""Relational-database storage (SQLite, PostgreSQL) through SQLAlchemy Core.

Importing this package loads SQLAlchemy; :mod:`autolearn.storages` imports it only when an
RDB URL is used.
"""

from __future__ import annotations

from autolearn.storages._rdb import schema
from autolearn.storages._rdb.engine import check_sqlite_file, make_engine, sqlite_path, transact
from autolearn.storages._rdb.storage import RDBStorage

__all__ = ["RDBStorage", "current_schema_version", "upgrade"]


def current_schema_version() -> int:
    """The schema version this autolearn reads and writes."""
    return schema.current_schema_version()


def upgrade(url: str) -> tuple[int, int]:
    """Upgrade the store at ``url`` to the current schema version, in one transaction.

    Back the database up first. Running it on an up-to-date store does nothing.

    Args:
        url: The store's URL, as given to :class:`RDBStorage`.

    Returns:
        ``(from_version, to_version)``; equal when the store was already current.

    Raises:
        NotAStoreError: ``url`` holds no autolearn store (nothing is created or written).
        SchemaVersionError: The store is newer than this autolearn.
        StorageError: No migration path exists, or a step failed (the store is unchanged).

    Example:
        >>> from autolearn.storages._rdb import upgrade
        >>> upgrade("sqlite:///study.db")  # doctest: +SKIP
        (1, 1)
    """
    from autolearn.exceptions import NotAStoreError

    path = sqlite_path(url)
    if path is not None and not check_sqlite_file(path):
        raise NotAStoreError(
            f"{schema.display_url(url)!r} holds no autolearn store, so there is nothing to "
            "upgrade (nothing was created)"
        )
    engine = make_engine(url)
    try:

        def migrate(conn: object) -> tuple[int, int]:
            schema.lock_for_schema_change(conn)  # type: ignore[arg-type]
            return schema.run_migrations(conn, url)  # type: ignore[arg-type]

        return transact(engine, migrate)
    finally:
        engine.dispose()
