"""Tables of the RDB store, the schema version check and the migration path.

Schema version 1 (current):

* ``autolearn_version_info`` — one row: the schema version and the autolearn version that
  wrote it. Its presence is what makes a database an autolearn store.
* ``studies`` — name, directions (JSON list of :class:`StudyDirection` ints), the per-study
  trial-number counter ``next_number`` and the start time.
* ``study_attrs`` / ``trial_attrs`` — user and system attributes as JSON text.
* ``trials`` — number, state, start/complete times, heartbeat (float epoch seconds) and the
  objective values as JSON text (Python's JSON keeps ``±Infinity``, ``NaN`` and every
  float exactly: ``repr`` round-trips).
* ``trial_params`` — internal float and distribution JSON per parameter.
* ``trial_intermediate_values`` — one row per step; a ``value_type`` column says whether
  the value is finite, ``±inf``, NaN or ``-0.0``, because SQLite stores NaN as NULL.

A migration is a function ``step(connection)`` that turns a database of version ``v`` into
one of version ``v + 1``; :data:`MIGRATIONS` lists ``(v, step)`` in order. Each upgrade runs
in one transaction, so a failed step leaves the database as it was.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from autolearn.exceptions import NotAStoreError, SchemaVersionError, StorageError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ValueType",
    "check_version",
    "create_schema",
    "current_schema_version",
    "display_url",
    "metadata",
    "read_version",
    "run_migrations",
]

#: Version of the schema this autolearn writes. Bump it together with a new MIGRATIONS entry.
SCHEMA_VERSION = 1

#: Ordered ``(from_version, step)`` pairs; ``step(conn)`` upgrades ``from_version`` by one.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = []

VERSION_TABLE = "autolearn_version_info"

metadata = MetaData()

version_info = Table(
    VERSION_TABLE,
    metadata,
    Column("version_info_id", Integer, primary_key=True, autoincrement=False),
    Column("schema_version", Integer, nullable=False),
    Column("autolearn_version", String(256), nullable=False),
    CheckConstraint("version_info_id = 1", name="ck_version_info_single_row"),
)

studies = Table(
    "studies",
    metadata,
    Column("study_id", Integer, primary_key=True, autoincrement=True),
    Column("study_name", String(512), nullable=False, unique=True),
    Column("directions_json", Text, nullable=False),
    Column("next_number", Integer, nullable=False, server_default="0"),
    Column("datetime_start", DateTime, nullable=True),
)

study_attrs = Table(
    "study_attrs",
    metadata,
    Column("study_id", Integer, ForeignKey("studies.study_id", ondelete="CASCADE"),
           primary_key=True),
    Column("is_system", Boolean, primary_key=True),
    Column("attr_key", String(512), primary_key=True),
    Column("value_json", Text, nullable=False),
)

trials = Table(
    "trials",
    metadata,
    Column("trial_id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.study_id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("values_json", Text, nullable=True),
    Column("datetime_start", DateTime, nullable=True),
    Column("datetime_complete", DateTime, nullable=True),
    Column("heartbeat", Float(precision=53), nullable=True),
    UniqueConstraint("study_id", "number", name="uq_trials_study_number"),
    Index("ix_trials_study_state", "study_id", "state", "number"),
)

trial_params = Table(
    "trial_params",
    metadata,
    Column("trial_id", Integer, ForeignKey("trials.trial_id", ondelete="CASCADE"),
           primary_key=True),
    Column("param_name", String(512), primary_key=True),
    Column("param_value", Float(precision=53), nullable=True),
    Column("distribution_json", Text, nullable=False),
)

trial_intermediate_values = Table(
    "trial_intermediate_values",
    metadata,
    Column("trial_id", Integer, ForeignKey("trials.trial_id", ondelete="CASCADE"),
           primary_key=True),
    Column("step", Integer, primary_key=True, autoincrement=False),
    Column("value", Float(precision=53), nullable=True),
    Column("value_type", SmallInteger, nullable=False),
)

trial_attrs = Table(
    "trial_attrs",
    metadata,
    Column("trial_id", Integer, ForeignKey("trials.trial_id", ondelete="CASCADE"),
           primary_key=True),
    Column("is_system", Boolean, primary_key=True),
    Column("attr_key", String(512), primary_key=True),
    Column("value_json", Text, nullable=False),
)


class ValueType(enum.IntEnum):
    """How a float is kept in a ``value``/``value_type`` column pair."""

    FINITE = 0
    INF_POS = 1
    INF_NEG = 2
    NAN = 3
    NEG_ZERO = 4  # SQLite stores -0.0 as the integer 0


def encode_float(value: float) -> tuple[float | None, int]:
    """``(value column, value_type column)`` for ``value``."""
    if value != value:
        return None, ValueType.NAN
    if value == float("inf"):
        return None, ValueType.INF_POS
    if value == float("-inf"):
        return None, ValueType.INF_NEG
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return None, ValueType.NEG_ZERO
    return value, ValueType.FINITE


_DECODED = {
    ValueType.NAN: float("nan"),
    ValueType.INF_POS: float("inf"),
    ValueType.INF_NEG: float("-inf"),
    ValueType.NEG_ZERO: -0.0,
}


def decode_float(value: float | None, value_type: int) -> float:
    """Inverse of :func:`encode_float`."""
    if value_type == ValueType.FINITE and value is not None:
        return float(value)
    return _DECODED.get(ValueType(value_type), float("nan"))


def current_schema_version() -> int:
    """The schema version this autolearn reads and writes."""
    return SCHEMA_VERSION


def _autolearn_version() -> str:
    from autolearn import __version__

    return __version__


def read_version(conn: Connection) -> int | None:
    """Schema version of the database behind ``conn``; None if it has no tables at all.

    Only reads.

    Raises:
        NotAStoreError: The database has tables but is not an autolearn store.
    """
    names = set(inspect(conn).get_table_names())
    if not names:
        return None
    if VERSION_TABLE not in names:
        raise NotAStoreError(
            f"the database holds tables ({', '.join(sorted(names)[:5])}"
            f"{', ...' if len(names) > 5 else ''}) but no {VERSION_TABLE!r} table, so it is "
            "not an autolearn store; it was left untouched. Point autolearn at an empty "
            "database or at a file that does not exist yet."
        )
    row = conn.execute(select(version_info.c.schema_version)).first()
    if row is None:
        raise NotAStoreError(
            f"the {VERSION_TABLE!r} table is empty, so the schema version of this database is "
            "unknown; it was left untouched"
        )
    return int(row[0])


def display_url(url: str) -> str:
    """``url`` with its password (if any) masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def check_version(version: int, url: str) -> None:
    """Raise unless ``version`` is the current schema version.

    Raises:
        SchemaVersionError: The store is newer (upgrade autolearn) or older (upgrade the
            store with ``autolearn storage upgrade URL``).
    """
    current = SCHEMA_VERSION
    url = display_url(url)
    if version > current:
        raise SchemaVersionError(
            f"the store at {url!r} has schema version {version}, newer than the version "
            f"{current} this autolearn ({_autolearn_version()}) understands; upgrade autolearn "
            "to use it (nothing was written)"
        )
    if version < current:
        raise SchemaVersionError(
            f"the store at {url!r} has schema version {version}, older than the current "
            f"version {current}; back it up, then run `autolearn storage upgrade {url}` "
            "(nothing was written)"
        )


def create_schema(conn: Connection) -> None:
    """Create every table of the current schema and its version row (in ``conn``'s transaction)."""
    metadata.create_all(conn)
    conn.execute(
        version_info.insert().values(
            version_info_id=1,
            schema_version=SCHEMA_VERSION,
            autolearn_version=_autolearn_version(),
        )
    )


def run_migrations(conn: Connection, url: str) -> tuple[int, int]:
    """Upgrade the store behind ``conn`` to the current schema (in ``conn``'s transaction).

    Returns:
        ``(from_version, to_version)``; equal when there was nothing to do.

    Raises:
        NotAStoreError: Not an autolearn store.
        SchemaVersionError: The store is newer than this autolearn.
        StorageError: No migration step leads from the store's version to the current one.
    """
    version = read_version(conn)
    if version is None:
        raise NotAStoreError(
            f"{display_url(url)!r} holds no autolearn store, so there is nothing to upgrade"
        )
    current = SCHEMA_VERSION
    if version > current:
        check_version(version, url)
    start = version
    for from_version, step in MIGRATIONS:
        if from_version < version:
            continue
        if from_version != version or version >= current:
            break
        step(conn)
        version += 1
    if version != current:
        raise StorageError(
            f"no migration step leads from schema version {version} to {current}; this "
            "autolearn cannot upgrade the store (nothing was written)"
        )
    if start != current:
        conn.execute(
            update(version_info).values(
                schema_version=current, autolearn_version=_autolearn_version()
            )
        )
    return start, current


def json_dumps(value: Any) -> str:
    """JSON text of an attribute value (compact; NaN and inf allowed, as Python writes them)."""
    return json.dumps(value, separators=(",", ":"))


def lock_for_schema_change(conn: Connection) -> None:
    """Serialise schema creation and upgrades across processes (PostgreSQL advisory lock).

    SQLite needs nothing here: its write transactions start with ``BEGIN IMMEDIATE``.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7215430891)"))
