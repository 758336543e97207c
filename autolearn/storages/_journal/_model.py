"""The in-memory state a journal replays into, and the operations of its log.

Every line after the header is one operation, a compact JSON array whose first element is
an op code. Ids are never written for new records: replaying the log in order assigns
study ids, trial ids and trial numbers deterministically, so every process that replays
the same bytes reaches the same state. Writers validate an operation against the
up-to-date state under the file lock before appending it; replay trusts the log.

=====  ==========================================================================
code   fields
=====  ==========================================================================
cs     name, directions (ints), time                     -> new study
ds     study_id                                          -> delete study
sa     study_id, key, value, system (0/1)                -> study attribute
ct     study_id, time, lease (0/1)                       -> new RUNNING trial
cw     trial_id, time, lease (0/1)                       -> claim a WAITING trial
tt     study_id, state, values, params {name: [internal, distribution JSON]},
       user_attrs, system_attrs, intermediate [[step, value]], start, complete,
       lease (0/1)                                       -> new trial from a template
p      trial_id, name, internal value, distribution JSON -> parameter
f      trial_id, state, values, time                     -> finish a trial
i      trial_id, step, value                             -> intermediate value
ta     trial_id, key, value, system (0/1)                -> trial attribute
hb     [trial_id, ...], time                             -> renew leases
=====  ==========================================================================

Times are POSIX timestamps (float seconds).
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autolearn._records import FrozenTrial, StudyDirection, TrialState
from autolearn.space import BaseDistribution, distribution_from_json

__all__ = ["JournalModel"]

_fromtimestamp = _dt.datetime.fromtimestamp
_RUNNING = TrialState.RUNNING
_WAITING = TrialState.WAITING


def _dt_or_none(ts: float | None) -> _dt.datetime | None:
    return None if ts is None else _fromtimestamp(ts)


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
        """The cached snapshot, rebuilt only after the trial changed."""
        if self.frozen is None:
            self.frozen = FrozenTrial(
                number=self.number,
                trial_id=self.trial_id,
                state=self.state,
                values=self.values,
                params=dict(self.params),
                distributions=dict(self.distributions),
                user_attrs=copy.deepcopy(self.user_attrs) if self.user_attrs else {},
                system_attrs=copy.deepcopy(self.system_attrs) if self.system_attrs else {},
                intermediate_values=dict(self.intermediate_values),
                datetime_start=self.datetime_start,
                datetime_complete=self.datetime_complete,
            )
        return self.frozen


@dataclass
class _Study:
    name: str
    directions: tuple[StudyDirection, ...]
    datetime_start: _dt.datetime
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    trial_ids: list[int] = field(default_factory=list)
    waiting: deque[int] = field(default_factory=deque)


class JournalModel:
    """Studies and trials as of some point of the log; :meth:`apply` moves it forward."""

    def __init__(self) -> None:
        self.studies: dict[int, _Study] = {}
        self.study_ids: dict[str, int] = {}
        self.trials: dict[int, _Trial] = {}
        self.next_study_id = 0
        self.next_trial_id = 0
        self._dists: dict[str, BaseDistribution] = {}
        self._handlers: dict[str, Callable[[list[Any]], Any]] = {
            "cs": self._create_study,
            "ds": self._delete_study,
            "sa": self._study_attr,
            "ct": self._create_trial,
            "cw": self._claim_trial,
            "tt": self._add_trial,
            "p": self._param,
            "f": self._finish,
            "i": self._intermediate,
            "ta": self._trial_attr,
            "hb": self._heartbeat,
        }

    def apply(self, op: list[Any]) -> Any:
        """Apply one operation; returns the new study or trial id for creating ops.

        Raises:
            KeyError, IndexError, TypeError, ValueError: for a malformed operation (the
                caller skips it); the state is unchanged then.
        """
        return self._handlers[op[0]](op)

    def distribution(self, text: str) -> BaseDistribution:
        """Decode a distribution JSON string, cached (few distinct ones per study)."""
        dist = self._dists.get(text)
        if dist is None:
            dist = self._dists[text] = distribution_from_json(text)
        return dist

    def remember_distribution(self, text: str, dist: BaseDistribution) -> None:
        """Seed the decode cache with a pair this process just encoded."""
        self._dists.setdefault(text, dist)

    # ---- studies ---------------------------------------------------------------------
    def _create_study(self, op: list[Any]) -> int:
        _, name, directions, ts = op
        dirs = tuple(StudyDirection(d) for d in directions)
        sid = self.next_study_id
        self.next_study_id += 1
        self.studies[sid] = _Study(name, dirs, _fromtimestamp(ts))
        self.study_ids[name] = sid
        return sid

    def _delete_study(self, op: list[Any]) -> None:
        study = self.studies.pop(op[1])
        del self.study_ids[study.name]
        for tid in study.trial_ids:
            del self.trials[tid]

    def _study_attr(self, op: list[Any]) -> None:
        _, sid, key, value, system = op
        study = self.studies[sid]
        (study.system_attrs if system else study.user_attrs)[key] = value

    # ---- trials ----------------------------------------------------------------------
    def _new_trial(self, study_id: int, state: TrialState) -> _Trial:
        study = self.studies[study_id]
        tid = self.next_trial_id
        self.next_trial_id += 1
        trial = _Trial(len(study.trial_ids), tid, study_id, state)
        self.trials[tid] = trial
        study.trial_ids.append(tid)
        return trial

    def _create_trial(self, op: list[Any]) -> int:
        _, sid, ts, lease = op
        trial = self._new_trial(sid, _RUNNING)
        trial.datetime_start = _fromtimestamp(ts)
        trial.heartbeat = ts if lease else None
        return trial.trial_id

    def _claim_trial(self, op: list[Any]) -> int:
        _, tid, ts, lease = op
        trial = self.trials[tid]
        if trial.state != _WAITING:
            raise ValueError(f"trial {trial.number} is {trial.state.name}, not WAITING")
        waiting = self.studies[trial.study_id].waiting
        if waiting and waiting[0] == tid:
            waiting.popleft()
        else:
            waiting.remove(tid)
        trial.state = _RUNNING
        trial.datetime_start = _fromtimestamp(ts)
        trial.heartbeat = ts if lease else None
        trial.frozen = None
        return tid

    def _add_trial(self, op: list[Any]) -> int:
        (_, sid, state, values, params, user_attrs, system_attrs, intermediate, start,
         complete, lease) = op
        state = TrialState(state)
        dists = {name: self.distribution(text) for name, (_, text) in params.items()}
        trial = self._new_trial(sid, state)
        trial.values = tuple(values) if values is not None else None
        trial.params = {name: dists[name].to_external(v) for name, (v, _) in params.items()}
        trial.distributions = dists
        trial.user_attrs = user_attrs
        trial.system_attrs = system_attrs
        trial.intermediate_values = {int(s): float(v) for s, v in intermediate}
        trial.datetime_start = _dt_or_none(start)
        trial.datetime_complete = _dt_or_none(complete)
        if state == _RUNNING and lease:
            trial.heartbeat = start
        elif state == _WAITING:
            self.studies[sid].waiting.append(trial.trial_id)
        return trial.trial_id

    def _param(self, op: list[Any]) -> None:
        _, tid, name, internal, text = op
        trial = self.trials[tid]
        dist = self.distribution(text)
        trial.params[name] = dist.to_external(internal)
        trial.distributions[name] = dist
        trial.frozen = None

    def _finish(self, op: list[Any]) -> None:
        _, tid, state, values, ts = op
        trial = self.trials[tid]
        trial.state = TrialState(state)
        trial.values = tuple(values) if values is not None else None
        trial.datetime_complete = _fromtimestamp(ts)
        trial.frozen = None

    def _intermediate(self, op: list[Any]) -> None:
        _, tid, step, value = op
        trial = self.trials[tid]
        trial.intermediate_values[step] = value
        trial.frozen = None

    def _trial_attr(self, op: list[Any]) -> None:
        _, tid, key, value, system = op
        trial = self.trials[tid]
        (trial.system_attrs if system else trial.user_attrs)[key] = value
        trial.frozen = None

    def _heartbeat(self, op: list[Any]) -> None:
        _, tids, ts = op
        trials = self.trials
        for tid in tids:
            trial = trials.get(tid)
            if trial is not None and trial.state == _RUNNING:
                trial.heartbeat = ts
