"""RDB storage: studies in SQLite or PostgreSQL through SQLAlchemy Core.

Every method is one short transaction of as few statements as possible:

* ``create_trial`` claims the oldest WAITING trial with one conditional ``UPDATE ...
  RETURNING`` (on PostgreSQL its sub-select takes ``FOR UPDATE SKIP LOCKED``, so concurrent
  workers never wait for or share a WAITING trial); otherwise it bumps the study's
  ``next_number`` counter with ``UPDATE ... RETURNING`` and inserts the trial. Only the
  study's counter row is locked, and only until that transaction commits.
* ``set_trial_param``, ``set_trial_intermediate_value`` and ``set_trial_attr`` are a single
  ``INSERT ... SELECT ... WHERE state = RUNNING ... ON CONFLICT DO UPDATE``; a second query
  runs only to explain a failure.
* ``set_trial_state_values`` is ``UPDATE ... WHERE state = RUNNING``: a trial is finished at
  most once, whoever races for it.
* ``get_all_trials`` reads each table once for the whole study.

SQLite write transactions start with ``BEGIN IMMEDIATE`` and busy databases are retried,
see :mod:`autolearn.storages._rdb.engine`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Container, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError

from autolearn._records import FrozenTrial, StudyDirection, TrialState
from autolearn.exceptions import (
    ConfigError,
    DuplicatedStudyError,
    StorageError,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialStateError,
)
from autolearn.space import BaseDistribution, distribution_from_json, distribution_to_json
from autolearn.storages._base import BaseStorage, StudyInfo
from autolearn.storages._rdb import schema
from autolearn.storages._rdb.engine import (
    check_sqlite_file,
    ensure_parent_dir,
    make_engine,
    read_only,
    sqlite_path,
    transact,
)

__all__ = ["RDBStorage"]

_S = schema.studies
_SA = schema.study_attrs
_T = schema.trials
_P = schema.trial_params
_IV = schema.trial_intermediate_values
_TA = schema.trial_attrs

_RUNNING = int(TrialState.RUNNING)
_WAITING = int(TrialState.WAITING)
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

#: A result row (tuple-like; columns by position).
_Row = Any


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


@functools.lru_cache(maxsize=4096)
def _dist_to_json(dist: BaseDistribution) -> str:
    return distribution_to_json(dist)


@functools.lru_cache(maxsize=4096)
def _dist_from_json(text: str) -> BaseDistribution:
    return distribution_from_json(text)


def _attr_json(key: str, value: Any) -> str:
    try:
        return schema.json_dumps(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"attribute {key!r} must be JSON-serialisable, but got {value!r} "
            f"of type {type(value).__name__}"
        ) from None


def _naive(moment: _dt.datetime | None) -> _dt.datetime | None:
    # Columns hold naive local time (as datetime.now() gives); convert aware datetimes.
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone().replace(tzinfo=None)


def _values_json(values: Sequence[float] | None) -> str | None:
    if values is None:
        return None
    return json.dumps([float(v) for v in values])


def _values_from_json(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    return tuple(float(v) for v in json.loads(text))


class _Statements:
    """Statements built once per dialect (SQLAlchemy then reuses their compiled form).

    Conditional inserts say whether they wrote through ``RETURNING`` (no row: the trial is
    not RUNNING), not through the row count, which SQLAlchemy does not keep for INSERT
    statements on every driver (psycopg).
    """

    def __init__(self, dialect: str) -> None:
        dialect_insert = _pg.insert if dialect == "postgresql" else _sqlite.insert
        sid, tid = bindparam("p_sid", type_=Integer), bindparam("p_tid", type_=Integer)
        # Row locks only exist on PostgreSQL; SQLite's IMMEDIATE transaction holds the
        # database's single write lock instead (SQLAlchemy renders no FOR clause there).
        pg = dialect == "postgresql"

        waiting = (
            select(_T.c.trial_id)
            .where(_T.c.study_id == sid, _T.c.state == _WAITING)
            .order_by(_T.c.number)
            .limit(1)
        )
        if pg:
            waiting = waiting.with_for_update(skip_locked=True)
        self.claim_waiting = (
            update(_T)
            .where(_T.c.trial_id == waiting.scalar_subquery(), _T.c.state == _WAITING)
            .values(
                state=_RUNNING,
                datetime_start=bindparam("p_now"),
                heartbeat=bindparam("p_hb"),
            )
            .returning(_T.c.trial_id)
        )
        self.bump_number = (
            update(_S)
            .where(_S.c.study_id == sid)
            .values(next_number=_S.c.next_number + 1)
            .returning(_S.c.next_number)
        )
        self.insert_trial = insert(_T)
        self.finish = (
            update(_T)
            .where(_T.c.trial_id == tid, _T.c.state == _RUNNING)
            .values(
                state=bindparam("p_state"),
                values_json=bindparam("p_values"),
                datetime_complete=bindparam("p_now"),
            )
        )
        self.heartbeat = (
            update(_T)
            .where(_T.c.trial_id.in_(bindparam("p_ids", expanding=True)),
                   _T.c.state == _RUNNING)
            .values(heartbeat=bindparam("p_now"))
        )
        self.trial_state = select(_T.c.number, _T.c.state).where(_T.c.trial_id == tid)

        def running_trial(*columns: Any) -> Any:
            sel = select(_T.c.trial_id, *columns).where(
                _T.c.trial_id == tid, _T.c.state == _RUNNING
            )
            return sel.with_for_update(read=True) if pg else sel

        ins = dialect_insert(_P).from_select(
            ["trial_id", "param_name", "param_value", "distribution_json"],
            running_trial(
                bindparam("p_name", type_=String),
                bindparam("p_value", type_=Float(precision=53)),
                bindparam("p_dist", type_=Text),
            ),
        )
        self.set_param = ins.on_conflict_do_update(
            index_elements=[_P.c.trial_id, _P.c.param_name],
            set_={
                "param_value": ins.excluded.param_value,
                "distribution_json": ins.excluded.distribution_json,
            },
        ).returning(_P.c.trial_id)
        ins = dialect_insert(_IV).from_select(
            ["trial_id", "step", "value", "value_type"],
            running_trial(
                bindparam("p_step", type_=Integer),
                bindparam("p_value", type_=Float(precision=53)),
                bindparam("p_type", type_=Integer),
            ),
        )
        self.set_intermediate = ins.on_conflict_do_update(
            index_elements=[_IV.c.trial_id, _IV.c.step],
            set_={"value": ins.excluded.value, "value_type": ins.excluded.value_type},
        ).returning(_IV.c.trial_id)
        attr_columns = (
            bindparam("p_system", type_=Boolean),
            bindparam("p_key", type_=String),
            bindparam("p_json", type_=Text),
        )
        user_ok = select(_T.c.trial_id, *attr_columns).where(
            _T.c.trial_id == tid, _T.c.state.in_((_RUNNING, _WAITING))
        )
        system_ok = select(_T.c.trial_id, *attr_columns).where(_T.c.trial_id == tid)
        if pg:
            user_ok = user_ok.with_for_update(read=True)
            system_ok = system_ok.with_for_update(read=True)
        names = ["trial_id", "is_system", "attr_key", "value_json"]
        self.set_trial_attr = {}
        for system, source in ((False, user_ok), (True, system_ok)):
            ins = dialect_insert(_TA).from_select(names, source)
            self.set_trial_attr[system] = ins.on_conflict_do_update(
                index_elements=[_TA.c.trial_id, _TA.c.is_system, _TA.c.attr_key],
                set_={"value_json": ins.excluded.value_json},
            ).returning(_TA.c.trial_id)
        ins = dialect_insert(_SA).from_select(
            ["study_id", "is_system", "attr_key", "value_json"],
            select(_S.c.study_id, *attr_columns).where(_S.c.study_id == sid),
        )
        self.set_study_attr = ins.on_conflict_do_update(
            index_elements=[_SA.c.study_id, _SA.c.is_system, _SA.c.attr_key],
            set_={"value_json": ins.excluded.value_json},
        ).returning(_SA.c.study_id)

        # ---- reads -------------------------------------------------------------------
        trial_columns = (
            _T.c.trial_id, _T.c.number, _T.c.state, _T.c.values_json,
            _T.c.datetime_start, _T.c.datetime_complete,
        )
        param_columns = (_P.c.trial_id, _P.c.param_name, _P.c.param_value,
                         _P.c.distribution_json)
        attr_cols = (_TA.c.trial_id, _TA.c.is_system, _TA.c.attr_key, _TA.c.value_json)
        iv_columns = (_IV.c.trial_id, _IV.c.step, _IV.c.value, _IV.c.value_type)

        self.trial_by_id = select(*trial_columns).where(_T.c.trial_id == tid)
        self.trial_by_number = select(*trial_columns).where(
            _T.c.study_id == sid, _T.c.number == bindparam("p_number", type_=Integer)
        )
        self.params_of = select(*param_columns).where(_P.c.trial_id == tid)
        self.attrs_of = select(*attr_cols).where(_TA.c.trial_id == tid)
        self.ivs_of = select(*iv_columns).where(_IV.c.trial_id == tid)

        states: Any = bindparam("p_states", expanding=True)
        self.study_trials: dict[bool, Any] = {}
        self.study_params: dict[bool, Any] = {}
        self.study_attrs: dict[bool, Any] = {}
        self.study_ivs: dict[bool, Any] = {}
        for filtered in (False, True):
            cond = [_T.c.study_id == sid]
            if filtered:
                cond.append(_T.c.state.in_(states))
            self.study_trials[filtered] = (
                select(*trial_columns).where(*cond).order_by(_T.c.number)
            )
            self.study_params[filtered] = (
                select(*param_columns).join(_T, _T.c.trial_id == _P.c.trial_id).where(*cond)
            )
            self.study_attrs[filtered] = (
                select(*attr_cols).join(_T, _T.c.trial_id == _TA.c.trial_id).where(*cond)
            )
            self.study_ivs[filtered] = (
                select(*iv_columns).join(_T, _T.c.trial_id == _IV.c.trial_id).where(*cond)
                .order_by(_IV.c.trial_id, _IV.c.step)
            )
        self.n_trials = {
            False: select(func.count()).select_from(_T).where(_T.c.study_id == sid),
            True: select(func.count()).select_from(_T).where(
                _T.c.study_id == sid, _T.c.state.in_(states)
            ),
        }
        self.stale = (
            select(_T.c.trial_id)
            .where(
                _T.c.study_id == sid,
                _T.c.state == _RUNNING,
                _T.c.heartbeat.is_not(None),
                _T.c.heartbeat < bindparam("p_limit", type_=Float(precision=53)),
            )
            .order_by(_T.c.trial_id)
        )
        self.study_exists = select(_S.c.study_id).where(_S.c.study_id == sid)
        self.study_id_by_name = select(_S.c.study_id).where(
            _S.c.study_name == bindparam("p_name", type_=String)
        )
        study_columns = (_S.c.study_id, _S.c.study_name, _S.c.directions_json,
                         _S.c.datetime_start)
        self.all_studies = select(*study_columns).order_by(_S.c.study_id)
        self.one_study = select(*study_columns).where(_S.c.study_id == sid)
        sa_columns = (_SA.c.study_id, _SA.c.is_system, _SA.c.attr_key, _SA.c.value_json)
        self.all_study_attrs = select(*sa_columns)
        self.one_study_attrs = select(*sa_columns).where(_SA.c.study_id == sid)
        self.all_counts = select(_T.c.study_id, func.count()).group_by(_T.c.study_id)
        self.one_count = select(_T.c.study_id, func.count()).where(
            _T.c.study_id == sid
        ).group_by(_T.c.study_id)
        self.delete_study = delete(_S).where(_S.c.study_id == sid)


def _prepare(engine: Engine, url: str, is_sqlite: bool) -> None:
    """Check (or create) the schema behind a new engine; raise before writing anything."""
    version = transact(read_only(engine), schema.read_version)
    if version is None:

        def create(conn: Connection) -> int:
            schema.lock_for_schema_change(conn)
            found = schema.read_version(conn)
            if found is None:
                schema.create_schema(conn)
                return schema.current_schema_version()
            return found

        version = transact(engine, create)
    schema.check_version(version, url)
    if is_sqlite:
        _ensure_wal(engine)


def _ensure_wal(engine: Engine) -> None:
    # journal_mode is persistent and cannot change inside a transaction: use the raw
    # connection (with pysqlite's implicit transactions off, each PRAGMA runs on its own).
    def switch(conn: Connection) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None
        mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            raw.execute("PRAGMA journal_mode=WAL")

    for attempt in range(50):
        with engine.connect() as conn:
            try:
                switch(conn)
                return
            except sqlite3.OperationalError as exc:  # another process holds the database
                if "locked" not in str(exc).lower() or attempt == 49:
                    raise StorageError(f"cannot switch SQLite to WAL mode: {exc}") from exc
        time.sleep(0.05)


class RDBStorage(BaseStorage):
    """Storage in a relational database: SQLite (one machine) or PostgreSQL (many).

    Args:
        url: SQLAlchemy URL, e.g. ``"sqlite:///study.db"`` or
            ``"postgresql+psycopg://user@host:5432/db"`` (``postgresql://`` uses psycopg 3).
            A SQLite file (and its directory) is created on first use.
        engine_kwargs: Extra keyword arguments for :func:`sqlalchemy.create_engine`.
        heartbeat_interval: See :class:`~autolearn.storages.BaseStorage`.
        grace_period: See :class:`~autolearn.storages.BaseStorage`.
        failed_trial_retries: See :class:`~autolearn.storages.BaseStorage`.

    Raises:
        NotAStoreError: The file or database holds something else; it is left untouched.
        SchemaVersionError: The store has another schema version; nothing is written.
        ConfigError: The URL is invalid or names an in-memory SQLite database.

    The storage may be pickled (the connection pool is not: the copy reconnects from
    ``url``) and used from forked processes (the child drops the parent's connections).

    Example:
        >>> import tempfile
        >>> from autolearn.storages import RDBStorage
        >>> from autolearn.study import StudyDirection
        >>> path = tempfile.mkdtemp() + "/study.db"
        >>> storage = RDBStorage(f"sqlite:///{path}")
        >>> storage.create_study([StudyDirection.MINIMIZE], "demo")
        1
        >>> storage.close()
    """

    def __init__(
        self,
        url: str,
        *,
        engine_kwargs: dict[str, Any] | None = None,
        heartbeat_interval: float | None = 10.0,
        grace_period: float | None = None,
        failed_trial_retries: int = 0,
    ) -> None:
        super().__init__(
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            failed_trial_retries=failed_trial_retries,
        )
        if not isinstance(url, str):
            raise ConfigError(f"`url` must be a string, but got {url!r}")
        self.url = self._url = url
        self._engine_kwargs = dict(engine_kwargs or {})
        self._sqlite_path = sqlite_path(url)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._reader: Engine | None = None
        self._pid = os.getpid()
        self._sql: _Statements | None = None
        self._open()

    # ---- engine life cycle -----------------------------------------------------------
    def _open(self) -> None:
        with self._lock:
            if self._engine is not None:
                return
            path = self._sqlite_path
            if path is not None and not check_sqlite_file(path):
                ensure_parent_dir(path)
            engine = make_engine(self._url, self._engine_kwargs)
            try:
                _prepare(engine, self._url, path is not None)
            except BaseException:
                engine.dispose()
                raise
            self._sql = _Statements(engine.dialect.name)
            self._reader = read_only(engine)
            self._pid = os.getpid()
            self._engine = engine

    def _engines(self) -> tuple[Engine, Engine]:
        engine = self._engine
        if engine is None:
            self._open()
            engine = self._engine
            assert engine is not None
        elif self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    # A forked child must not touch the parent's connections.
                    engine.dispose(close=False)
                    self._reader = read_only(engine)
                    self._pid = os.getpid()
        assert self._reader is not None
        return engine, self._reader

    def _write(self, fn: Any) -> Any:
        return transact(self._engines()[0], fn)

    def _read(self, fn: Any) -> Any:
        return transact(self._engines()[1], fn)

    @property
    def _q(self) -> _Statements:
        if self._sql is None:
            self._engines()
        assert self._sql is not None
        return self._sql

    def close(self) -> None:
        """Close every pooled connection; the next call reconnects from :attr:`url`."""
        with self._lock:
            engine, self._engine, self._reader = self._engine, None, None
        if engine is not None:
            engine.dispose()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_engine", "_reader", "_sql", "_lock"):
            state[name] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RDBStorage({schema.display_url(self._url)!r})"

    # ---- helpers ---------------------------------------------------------------------
    def _check_study(self, conn: Connection, study_id: int) -> None:
        if conn.execute(self._q.study_exists, {"p_sid": study_id}).first() is None:
            raise StudyNotFoundError(f"no study with id {study_id} in this storage")

    def _explain(self, conn: Connection, trial_id: int, what: str) -> None:
        row = conn.execute(self._q.trial_state, {"p_tid": trial_id}).first()
        if row is None:
            raise TrialNotFoundError(f"no trial with id {trial_id} in this storage")
        state = TrialState(row[1])
        raise TrialStateError(f"trial {row[0]} is {state.name}; {what}")

    @staticmethod
    def _build(
        row: _Row,
        params: Sequence[_Row],
        attrs: Sequence[_Row],
        ivs: Sequence[_Row],
    ) -> FrozenTrial:
        distributions: dict[str, BaseDistribution] = {}
        external: dict[str, Any] = {}
        for _, name, value, dist_json in params:
            dist = _dist_from_json(dist_json)
            distributions[name] = dist
            external[name] = dist.to_external(float("nan") if value is None else value)
        user: dict[str, Any] = {}
        system: dict[str, Any] = {}
        for _, is_system, key, value_json in attrs:
            (system if is_system else user)[key] = json.loads(value_json)
        return FrozenTrial(
            number=row[1],
            trial_id=row[0],
            state=TrialState(row[2]),
            values=_values_from_json(row[3]),
            params=external,
            distributions=distributions,
            user_attrs=user,
            system_attrs=system,
            intermediate_values={
                step: schema.decode_float(value, vt) for _, step, value, vt in ivs
            },
            datetime_start=row[4],
            datetime_complete=row[5],
        )

    def _load(self, conn: Connection, row: _Row | None) -> FrozenTrial | None:
        if row is None:
            return None
        q, arg = self._q, {"p_tid": row[0]}
        return self._build(
            row,
            conn.execute(q.params_of, arg).all(),
            conn.execute(q.attrs_of, arg).all(),
            conn.execute(q.ivs_of, arg).all(),
        )

    def _load_studies(self, conn: Connection, study_id: int | None) -> list[StudyInfo]:
        q = self._q
        if study_id is None:
            rows = conn.execute(q.all_studies).all()
            attr_rows = conn.execute(q.all_study_attrs).all()
            counts: dict[int, int] = {sid: n for sid, n in conn.execute(q.all_counts)}
        else:
            arg = {"p_sid": study_id}
            rows = conn.execute(q.one_study, arg).all()
            if not rows:
                raise StudyNotFoundError(f"no study with id {study_id} in this storage")
            attr_rows = conn.execute(q.one_study_attrs, arg).all()
            counts = {sid: n for sid, n in conn.execute(q.one_count, arg)}
        attrs: dict[int, tuple[dict[str, Any], dict[str, Any]]] = defaultdict(lambda: ({}, {}))
        for sid, is_system, key, value_json in attr_rows:
            attrs[sid][1 if is_system else 0][key] = json.loads(value_json)
        infos = []
        for sid, name, directions_json, started in rows:
            user, system = attrs[sid]
            infos.append(
                StudyInfo(
                    study_id=sid,
                    study_name=name,
                    directions=tuple(StudyDirection(d) for d in json.loads(directions_json)),
                    user_attrs=user,
                    system_attrs=system,
                    n_trials=int(counts.get(sid, 0)),
                    datetime_start=started,
                )
            )
        return infos

    # ---- studies ---------------------------------------------------------------------
    def create_study(self, directions: Sequence[StudyDirection], study_name: str) -> int:
        directions_json = json.dumps([int(StudyDirection(d)) for d in directions])
        now = _dt.datetime.now()

        def fn(conn: Connection) -> int:
            try:
                result = conn.execute(
                    insert(_S).values(
                        study_name=study_name,
                        directions_json=directions_json,
                        next_number=0,
                        datetime_start=now,
                    )
                )
            except IntegrityError:
                raise DuplicatedStudyError(
                    f"a study named {study_name!r} already exists"
                ) from None
            return _new_id(result)

        return int(self._write(fn))

    def delete_study(self, study_id: int) -> None:
        def fn(conn: Connection) -> None:
            if conn.execute(self._q.delete_study, {"p_sid": study_id}).rowcount == 0:
                raise StudyNotFoundError(f"no study with id {study_id} in this storage")

        self._write(fn)

    def get_study_id(self, study_name: str) -> int:
        def fn(conn: Connection) -> int:
            row = conn.execute(self._q.study_id_by_name, {"p_name": study_name}).first()
            if row is None:
                raise StudyNotFoundError(f"no study named {study_name!r} in this storage")
            return int(row[0])

        return int(self._read(fn))

    def get_all_studies(self) -> list[StudyInfo]:
        return list(self._read(lambda conn: self._load_studies(conn, None)))

    def get_study(self, study_id: int) -> StudyInfo:
        infos = self._read(lambda conn: self._load_studies(conn, study_id))
        return infos[0]  # type: ignore[no-any-return]

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        params = {"p_sid": study_id, "p_system": bool(system), "p_key": key,
                  "p_json": _attr_json(key, value)}

        def fn(conn: Connection) -> None:
            if conn.execute(self._q.set_study_attr, params).first() is None:
                raise StudyNotFoundError(f"no study with id {study_id} in this storage")

        self._write(fn)

    # ---- trials ----------------------------------------------------------------------
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        if template is not None:
            return self._add_trial(study_id, template)
        q = self._q

        def fn(conn: Connection) -> FrozenTrial:
            now = _dt.datetime.now()
            heartbeat = time.time() if self.heartbeat_interval else None
            claimed = conn.execute(
                q.claim_waiting, {"p_sid": study_id, "p_now": now, "p_hb": heartbeat}
            ).first()
            if claimed is not None:
                trial = self._load(
                    conn, conn.execute(q.trial_by_id, {"p_tid": claimed[0]}).first()
                )
                assert trial is not None
                return trial
            next_number = conn.execute(q.bump_number, {"p_sid": study_id}).scalar()
            if next_number is None:
                raise StudyNotFoundError(f"no study with id {study_id} in this storage")
            number = int(next_number) - 1
            result = conn.execute(
                q.insert_trial,
                {"study_id": study_id, "number": number, "state": _RUNNING,
                 "datetime_start": now, "heartbeat": heartbeat},
            )
            return FrozenTrial(
                number=number,
                trial_id=_new_id(result),
                state=TrialState.RUNNING,
                values=None,
                params={},
                distributions={},
                datetime_start=now,
            )

        return self._write(fn)  # type: ignore[no-any-return]

    def _add_trial(self, study_id: int, template: FrozenTrial) -> FrozenTrial:
        state = TrialState(template.state)
        if set(template.params) != set(template.distributions):
            raise ConfigError(
                "`params` and `distributions` of a trial must have the same keys, but got "
                f"{sorted(template.params)} and {sorted(template.distributions)}"
            )
        internal = {
            name: float(dist.to_internal(template.params[name]))
            for name, dist in template.distributions.items()
        }
        attr_rows = [
            {"is_system": system, "attr_key": key, "value_json": _attr_json(key, value)}
            for system, attrs in ((False, template.user_attrs), (True, template.system_attrs))
            for key, value in attrs.items()
        ]
        ivs = {int(step): float(v) for step, v in template.intermediate_values.items()}
        values_json = _values_json(template.values)
        start, complete = _naive(template.datetime_start), _naive(template.datetime_complete)
        heartbeat = time.time() if state == TrialState.RUNNING and self.heartbeat_interval \
            else None
        q = self._q

        def fn(conn: Connection) -> tuple[int, int]:
            next_number = conn.execute(q.bump_number, {"p_sid": study_id}).scalar()
            if next_number is None:
                raise StudyNotFoundError(f"no study with id {study_id} in this storage")
            number = int(next_number) - 1
            trial_id = _new_id(conn.execute(
                q.insert_trial,
                {"study_id": study_id, "number": number, "state": int(state),
                 "values_json": values_json, "datetime_start": start,
                 "datetime_complete": complete, "heartbeat": heartbeat},
            ))
            if internal:
                conn.execute(insert(_P), [
                    {"trial_id": trial_id, "param_name": name, "param_value": value,
                     "distribution_json": _dist_to_json(template.distributions[name])}
                    for name, value in internal.items()
                ])
            if attr_rows:
                conn.execute(insert(_TA), [dict(r, trial_id=trial_id) for r in attr_rows])
            if ivs:
                conn.execute(insert(_IV), [
                    dict(zip(("value", "value_type"), schema.encode_float(v), strict=True),
                         trial_id=trial_id, step=step)
                    for step, v in ivs.items()
                ])
            return number, trial_id

        number, trial_id = self._write(fn)
        return FrozenTrial(
            number=number,
            trial_id=trial_id,
            state=state,
            values=_values_from_json(values_json),
            params={n: template.distributions[n].to_external(v) for n, v in internal.items()},
            distributions=dict(template.distributions),
            user_attrs=json.loads(schema.json_dumps(dict(template.user_attrs))),
            system_attrs=json.loads(schema.json_dumps(dict(template.system_attrs))),
            intermediate_values=ivs,
            datetime_start=start,
            datetime_complete=complete,
        )

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        params = {"p_tid": trial_id, "p_name": name, "p_value": float(internal_value),
                  "p_dist": _dist_to_json(distribution)}
        q = self._q

        def fn(conn: Connection) -> None:
            if conn.execute(q.set_param, params).first() is None:
                self._explain(conn, trial_id, "only a RUNNING trial can get parameters")

        self._write(fn)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> None:
        state = TrialState(state)
        if state not in _FINISHED:
            raise ConfigError(
                f"a trial can only be finished as COMPLETE, PRUNED or FAIL, but got {state.name}"
            )
        params = {"p_tid": trial_id, "p_state": int(state), "p_values": _values_json(values),
                  "p_now": _dt.datetime.now()}
        q = self._q

        def fn(conn: Connection) -> None:
            if conn.execute(q.finish, params).rowcount == 0:
                self._explain(conn, trial_id, "only a RUNNING trial can be finished")

        self._write(fn)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        number, value_type = schema.encode_float(float(value))
        params = {"p_tid": trial_id, "p_step": int(step), "p_value": number,
                  "p_type": int(value_type)}
        q = self._q

        def fn(conn: Connection) -> None:
            if conn.execute(q.set_intermediate, params).first() is None:
                self._explain(conn, trial_id, "only a RUNNING trial can report values")

        self._write(fn)

    def set_trial_attr(self, trial_id: int, key: str, value: Any, *, system: bool = False) -> None:
        params = {"p_tid": trial_id, "p_system": bool(system), "p_key": key,
                  "p_json": _attr_json(key, value)}
        stmt = self._q.set_trial_attr[bool(system)]

        def fn(conn: Connection) -> None:
            if conn.execute(stmt, params).first() is None:
                self._explain(
                    conn, trial_id, "user attributes of a finished trial cannot change"
                )

        self._write(fn)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        q = self._q

        def fn(conn: Connection) -> FrozenTrial:
            trial = self._load(conn, conn.execute(q.trial_by_id, {"p_tid": trial_id}).first())
            if trial is None:
                raise TrialNotFoundError(f"no trial with id {trial_id} in this storage")
            return trial

        return self._read(fn)  # type: ignore[no-any-return]

    def get_trial_by_number(self, study_id: int, number: int) -> FrozenTrial:
        q = self._q

        def fn(conn: Connection) -> FrozenTrial:
            row = conn.execute(q.trial_by_number, {"p_sid": study_id, "p_number": number}).first()
            trial = self._load(conn, row)
            if trial is None:
                self._check_study(conn, study_id)
                raise TrialNotFoundError(f"study {study_id} has no trial number {number}")
            return trial

        return self._read(fn)  # type: ignore[no-any-return]

    @staticmethod
    def _state_list(states: Container[TrialState] | None) -> list[int] | None:
        if states is None:
            return None
        return [int(s) for s in TrialState if s in states]

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        wanted = self._state_list(states)
        filtered = wanted is not None
        args: dict[str, Any] = {"p_sid": study_id}
        if filtered:
            args["p_states"] = wanted
        q = self._q

        def fn(conn: Connection) -> list[FrozenTrial]:
            rows = conn.execute(q.study_trials[filtered], args).all() if wanted != [] else []
            if not rows:
                self._check_study(conn, study_id)
                return []
            params: dict[int, list[_Row]] = defaultdict(list)
            attrs: dict[int, list[_Row]] = defaultdict(list)
            ivs: dict[int, list[_Row]] = defaultdict(list)
            for target, stmt in ((params, q.study_params), (attrs, q.study_attrs),
                                 (ivs, q.study_ivs)):
                for r in conn.execute(stmt[filtered], args):
                    target[r[0]].append(r)
            empty: list[_Row] = []
            return [
                self._build(r, params.get(r[0], empty), attrs.get(r[0], empty),
                            ivs.get(r[0], empty))
                for r in rows
            ]

        return self._read(fn)  # type: ignore[no-any-return]

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        wanted = self._state_list(states)
        args: dict[str, Any] = {"p_sid": study_id}
        if wanted is not None:
            args["p_states"] = wanted
        q = self._q

        def fn(conn: Connection) -> int:
            n = 0 if wanted == [] else int(
                conn.execute(q.n_trials[wanted is not None], args).scalar() or 0
            )
            if n == 0:
                self._check_study(conn, study_id)
            return n

        return int(self._read(fn))

    # ---- leases ----------------------------------------------------------------------
    def record_heartbeat(self, trial_ids: Sequence[int]) -> None:
        ids = [int(t) for t in trial_ids]
        if not ids:
            return
        q = self._q
        self._write(lambda conn: conn.execute(q.heartbeat, {"p_ids": ids, "p_now": time.time()}))

    def get_stale_trial_ids(self, study_id: int, grace_period: float) -> list[int]:
        q = self._q

        def fn(conn: Connection) -> list[int]:
            limit = time.time() - grace_period
            ids = [int(r[0]) for r in conn.execute(q.stale, {"p_sid": study_id,
                                                             "p_limit": limit})]
            if not ids:
                self._check_study(conn, study_id)
            return ids

        return self._read(fn)  # type: ignore[no-any-return]
