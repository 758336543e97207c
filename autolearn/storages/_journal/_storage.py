"""Append-only journal file storage for many processes without a database server.

The file is a log: a header line, then one JSON operation per line (see
:mod:`autolearn.storages._journal._model`). Each process replays the log into memory and
answers reads from there. A write takes an exclusive ``flock`` on the journal file,
replays what other processes appended since this process last looked, validates the
operation against that up-to-date state, appends it with one ``write`` on an
``O_APPEND`` descriptor and unlocks. A read takes a shared lock only when the file grew.

Crash safety: a process killed inside ``write`` can leave an incomplete last line.
Readers only replay lines that end in ``\\n``; the next writer (which holds the exclusive
lock, so no write can be in progress) truncates the incomplete line away. Its operation
never returned to its caller, so nothing that was acknowledged is lost.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Container, Sequence
from typing import Any

from autolearn._records import FrozenTrial, StudyDirection, TrialState
from autolearn.exceptions import (
    ConfigError,
    DuplicatedStudyError,
    NotAStoreError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialStateError,
)
from autolearn.space import BaseDistribution, distribution_to_json
from autolearn.storages._base import BaseStorage, StudyInfo
from autolearn.storages._journal._model import JournalModel, _Study, _Trial

__all__ = ["FORMAT_VERSION", "JournalStorage"]

_logger = logging.getLogger(__name__)

#: Name in the header line that marks a file as an autolearn journal.
FORMAT_NAME = "autolearn-journal"
#: Version of the log format this module reads and writes.
FORMAT_VERSION = 1
_HEADER = (
    json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}, separators=(",", ":"))
    + "\n"
).encode()
#: How much of a file is read to find the header line.
_HEAD_BYTES = 4096
#: Replay reads the log in chunks of this size (a longer line is read whole).
_CHUNK = 1 << 24

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=True).encode
_loads = json.loads
_getpid = os.getpid
_fstat = os.fstat
_flock = fcntl.flock
_LOCK_EX, _LOCK_SH, _LOCK_UN = fcntl.LOCK_EX, fcntl.LOCK_SH, fcntl.LOCK_UN
_RUNNING = TrialState.RUNNING
_WAITING = TrialState.WAITING

_instances: weakref.WeakSet[JournalStorage] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for storage in list(_instances):
        storage._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_json(key: str, value: Any) -> Any:
    """The JSON round trip of ``value`` (what every replaying process will see)."""
    try:
        return _loads(_encode(value))
    except (TypeError, ValueError):
        raise ConfigError(
            f"attribute {key!r} must be JSON-serialisable, but got {value!r} "
            f"of type {type(value).__name__}"
        ) from None


def _parse_header(head: bytes, path: str) -> int | None:
    """Length of the header line, or None if ``head`` is empty or a torn header write.

    Raises:
        NotAStoreError: ``head`` is not the start of an autolearn journal.
        SchemaVersionError: the journal was written by a newer format version.
    """
    nl = head.find(b"\n")
    if nl < 0:
        if _HEADER.startswith(head):
            return None
        raise NotAStoreError(
            f"{path!r} is not an autolearn journal (no header line); it was left untouched. "
            "Pass a new path, or the path of a journal written by autolearn."
        )
    try:
        header = _loads(head[:nl])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise NotAStoreError(
            f"{path!r} is not an autolearn journal (its first line is not a journal header); "
            "it was left untouched. Pass a new path, or the path of a journal written by "
            "autolearn."
        )
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise NotAStoreError(
            f"{path!r} has a journal header with an invalid version {version!r}; it was left "
            "untouched"
        )
    if version > FORMAT_VERSION:
        raise SchemaVersionError(
            f"{path!r} is a journal of format version {version}, but this autolearn reads "
            f"versions up to {FORMAT_VERSION}; upgrade autolearn to open it"
        )
    return nl + 1


class JournalStorage(BaseStorage):
    """Study store in an append-only log file shared by processes through file locks.

    Use it for many worker processes on one machine, or on a shared file system whose
    ``flock`` works across clients (local disks; NFSv4), when no database server is at
    hand. Safe for threads, and for ``fork``/``spawn`` workers: the storage pickles as
    its path and options, and a forked child reopens the file on first use.

    Args:
        path: The journal file; created (with its header line) if missing or empty.
        heartbeat_interval: See :class:`~autolearn.storages.BaseStorage`.
        grace_period: See :class:`~autolearn.storages.BaseStorage`.
        failed_trial_retries: See :class:`~autolearn.storages.BaseStorage`.

    Raises:
        NotAStoreError: ``path`` exists and is not an autolearn journal (left untouched).
        SchemaVersionError: ``path`` is a journal of a newer format version.
        StorageError: the file cannot be opened.

    Example:
        >>> import tempfile, os
        >>> from autolearn.storages import JournalStorage
        >>> from autolearn.study import StudyDirection, TrialState
        >>> path = os.path.join(tempfile.mkdtemp(), "study.jsonl")
        >>> storage = JournalStorage(path)
        >>> sid = storage.create_study([StudyDirection.MINIMIZE], "demo")
        >>> trial = storage.create_trial(sid)
        >>> storage.set_trial_state_values(trial.trial_id, TrialState.COMPLETE, [0.5])
        >>> JournalStorage(path).get_all_trials(sid)[0].values
        (0.5,)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        heartbeat_interval: float | None = 10.0,
        grace_period: float | None = None,
        failed_trial_retries: int = 0,
    ) -> None:
        super().__init__(
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            failed_trial_retries=failed_trial_retries,
        )
        self._path = os.path.abspath(os.fspath(path))
        self.url = "journal://" + self._path
        self._init_runtime()
        self._open()
        _instances.add(self)

    @property
    def path(self) -> str:
        """Absolute path of the journal file."""
        return self._path

    # ---- file handling ---------------------------------------------------------------
    def _init_runtime(self) -> None:
        self._lock = threading.RLock()
        self._pid = _getpid()
        self._fd: int | None = None
        self._closer: weakref.finalize[Any, Any] | None = None
        self._writable = True
        self._model = JournalModel()
        self._offset = 0
        self._dist_json: dict[BaseDistribution, str] = {}

    def _open(self) -> int:
        """Open the file, check (or write) its header; returns the descriptor."""
        path = self._path
        writable = True
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except IsADirectoryError:
            raise NotAStoreError(f"{path!r} is a directory, not an autolearn journal") from None
        except PermissionError:
            writable = False
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise StorageError(f"cannot open journal {path!r}: {exc}") from exc
        except OSError as exc:
            raise StorageError(f"cannot open journal {path!r}: {exc}") from exc
        try:
            header_len = self._read_header(fd, writable)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        self._writable = writable
        if self._offset == 0:
            self._offset = header_len
        return fd

    def _read_header(self, fd: int, writable: bool) -> int:
        _flock(fd, _LOCK_SH)
        try:
            header_len = _parse_header(os.pread(fd, _HEAD_BYTES, 0), self._path)
        finally:
            _flock(fd, _LOCK_UN)
        if header_len is not None:
            return header_len
        if not writable:
            raise NotAStoreError(
                f"{self._path!r} is empty and read-only, so it cannot become a journal"
            )
        _flock(fd, _LOCK_EX)
        try:
            # Another process may have initialised the file meanwhile: look again.
            header_len = _parse_header(os.pread(fd, _HEAD_BYTES, 0), self._path)
            if header_len is None:
                if _fstat(fd).st_size:
                    _logger.warning("Journal %s: completing a header torn by a crash.",
                                    self._path)
                    os.ftruncate(fd, 0)
                os.write(fd, _HEADER)
                header_len = len(_HEADER)
        finally:
            _flock(fd, _LOCK_UN)
        return header_len

    def _forget_parent(self) -> None:
        """In a forked child: drop the parent's descriptor and thread lock, keep the state.

        The inherited descriptor shares its open file description (and so its ``flock``)
        with the parent, so the child must open the file again.
        """
        if self._closer is not None:
            self._closer.detach()
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None
        self._closer = None
        self._lock = threading.RLock()
        self._pid = _getpid()

    def _guard(self) -> threading.RLock:
        if self._pid != _getpid():
            self._forget_parent()
        return self._lock

    def close(self) -> None:
        """Close the file; a later call reopens it (the replayed state is kept)."""
        with self._guard():
            if self._closer is not None:
                self._closer()
            self._fd = None
            self._closer = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self._path,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "failed_trial_retries": self.failed_trial_retries,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._path = state["path"]
        self.url = "journal://" + self._path
        self.heartbeat_interval = state["heartbeat_interval"]
        self.grace_period = state["grace_period"]
        self.failed_trial_retries = state["failed_trial_retries"]
        self._init_runtime()
        _instances.add(self)

    # ---- log replay and append -------------------------------------------------------
    def _replay(self, fd: int, size: int, *, repair: bool) -> None:
        """Apply the complete lines in [offset, size); repair a torn tail if ``repair``."""
        pos = self._offset
        if size < pos:
            raise StorageError(
                f"journal {self._path!r} shrank from {pos} to {size} bytes: it was truncated "
                "or replaced outside autolearn; reopen it with a new JournalStorage"
            )
        apply = self._model.apply
        while pos < size:
            data = os.pread(fd, min(size - pos, _CHUNK), pos)
            if not data:
                break
            end = data.rfind(b"\n") + 1
            if end == 0:
                if pos + len(data) >= size:
                    break  # only an incomplete last line is left
                data = os.pread(fd, size - pos, pos)  # one line longer than a chunk
                end = data.rfind(b"\n") + 1
                if end == 0:
                    break
            for line in data[: end - 1].split(b"\n"):
                try:
                    apply(_loads(line))
                except (KeyError, IndexError, TypeError, ValueError) as exc:
                    _logger.warning(
                        "Journal %s: skipped a malformed line near byte %d (%s): %.200r",
                        self._path, pos, exc, line)
            pos += end
            self._offset = pos
        if repair and pos < size:
            _logger.warning(
                "Journal %s: removing an incomplete last line (%d bytes) left by a writer that "
                "died mid-write.", self._path, size - pos)
            os.ftruncate(fd, pos)

    def _catch_up(self) -> JournalModel:
        """Replay what other processes appended; call with the thread lock held."""
        fd = self._fd
        if fd is None:
            fd = self._open()
        size = _fstat(fd).st_size
        if size != self._offset:
            _flock(fd, _LOCK_SH)
            try:
                self._replay(fd, _fstat(fd).st_size, repair=False)
            finally:
                _flock(fd, _LOCK_UN)
        return self._model

    def _write(self, build: Callable[[JournalModel], list[Any] | None]) -> Any:
        """Append the operation ``build`` makes from the up-to-date state, and apply it.

        ``build`` validates (raising leaves the log unchanged) and returns the operation,
        or None when there is nothing to write. Returns what applying the operation returns.
        """
        with self._guard():
            fd = self._fd
            if fd is None:
                fd = self._open()
            if not self._writable:
                raise StorageError(f"journal {self._path!r} is read-only for this process")
            _flock(fd, _LOCK_EX)
            try:
                size = _fstat(fd).st_size
                if size != self._offset:
                    self._replay(fd, size, repair=True)
                op = build(self._model)
                if op is None:
                    return None
                data = (_encode(op) + "\n").encode()
                try:
                    written = os.write(fd, data)
                except OSError as exc:
                    self._undo_append(fd)
                    raise StorageError(f"cannot append to journal {self._path!r}: {exc}") from exc
                if written != len(data):
                    self._undo_append(fd)
                    raise StorageError(
                        f"cannot append to journal {self._path!r}: short write "
                        f"({written} of {len(data)} bytes; is the disk full?)"
                    )
                self._offset += written
                return self._model.apply(op)
            finally:
                _flock(fd, _LOCK_UN)

    def _undo_append(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self._offset)
        except OSError:
            _logger.warning("Journal %s: could not remove a partial line; the next writer "
                            "will.", self._path)

    def _dist_text(self, dist: BaseDistribution) -> str:
        text = self._dist_json.get(dist)
        if text is None:
            text = self._dist_json[dist] = distribution_to_json(dist)
            self._model.remember_distribution(text, dist)
        return text

    # ---- lookups (thread lock held) --------------------------------------------------
    @staticmethod
    def _study(model: JournalModel, study_id: int) -> _Study:
        try:
            return model.studies[study_id]
        except (KeyError, TypeError):
            raise StudyNotFoundError(f"no study with id {study_id} in this storage") from None

    @staticmethod
    def _trial(model: JournalModel, trial_id: int) -> _Trial:
        try:
            return model.trials[trial_id]
        except (KeyError, TypeError):
            raise TrialNotFoundError(f"no trial with id {trial_id} in this storage") from None

    @classmethod
    def _running(cls, model: JournalModel, trial_id: int) -> _Trial:
        t = cls._trial(model, trial_id)
        if t.state != _RUNNING:
            raise TrialStateError(
                f"trial {t.number} is {t.state.name}; only a RUNNING trial can be changed"
            )
        return t

    # ---- studies ---------------------------------------------------------------------
    def create_study(self, directions: Sequence[StudyDirection], study_name: str) -> int:
        dirs = [int(StudyDirection.parse(d) if isinstance(d, str) else StudyDirection(d))
                for d in directions]
        name = str(study_name)

        def build(model: JournalModel) -> list[Any]:
            if name in model.study_ids:
                raise DuplicatedStudyError(f"a study named {name!r} already exists")
            return ["cs", name, dirs, time.time()]

        return int(self._write(build))

    def delete_study(self, study_id: int) -> None:
        def build(model: JournalModel) -> list[Any]:
            self._study(model, study_id)
            return ["ds", study_id]

        self._write(build)

    def get_study_id(self, study_name: str) -> int:
        with self._guard():
            sid = self._catch_up().study_ids.get(study_name)
        if sid is None:
            raise StudyNotFoundError(f"no study named {study_name!r} in this storage")
        return sid

    @staticmethod
    def _info(sid: int, s: _Study) -> StudyInfo:
        return StudyInfo(
            study_id=sid,
            study_name=s.name,
            directions=s.directions,
            user_attrs=_loads(_encode(s.user_attrs)),
            system_attrs=_loads(_encode(s.system_attrs)),
            n_trials=len(s.trial_ids),
            datetime_start=s.datetime_start,
        )

    def get_all_studies(self) -> list[StudyInfo]:
        with self._guard():
            model = self._catch_up()
            return [self._info(sid, s) for sid, s in sorted(model.studies.items())]

    def get_study(self, study_id: int) -> StudyInfo:
        with self._guard():
            return self._info(study_id, self._study(self._catch_up(), study_id))

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        value = _check_json(key, value)

        def build(model: JournalModel) -> list[Any]:
            self._study(model, study_id)
            return ["sa", study_id, key, value, 1 if system else 0]

        self._write(build)

    # ---- trials ----------------------------------------------------------------------
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        lease = 0 if self.heartbeat_interval is None else 1
        if template is not None:
            return self._add_trial(study_id, template, lease)

        def build(model: JournalModel) -> list[Any]:
            waiting = self._study(model, study_id).waiting
            trials = model.trials
            while waiting and trials[waiting[0]].state != _WAITING:
                waiting.popleft()  # stale entry; the model never leaves one, but be safe
            if waiting:
                return ["cw", waiting[0], time.time(), lease]
            return ["ct", study_id, time.time(), lease]

        with self._guard():
            return self._model.trials[self._write(build)].freeze()

    def _add_trial(self, study_id: int, template: FrozenTrial, lease: int) -> FrozenTrial:
        params: dict[str, list[Any]] = {}
        for name, value in template.params.items():
            try:
                dist = template.distributions[name]
            except KeyError:
                raise ConfigError(
                    f"parameter {name!r} of the template has no distribution"
                ) from None
            params[name] = [dist.to_internal(value), self._dist_text(dist)]
        start = template.datetime_start
        complete = template.datetime_complete
        state = TrialState(template.state)
        if state == _RUNNING and start is None:
            start_ts: float | None = time.time()
        else:
            start_ts = None if start is None else start.timestamp()
        op = [
            "tt", study_id, int(state),
            None if template.values is None else [float(v) for v in template.values],
            params,
            _check_json("user_attrs", dict(template.user_attrs)),
            _check_json("system_attrs", dict(template.system_attrs)),
            [[int(s), float(v)] for s, v in template.intermediate_values.items()],
            start_ts,
            None if complete is None else complete.timestamp(),
            lease,
        ]

        def build(model: JournalModel) -> list[Any]:
            self._study(model, study_id)
            return op

        with self._guard():
            return self._model.trials[self._write(build)].freeze()

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        text = self._dist_text(distribution)
        value = float(internal_value)

        def build(model: JournalModel) -> list[Any]:
            self._running(model, trial_id)
            return ["p", trial_id, name, value, text]

        self._write(build)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> None:
        state = TrialState(state)
        if not state.is_finished():
            raise ConfigError(
                f"a trial can only be finished as COMPLETE, PRUNED or FAIL, but got {state.name}"
            )
        vals = None if values is None else [float(v) for v in values]

        def build(model: JournalModel) -> list[Any]:
            self._running(model, trial_id)
            return ["f", trial_id, int(state), vals, time.time()]

        self._write(build)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        step, value = int(step), float(value)

        def build(model: JournalModel) -> list[Any]:
            self._running(model, trial_id)
            return ["i", trial_id, step, value]

        self._write(build)

    def set_trial_attr(self, trial_id: int, key: str, value: Any, *, system: bool = False) -> None:
        value = _check_json(key, value)

        def build(model: JournalModel) -> list[Any]:
            t = self._trial(model, trial_id)
            if t.state.is_finished() and not system:
                raise TrialStateError(
                    f"trial {t.number} is {t.state.name}; user attributes of a finished trial "
                    "cannot change"
                )
            return ["ta", trial_id, key, value, 1 if system else 0]

        self._write(build)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._guard():
            return self._trial(self._catch_up(), trial_id).freeze()

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._guard():
            model = self._catch_up()
            trials = model.trials
            ids = self._study(model, study_id).trial_ids
            if states is None:
                return [trials[tid].freeze() for tid in ids]
            return [t.freeze() for t in (trials[tid] for tid in ids) if t.state in states]

    def get_trial_by_number(self, study_id: int, number: int) -> FrozenTrial:
        with self._guard():
            model = self._catch_up()
            ids = self._study(model, study_id).trial_ids
            if 0 <= number < len(ids):
                return model.trials[ids[number]].freeze()
        raise TrialNotFoundError(f"study {study_id} has no trial number {number}")

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        with self._guard():
            model = self._catch_up()
            ids = self._study(model, study_id).trial_ids
            if states is None:
                return len(ids)
            return sum(1 for tid in ids if model.trials[tid].state in states)

    # ---- leases ----------------------------------------------------------------------
    def record_heartbeat(self, trial_ids: Sequence[int]) -> None:
        wanted = list(trial_ids)

        def build(model: JournalModel) -> list[Any] | None:
            trials = model.trials
            ids = [tid for tid in wanted
                   if (t := trials.get(tid)) is not None and t.state == _RUNNING]
            return ["hb", ids, time.time()] if ids else None

        self._write(build)

    def get_stale_trial_ids(self, study_id: int, grace_period: float) -> list[int]:
        limit = time.time() - grace_period
        with self._guard():
            model = self._catch_up()
            trials = model.trials
            stale = []
            for tid in self._study(model, study_id).trial_ids:
                t = trials[tid]
                if t.state == _RUNNING and t.heartbeat is not None and t.heartbeat < limit:
                    stale.append(tid)
            return stale
