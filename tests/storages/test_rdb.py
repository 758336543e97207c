"""RDB storage: conformance on SQLite and PostgreSQL, schema safety, upgrades, processes.

PostgreSQL tests run when ``AUTOLEARN_TEST_POSTGRES_URL`` is set, e.g. through
``bash scripts/with_postgres.sh python -m pytest tests/storages/test_rdb.py``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from autolearn._records import StudyDirection, TrialState, create_trial
from autolearn.exceptions import (
    ConfigError,
    NotAStoreError,
    SchemaVersionError,
    StorageError,
    TrialStateError,
)
from autolearn.space import FloatDistribution, IntDistribution
from autolearn.storages import RDBStorage, get_storage
from autolearn.storages._rdb import current_schema_version, schema, upgrade
from autolearn.testing.storages import StorageConformance

PG_URL = os.environ.get("AUTOLEARN_TEST_POSTGRES_URL")
needs_pg = pytest.mark.skipif(
    not PG_URL,
    reason="set AUTOLEARN_TEST_POSTGRES_URL (or run under scripts/with_postgres.sh) to test "
    "PostgreSQL",
)
MIN = (StudyDirection.MINIMIZE,)


def reset_postgres(url: str) -> None:
    """Drop every table in the database's current schema."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            meta.drop_all(conn)
    finally:
        engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database: a SQLite file or the (wiped) test PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "store.db")
        return
    assert PG_URL is not None
    reset_postgres(PG_URL)
    yield PG_URL
    reset_postgres(PG_URL)


def execute(url: str, *statements: str) -> None:
    """Run raw SQL on ``url`` outside autolearn."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def set_version(url: str, version: int) -> None:
    execute(url, f"UPDATE autolearn_version_info SET schema_version = {version}")


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def fingerprint(url: str) -> object:
    """Bytes of a SQLite file, or the full content of every table on PostgreSQL."""
    if url.startswith("sqlite"):
        return Path(url[len("sqlite:///"):]).read_bytes()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            return {
                name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
                for name, table in meta.tables.items()
            }
    finally:
        engine.dispose()


def make_store(url: str) -> None:
    """Create an autolearn store with one finished trial at ``url``."""
    storage = RDBStorage(url)
    sid = storage.create_study(MIN, "s")
    t = storage.create_trial(sid)
    storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [1.0])
    storage.close()


# ---- conformance ---------------------------------------------------------------------------
class TestSQLiteConformance(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[RDBStorage]:
        storage = RDBStorage(sqlite_url(tmp_path / "conformance.db"))
        yield storage
        storage.close()


@needs_pg
class TestPostgresConformance(StorageConformance):
    @pytest.fixture
    def storage(self) -> Iterator[RDBStorage]:
        assert PG_URL is not None
        reset_postgres(PG_URL)
        storage = RDBStorage(PG_URL)
        yield storage
        storage.close()
        reset_postgres(PG_URL)


# ---- opening ---------------------------------------------------------------------------------
def test_import_autolearn_does_not_load_sqlalchemy() -> None:
    code = (
        "import sys, autolearn, autolearn.storages, autolearn.study; "
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_get_storage_routes_and_creates_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"
    storage = get_storage(sqlite_url(path), heartbeat_interval=5.0)
    assert isinstance(storage, RDBStorage)
    assert storage.heartbeat_interval == 5.0 and storage.grace_period == 20.0
    assert path.is_file()
    storage.close()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    storage = RDBStorage(sqlite_url(tmp_path / "p.db"))
    engine = storage._engines()[0]
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    storage.close()


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ConfigError, match="in-memory"):
        RDBStorage("sqlite://")
    with pytest.raises(ConfigError, match="in-memory"):
        RDBStorage("sqlite:///:memory:")


def test_reopen_keeps_everything(url: str) -> None:
    make_store(url)
    again = RDBStorage(url)
    sid = again.get_study_id("s")
    assert [t.values for t in again.get_all_trials(sid)] == [(1.0,)]
    assert again.create_trial(sid).number == 1
    again.close()


def test_newer_schema_is_refused_without_writing(url: str) -> None:
    make_store(url)
    set_version(url, current_schema_version() + 1)
    before = fingerprint(url)
    with pytest.raises(SchemaVersionError, match="upgrade autolearn"):
        RDBStorage(url)
    with pytest.raises(SchemaVersionError, match="upgrade autolearn"):
        upgrade(url)
    assert fingerprint(url) == before


def test_older_schema_asks_for_upgrade_without_writing(url: str) -> None:
    make_store(url)
    set_version(url, 0)
    before = fingerprint(url)
    with pytest.raises(SchemaVersionError, match="autolearn storage upgrade"):
        RDBStorage(url)
    assert fingerprint(url) == before


def test_random_bytes_file_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    payload = os.urandom(4096)
    path.write_bytes(payload)
    with pytest.raises(NotAStoreError, match="untouched"):
        RDBStorage(sqlite_url(path))
    with pytest.raises(NotAStoreError):
        upgrade(sqlite_url(path))
    assert path.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_unrelated_sqlite_database_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.close()
    payload = path.read_bytes()
    with pytest.raises(NotAStoreError, match="customers"):
        RDBStorage(sqlite_url(path))
    with pytest.raises(NotAStoreError):
        upgrade(sqlite_url(path))
    assert path.read_bytes() == payload
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


@needs_pg
def test_unrelated_postgres_database_is_not_a_store(url: str) -> None:
    execute(url, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
            "INSERT INTO customers VALUES (1, 'ada')")
    before = fingerprint(url)
    with pytest.raises(NotAStoreError, match="customers"):
        RDBStorage(url)
    assert fingerprint(url) == before
    assert table_names(url) == {"customers"}


def test_upgrade_of_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(NotAStoreError):
        upgrade(sqlite_url(path))
    assert not path.exists()


# ---- upgrades ----------------------------------------------------------------------------------
def test_upgrade_current_store_is_a_no_op(url: str) -> None:
    make_store(url)
    assert current_schema_version() == 1
    assert upgrade(url) == (1, 1)
    RDBStorage(url).close()


def test_upgrade_runs_registered_step(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(url)
    set_version(url, 0)
    calls: list[int] = []

    def v0_to_v1(conn: sa.engine.Connection) -> None:
        calls.append(0)
        conn.execute(sa.text(
            "INSERT INTO study_attrs (study_id, is_system, attr_key, value_json) "
            "SELECT study_id, :t, 'migrated', '\"yes\"' FROM studies"
        ), {"t": True})

    monkeypatch.setattr(schema, "MIGRATIONS", [(0, v0_to_v1)])
    with pytest.raises(SchemaVersionError, match="autolearn storage upgrade"):
        RDBStorage(url)
    assert upgrade(url) == (0, 1)
    assert upgrade(url) == (1, 1)
    assert calls == [0]
    storage = RDBStorage(url)
    info = storage.get_study(storage.get_study_id("s"))
    assert info.system_attrs["migrated"] == "yes"
    storage.close()


def test_upgrade_chains_steps_to_a_newer_schema(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(url)

    def v1_to_v2(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE studies ADD COLUMN note VARCHAR(64)"))

    def v2_to_v3(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("UPDATE studies SET note = 'v3'"))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(schema, "MIGRATIONS", [(1, v1_to_v2), (2, v2_to_v3)])
    with pytest.raises(SchemaVersionError, match="autolearn storage upgrade"):
        RDBStorage(url)
    assert upgrade(url) == (1, 3)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT note FROM studies")).scalar() == "v3"
        assert conn.execute(
            sa.text("SELECT schema_version FROM autolearn_version_info")).scalar() == 3
    engine.dispose()
    storage = RDBStorage(url)
    assert storage.get_n_trials(storage.get_study_id("s")) == 1
    storage.close()


def test_failed_or_missing_step_leaves_store_unchanged(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store(url)

    def broken(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("step failed")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(schema, "MIGRATIONS", [])
    with pytest.raises(StorageError, match="no migration step"):
        upgrade(url)
    monkeypatch.setattr(schema, "MIGRATIONS", [(1, broken)])
    with pytest.raises(RuntimeError, match="step failed"):
        upgrade(url)
    assert "half_done" not in table_names(url)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    monkeypatch.setattr(schema, "MIGRATIONS", [])
    RDBStorage(url).close()


# ---- records -------------------------------------------------------------------------------------
def test_float_round_trips(url: str) -> None:
    storage = RDBStorage(url)
    sid = storage.create_study((StudyDirection.MINIMIZE,) * 5, "f")
    t = storage.create_trial(sid)
    reported = [float("nan"), float("inf"), float("-inf"), 1e308, -1.7976931348623157e308,
                5e-324, -0.0, 0.1 + 0.2]
    for step, v in enumerate(reported):
        storage.set_trial_intermediate_value(t.trial_id, step, v)
    storage.set_trial_intermediate_value(t.trial_id, 2, 7.5)  # a step can be re-reported
    storage.set_trial_param(t.trial_id, "big", 1e300, FloatDistribution(-1e308, 1e308))
    storage.set_trial_param(t.trial_id, "n", 3.0, IntDistribution(0, 5))
    values = [float("inf"), float("-inf"), 1.7976931348623157e308, 2.0**-1074, 0.1 + 0.2]
    storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, values)
    for got in (storage.get_trial(t.trial_id), storage.get_all_trials(sid)[0]):
        assert got.values == tuple(values)
        ivs = got.intermediate_values
        assert math.isnan(ivs[0]) and ivs[1] == math.inf and ivs[2] == 7.5
        assert [ivs[i] for i in range(3, 8)] == reported[3:]
        assert math.copysign(1.0, ivs[6]) == -1.0
        assert got.params == {"big": 1e300, "n": 3} and isinstance(got.params["n"], int)
    nan_trial = storage.create_trial(sid)
    storage.set_trial_state_values(nan_trial.trial_id, TrialState.COMPLETE, [float("nan")])
    assert math.isnan(storage.get_trial(nan_trial.trial_id).values[0])  # type: ignore[index]
    added = storage.create_trial(sid, create_trial(
        values=[1e308] * 5, intermediate_values={0: float("-inf"), 1: float("nan")}))
    again = storage.get_trial(added.trial_id)
    assert again.values == (1e308,) * 5 and again.intermediate_values[0] == -math.inf
    assert math.isnan(again.intermediate_values[1])
    storage.close()


def test_finish_races_have_one_winner(url: str) -> None:
    storage = RDBStorage(url)
    other = RDBStorage(url)
    sid = storage.create_study(MIN, "r")
    t = storage.create_trial(sid)
    other.set_trial_state_values(t.trial_id, TrialState.FAIL)
    with pytest.raises(TrialStateError, match="FAIL"):
        storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [1.0])
    with pytest.raises(ConfigError):
        storage.set_trial_state_values(t.trial_id, TrialState.WAITING)
    assert storage.get_trial(t.trial_id).state == TrialState.FAIL
    storage.set_trial_attr(t.trial_id, "why", "dead", system=True)
    storage.close()
    other.close()


def test_get_all_trials_uses_one_query_per_table(url: str) -> None:
    storage = RDBStorage(url)
    sid = storage.create_study(MIN, "q")
    for i in range(30):
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", i / 30, FloatDistribution(0, 1))
        storage.set_trial_intermediate_value(t.trial_id, 0, float(i))
        storage.set_trial_attr(t.trial_id, "i", i)
        storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [float(i)])
    statements: list[str] = []
    engine = storage._engines()[0]

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    trials = storage.get_all_trials(sid)
    sa.event.remove(engine, "before_cursor_execute", count)
    assert [t.params["x"] for t in trials] == [i / 30 for i in range(30)]
    assert [t.user_attrs["i"] for t in trials] == list(range(30))
    queries = [s for s in statements if not s.startswith("BEGIN")]
    assert len(queries) == 4, queries
    storage.close()


# ---- processes ---------------------------------------------------------------------------------
def test_pickle_reopens_from_url(url: str) -> None:
    storage = RDBStorage(url, heartbeat_interval=3.0, failed_trial_retries=2)
    sid = storage.create_study(MIN, "p")
    storage.create_trial(sid)
    copy = pickle.loads(pickle.dumps(storage))
    assert copy.url == url and copy.failed_trial_retries == 2 and copy.heartbeat_interval == 3.0
    assert copy.get_n_trials(sid) == 1
    assert copy.create_trial(sid).number == 1
    storage.close()
    assert storage.get_n_trials(sid) == 2  # a closed storage reconnects on demand
    storage.close()
    copy.close()


def _forked_child(storage: RDBStorage, sid: int, queue: multiprocessing.Queue) -> None:
    t = storage.create_trial(sid)
    storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [float(t.number)])
    queue.put(t.number)


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")
def test_forked_child_uses_its_own_connections(url: str) -> None:
    storage = RDBStorage(url)
    sid = storage.create_study(MIN, "fork")
    storage.create_trial(sid)  # the parent's pool now holds a connection
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_forked_child, args=(storage, sid, queue))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert queue.get(timeout=5) == 1
    assert storage.get_trial_by_number(sid, 1).values == (1.0,)
    assert storage.create_trial(sid).number == 2
    storage.close()


def _worker(url: str, study_name: str, n: int) -> None:
    storage = RDBStorage(url)
    sid = storage.get_study_id(study_name)
    dist = FloatDistribution(0.0, 100.0)
    for _ in range(n):
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", float(t.number), dist)
        storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [t.number * 1.5])
    storage.close()


def test_many_processes_share_one_store(url: str) -> None:
    storage = RDBStorage(url)
    sid = storage.create_study(MIN, "mp")
    for _ in range(10):  # enqueued trials must each be claimed by exactly one worker
        storage.create_trial(sid, create_trial(state=TrialState.WAITING))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, "mp", 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    trials = storage.get_all_trials(sid)
    assert [t.number for t in trials] == list(range(100))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert [t.values for t in trials] == [(n * 1.5,) for n in range(100)]
    assert [t.params["x"] for t in trials] == [float(n) for n in range(100)]
    assert storage.get_n_trials(sid, (TrialState.COMPLETE,)) == 100
    storage.close()


@needs_pg
def test_postgresql_url_without_driver_uses_psycopg() -> None:
    assert PG_URL is not None
    reset_postgres(PG_URL)
    plain = sa.engine.make_url(PG_URL).set(drivername="postgresql")
    storage = RDBStorage(plain.render_as_string(hide_password=False))
    assert storage.get_all_studies() == []
    storage.close()
    reset_postgres(PG_URL)
