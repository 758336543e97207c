"""In-memory storage for tests, notebooks and single-process runs.

Lives in one process; ``Study.optimize(n_jobs>1)`` shares it with worker processes through
:mod:`autolearn.storages._proxy`. Nothing survives the process.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import threading
import time
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Any

from autolearn._records import FrozenTrial, StudyDirection, TrialState
from autolearn.exceptions import (
    ConfigError,
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialStateError,
)
from autolearn.space import BaseDistribution
from autolearn.storages._base import BaseStorage, StudyInfo

__all__ = ["InMemoryStorage"]


def _check_json(key: str, value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        raise ConfigError(
            f"attribute {key!r} must be JSON-serialisable, but got {value!r} "
            f"of type {type(value).__name__}"
        ) from None


@dataclass
class _Trial:
    number: int
    trial_id: int
    study_id: int
    state: TrialState
    values: tuple[float, ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    intermediate_values: dict[int, float] = field(default_factory=dict)
    datetime_start: _dt.datetime | None = None
    datetime_complete: _dt.datetime | None = None
    heartbeat: float | None = None
    frozen: FrozenTrial | None = None

    def freeze(self) -> FrozenTrial:
        if self.frozen is None:
            self.frozen = FrozenTrial._trusted(
                self.number, self.trial_id, self.state, self.values, dict(self.params),
                dict(self.distributions), _copy_attrs(self.user_attrs),
                _copy_attrs(self.system_attrs), dict(self.intermediate_values),
                self.datetime_start, self.datetime_complete,
            )
        return self.frozen


def _copy_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    # Values came from JSON: only lists and dicts are mutable and need a deep copy.
    return {k: copy.deepcopy(v) if isinstance(v, list | dict) else v for k, v in attrs.items()}


@dataclass
class _Study:
    name: str
    directions: tuple[StudyDirection, ...]
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    trial_ids: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    datetime_start: _dt.datetime = field(default_factory=_dt.datetime.now)


class InMemoryStorage(BaseStorage):
    """Thread-safe storage kept in this process's memory."""

    def __init__(self, **lease_options: Any) -> None:
        super().__init__(**lease_options)
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._trials: dict[int, _Trial] = {}
        self._next_study_id = 0
        self._next_trial_id = 0

    # ---- studies ---------------------------------------------------------------------
    def create_study(self, directions: Sequence[StudyDirection], study_name: str) -> int:
        with self._lock:
            if any(s.name == study_name for s in self._studies.values()):
                raise DuplicatedStudyError(f"a study named {study_name!r} already exists")
            sid = self._next_study_id
            self._next_study_id += 1
            self._studies[sid] = _Study(study_name, tuple(StudyDirection(d) for d in directions))
            return sid

    def _study(self, study_id: int) -> _Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id} in this storage") from None

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            study = self._study(study_id)
            for tid in study.trial_ids:
                del self._trials[tid]
            del self._studies[study_id]

    def get_study_id(self, study_name: str) -> int:
        with self._lock:
            for sid, s in self._studies.items():
                if s.name == study_name:
                    return sid
        raise StudyNotFoundError(f"no study named {study_name!r} in this storage")

    def _info(self, sid: int, s: _Study) -> StudyInfo:
        return StudyInfo(
            study_id=sid,
            study_name=s.name,
            directions=s.directions,
            user_attrs=copy.deepcopy(s.user_attrs),
            system_attrs=copy.deepcopy(s.system_attrs),
            n_trials=len(s.trial_ids),
            datetime_start=s.datetime_start,
        )

    def get_all_studies(self) -> list[StudyInfo]:
        with self._lock:
            return [self._info(sid, s) for sid, s in sorted(self._studies.items())]

    def get_study(self, study_id: int) -> StudyInfo:
        with self._lock:
            return self._info(study_id, self._study(study_id))

    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        value = _check_json(key, value)
        with self._lock:
            study = self._study(study_id)
            (study.system_attrs if system else study.user_attrs)[key] = value

    # ---- trials ----------------------------------------------------------------------
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        with self._lock:
            study = self._study(study_id)
            now = _dt.datetime.now()
            if template is None:
                while study.waiting:
                    t = self._trials[study.waiting.pop(0)]
                    if t.state == TrialState.WAITING:
                        t.state = TrialState.RUNNING
                        t.datetime_start = now
                        t.heartbeat = time.time() if self.heartbeat_interval else None
                        t.frozen = None
                        return t.freeze()
            tid = self._next_trial_id
            self._next_trial_id += 1
            if template is None:
                t = _Trial(
                    number=len(study.trial_ids),
                    trial_id=tid,
                    study_id=study_id,
                    state=TrialState.RUNNING,
                    datetime_start=now,
                    heartbeat=time.time() if self.heartbeat_interval else None,
                )
            else:
                t = _Trial(
                    number=len(study.trial_ids),
                    trial_id=tid,
                    study_id=study_id,
                    state=template.state,
                    values=template.values,
                    params=dict(template.params),
                    distributions=dict(template.distributions),
                    user_attrs=_check_json("user_attrs", dict(template.user_attrs)),
                    system_attrs=_check_json("system_attrs", dict(template.system_attrs)),
                    intermediate_values=dict(template.intermediate_values),
                    datetime_start=template.datetime_start,
                    datetime_complete=template.datetime_complete,
                )
                if t.state == TrialState.RUNNING:
                    t.heartbeat = time.time() if self.heartbeat_interval else None
            self._trials[tid] = t
            study.trial_ids.append(tid)
            if t.state == TrialState.WAITING:
                study.waiting.append(tid)
            return t.freeze()

    def _trial(self, trial_id: int) -> _Trial:
        try:
            return self._trials[trial_id]
        except KeyError:
            raise TrialNotFoundError(f"no trial with id {trial_id} in this storage") from None

    def _running(self, trial_id: int) -> _Trial:
        t = self._trial(trial_id)
        if t.state != TrialState.RUNNING:
            raise TrialStateError(
                f"trial {t.number} is {t.state.name}; only a RUNNING trial can be changed"
            )
        return t

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        with self._lock:
            t = self._running(trial_id)
            t.params[name] = distribution.to_external(internal_value)
            t.distributions[name] = distribution
            t.frozen = None

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> None:
        state = TrialState(state)
        if not state.is_finished():
            raise ConfigError(
                f"a trial can only be finished as COMPLETE, PRUNED or FAIL, but got {state.name}"
            )
        with self._lock:
            t = self._running(trial_id)
            t.state = state
            t.values = tuple(float(v) for v in values) if values is not None else None
            t.datetime_complete = _dt.datetime.now()
            t.frozen = None

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        with self._lock:
            t = self._running(trial_id)
            t.intermediate_values[int(step)] = float(value)
            t.frozen = None

    def set_trial_attr(self, trial_id: int, key: str, value: Any, *, system: bool = False) -> None:
        value = _check_json(key, value)
        with self._lock:
            t = self._trial(trial_id)
            if t.state.is_finished() and not system:
                raise TrialStateError(
                    f"trial {t.number} is {t.state.name}; user attributes of a finished trial "
                    "cannot change"
                )
            (t.system_attrs if system else t.user_attrs)[key] = value
            t.frozen = None

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            return self._trial(trial_id).freeze()

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            study = self._study(study_id)
            trials = (self._trials[tid] for tid in study.trial_ids)
            if states is None:
                return [t.freeze() for t in trials]
            return [t.freeze() for t in trials if t.state in states]

    def get_trial_by_number(self, study_id: int, number: int) -> FrozenTrial:
        with self._lock:
            study = self._study(study_id)
            if 0 <= number < len(study.trial_ids):
                return self._trials[study.trial_ids[number]].freeze()
        raise TrialNotFoundError(f"study {study_id} has no trial number {number}")

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        with self._lock:
            study = self._study(study_id)
            if states is None:
                return len(study.trial_ids)
            return sum(1 for tid in study.trial_ids if self._trials[tid].state in states)

    # ---- leases ----------------------------------------------------------------------
    def record_heartbeat(self, trial_ids: Sequence[int]) -> None:
        now = time.time()
        with self._lock:
            for tid in trial_ids:
                t = self._trials.get(tid)
                if t is not None and t.state == TrialState.RUNNING:
                    t.heartbeat = now

    def get_stale_trial_ids(self, study_id: int, grace_period: float) -> list[int]:
        limit = time.time() - grace_period
        with self._lock:
            study = self._study(study_id)
            return [
                tid
                for tid in study.trial_ids
                if self._trials[tid].state == TrialState.RUNNING
                and self._trials[tid].heartbeat is not None
                and self._trials[tid].heartbeat < limit  # type: ignore[operator]
            ]
