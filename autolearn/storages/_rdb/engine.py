"""Engines for the RDB store: SQLite and PostgreSQL set-up, transactions with retries.

SQLite is configured for many writing processes: WAL journal, ``synchronous=NORMAL``, a
30 s busy timeout, foreign keys on, and every write transaction opened with
``BEGIN IMMEDIATE`` (pysqlite's own implicit ``BEGIN`` is turned off, as SQLAlchemy's
documentation recommends), so a read-then-write transaction never has to upgrade its lock
and cannot deadlock. Read-only transactions use a plain deferred ``BEGIN``.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from autolearn.exceptions import ConfigError, NotAStoreError, StorageError

__all__ = [
    "READ_ONLY",
    "check_sqlite_file",
    "ensure_parent_dir",
    "make_engine",
    "read_only",
    "sqlite_path",
    "transact",
]

_logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Execution option marking a read-only transaction (SQLite then uses a deferred BEGIN).
READ_ONLY = "autolearn_read_only"

_SQLITE_HEADER = b"SQLite format 3\x00"
_SQLITE_BUSY_TIMEOUT_S = 30.0
_MAX_ATTEMPTS = 8
_PG_RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_jitter = random.Random()


def sqlite_path(url: str) -> Path | None:
    """File behind a ``sqlite:`` URL, or None for other databases.

    Raises:
        ConfigError: The URL is malformed or names an in-memory SQLite database (which
            every pooled connection would see as a different, empty database).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r} ({exc})") from None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or "mode=memory" in str(parsed.query):
        raise ConfigError(
            f"an in-memory SQLite URL ({url!r}) cannot be shared by a storage; use a file, "
            "'sqlite:///path/to/file.db' (in Python, storage=None is an in-memory store)"
        )
    return Path(database)


def check_sqlite_file(path: Path) -> bool:
    """Whether ``path`` exists as a non-empty SQLite file; reads at most 16 bytes.

    Raises:
        NotAStoreError: ``path`` exists but is not a SQLite database.
    """
    if not path.exists():
        return False
    if not path.is_file():
        raise NotAStoreError(f"{str(path)!r} is not a file, so it cannot hold an autolearn store")
    with path.open("rb") as f:
        header = f.read(len(_SQLITE_HEADER))
    if not header:
        return False
    if header != _SQLITE_HEADER:
        raise NotAStoreError(
            f"{str(path)!r} is not a SQLite database (and so not an autolearn store); it was "
            "left untouched. Choose another file name."
        )
    return True


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would otherwise begin
        # lazily and only before DML, which loses the lock mode).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(_SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, engine_kwargs: dict[str, Any] | None = None) -> Engine:
    """An engine for ``url`` set up for autolearn (see the module docstring).

    ``postgresql://`` URLs without a driver use psycopg 3. ``engine_kwargs`` go to
    :func:`sqlalchemy.create_engine` (``connect_args`` are merged with autolearn's).
    """
    kwargs = dict(engine_kwargs or {})
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    connect_args = dict(kwargs.pop("connect_args", {}) or {})
    if backend == "sqlite":
        if sqlite3.sqlite_version_info < (3, 35, 0):
            raise StorageError(
                f"the SQLite store needs SQLite >= 3.35 (for RETURNING), but Python's sqlite3 "
                f"module uses {sqlite3.sqlite_version}; use a newer Python build or PostgreSQL"
            )
        connect_args = {"timeout": _SQLITE_BUSY_TIMEOUT_S, **connect_args}
    elif backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "postgresql":
        from autolearn._imports import optional_import

        optional_import("psycopg")
    elif backend != "sqlite":
        raise ConfigError(
            f"unsupported database {backend!r}; the RDB store supports "
            "'sqlite:///file.db' and 'postgresql+psycopg://user@host:port/db'"
        )
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    if backend == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def _is_transient(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "locked" in message or "busy" in message
    return getattr(orig, "sqlstate", None) in _PG_RETRY_SQLSTATES


def read_only(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool) whose transactions only read."""
    return engine.execution_options(**{READ_ONLY: True})


def transact(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """Run ``fn(conn)`` in one transaction, retrying it when the database is busy.

    Pass :func:`read_only` of the engine for transactions that only read.

    Retries (with jittered exponential backoff) SQLite's "database is locked", PostgreSQL
    serialization failures and deadlocks, and dropped connections; ``fn`` must therefore
    do nothing outside the database that cannot be repeated.

    Raises:
        StorageError: The database kept failing, or failed for another reason.
    """
    delay = 0.01
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                return fn(conn)
        except DBAPIError as exc:
            if attempt == _MAX_ATTEMPTS or not _is_transient(exc):
                raise StorageError(f"the database operation failed: {exc.orig}") from exc
            _logger.debug("Transient database error (attempt %d): %s", attempt, exc.orig)
            time.sleep(delay * (0.5 + _jitter.random()))
            delay = min(delay * 2.0, 1.0)
        except SQLAlchemyError as exc:
            raise StorageError(f"the database operation failed: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def ensure_parent_dir(path: Path) -> None:
    """Create the directory that will hold a new SQLite file."""
    parent = path.parent
    if not parent.exists():
        os.makedirs(parent, exist_ok=True)
