"""Studies: a named set of trials in a storage, searched by a sampler."""

from __future__ import annotations

import datetime as _dt
import logging
import math
import numbers
import time
import traceback
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autolearn._records import FrozenTrial, StudyDirection, TrialState, create_trial
from autolearn._rng import SeedLike
from autolearn.exceptions import (
    ConfigError,
    DuplicatedStudyError,
    NoCompletedTrialsError,
    SearchSpaceError,
    StudyNotFoundError,
    TrialStateError,
)
from autolearn.pruners import BasePruner, NopPruner
from autolearn.samplers import AutoSampler, BaseSampler
from autolearn.space import BaseDistribution
from autolearn.storages import BaseStorage, StudyInfo, get_storage
from autolearn.storages._base import FAIL_REASON_KEY, FIXED_PARAMS_KEY
from autolearn.study import _heartbeat
from autolearn.study._trial import Trial

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Study",
    "create_study",
    "delete_study",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
]

_logger = logging.getLogger("autolearn.study")

ObjectiveFunc = Callable[[Trial], float | Sequence[float]]
Callback = Callable[["Study", FrozenTrial], None]


def _default_sampler(seed: SeedLike) -> BaseSampler:
    return AutoSampler(seed=seed)


def check_values(
    values: Any, n_objectives: int
) -> tuple[tuple[float, ...] | None, str | None]:
    """Validate an objective's return value: ``(values, None)`` or ``(None, reason)``."""
    if values is None:
        return None, "the objective returned None; return a number (or one per objective)"
    seq = values if isinstance(values, Sequence) and not isinstance(values, str) else [values]
    if len(seq) != n_objectives:
        return None, (
            f"the objective returned {len(seq)} value(s) but the study has {n_objectives} "
            f"objective(s): {values!r}"
        )
    out = []
    for v in seq:
        if hasattr(v, "item") and not isinstance(v, numbers.Real):
            try:
                v = v.item()  # 0-d numpy arrays / torch tensors
            except (TypeError, ValueError):
                pass
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return None, f"the objective returned {v!r}, which is not a real number"
        try:
            f = float(v)
        except (OverflowError, TypeError, ValueError) as exc:  # e.g. 10**400, a bad __float__
            return None, (f"the objective returned {type(v).__name__} value that is not a "
                          f"float ({type(exc).__name__}: {exc})")
        if math.isnan(f):
            return None, f"the objective returned NaN: {values!r}"
        out.append(f)
    return tuple(out), None


class Study:
    """A named set of trials kept in a storage.

    Use :func:`create_study` or :func:`load_study` rather than the constructor.

    Attributes:
        sampler: Proposes parameters (not stored: each process passes its own).
        pruner: Decides early stopping.
    """

    def __init__(
        self,
        study_name: str,
        storage: str | BaseStorage | None,
        sampler: BaseSampler | None = None,
        pruner: BasePruner | None = None,
        *,
        seed: SeedLike = None,
    ) -> None:
        self._storage = get_storage(storage)
        self._study_id = self._storage.get_study_id(study_name)
        self.study_name = study_name
        info = self._storage.get_study(self._study_id)
        self._directions = info.directions
        if sampler is not None and seed is not None:
            raise ConfigError(
                "give `seed` to the sampler you pass (e.g. RandomSampler(seed=0)), not to the "
                "study; the study's `seed` only seeds the default sampler"
            )
        if sampler is not None and not isinstance(sampler, BaseSampler):
            raise ConfigError(f"`sampler` must be a BaseSampler, but got {sampler!r}")
        if pruner is not None and not isinstance(pruner, BasePruner):
            raise ConfigError(f"`pruner` must be a BasePruner, but got {pruner!r}")
        self.sampler: BaseSampler = sampler if sampler is not None else _default_sampler(seed)
        self.pruner: BasePruner = pruner if pruner is not None else NopPruner()
        self._stop_flag = False
        self._last_reap = 0.0
        self._running_trials: dict[int, Trial] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_running_trials"] = {}
        return state

    def __repr__(self) -> str:
        return f"Study(name={self.study_name!r}, directions={list(map(str, self.directions))})"

    # ---- description ---------------------------------------------------------------------
    @property
    def directions(self) -> tuple[StudyDirection, ...]:
        return self._directions

    @property
    def direction(self) -> StudyDirection:
        """The direction of a single-objective study."""
        if len(self._directions) != 1:
            raise ConfigError("this study has several objectives; use `directions`")
        return self._directions[0]

    @property
    def is_multi_objective(self) -> bool:
        return len(self._directions) > 1

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._storage.get_study(self._study_id).user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._storage.get_study(self._study_id).system_attrs)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable attribute to the study."""
        self._storage.set_study_attr(self._study_id, key, value)

    def set_system_attr(self, key: str, value: Any) -> None:
        """Attach an attribute for autolearn's own components."""
        self._storage.set_study_attr(self._study_id, key, value, system=True)

    # ---- trials ------------------------------------------------------------------------------
    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, ordered by number (snapshots)."""
        return self._storage.get_all_trials(self._study_id)

    def get_trials(self, *, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        """Trials, optionally only those in ``states``."""
        return self._storage.get_all_trials(self._study_id, states)

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """Pareto-optimal COMPLETE trials (for one objective: all trials tied for best)."""
        done = self.get_trials(states=(TrialState.COMPLETE,))
        return pareto_front(done, self._directions)

    @property
    def best_trial(self) -> FrozenTrial:
        """The COMPLETE trial with the best value (single objective; first one on ties)."""
        if self.is_multi_objective:
            raise ConfigError(
                "a multi-objective study has no single best trial; use `best_trials` "
                "(the Pareto front)"
            )
        done = self.get_trials(states=(TrialState.COMPLETE,))
        if not done:
            raise NoCompletedTrialsError(
                f"study {self.study_name!r} has no COMPLETE trial yet; run trials first "
                "(optimize, a worker, or ask/tell)"
            )
        sign = 1.0 if self._directions[0] == StudyDirection.MINIMIZE else -1.0
        return min(done, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]

    @property
    def best_value(self) -> float:
        return self.best_trial.values[0]  # type: ignore[index]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    # ---- ask and tell ------------------------------------------------------------------------
    def _reap(self) -> None:
        """Fail trials whose worker died (at most once per heartbeat interval)."""
        interval = self._storage.heartbeat_interval
        if interval is None:
            return
        now = time.monotonic()
        if now - self._last_reap >= interval:
            self._last_reap = now
            self._storage.fail_stale_trials(self._study_id)

    def ask(self, fixed_distributions: Mapping[str, BaseDistribution] | None = None) -> Trial:
        """Start a trial (an enqueued one first) and return it.

        Its lease is renewed in the background until :meth:`tell`; if this process dies, the
        trial is marked FAIL by the next worker once the storage's grace period has passed.

        Args:
            fixed_distributions: Parameters to suggest right away, as with
                ``trial.suggest(name, distribution)``.
        """
        if fixed_distributions is not None:  # checked before a trial (maybe an enqueued one)
            if not isinstance(fixed_distributions, Mapping):  # is taken for them
                raise SearchSpaceError(f"`fixed_distributions` must map parameter names to "
                                       f"distributions, but got {fixed_distributions!r}")
            for name, dist in fixed_distributions.items():
                if not isinstance(dist, BaseDistribution):
                    raise SearchSpaceError(
                        f"`fixed_distributions[{name!r}]` must be a distribution "
                        f"(FloatDistribution(0, 1), ...), but got {dist!r}")
        self._reap()
        frozen = self._storage.create_trial(self._study_id)
        _heartbeat.register(self._storage, frozen.trial_id)
        try:
            self.sampler.before_trial(self, frozen)
            trial = Trial(self, frozen)
            for name, dist in (fixed_distributions or {}).items():
                trial.suggest(name, dist)
        except BaseException as exc:
            self._fail_trial(frozen.trial_id, f"{type(exc).__name__}: {exc}")
            raise
        self._running_trials[frozen.trial_id] = trial
        return trial

    def _fail_trial(self, trial_id: int, reason: str) -> None:
        try:
            self._storage.set_trial_attr(trial_id, FAIL_REASON_KEY, reason, system=True)
            self._storage.set_trial_state_values(trial_id, TrialState.FAIL)
        except TrialStateError:
            pass
        finally:
            _heartbeat.unregister(self._storage, trial_id)

    def tell(
        self,
        trial: Trial | int,
        values: float | Sequence[float] | None = None,
        state: TrialState | None = None,
        *,
        skip_if_finished: bool = False,
        fail_reason: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial started with :meth:`ask` (or by number).

        Args:
            trial: The trial or its number.
            values: Objective value(s) for a COMPLETE trial.
            state: COMPLETE (default when values are given), PRUNED or FAIL. A COMPLETE
                trial whose values are missing, NaN or of the wrong count is stored as
                FAIL with the reason, and a warning is logged.
            skip_if_finished: Return quietly if the trial has already finished.
            fail_reason: Why the trial failed (stored for state FAIL).

        Returns:
            The finished trial's snapshot.
        """
        if isinstance(trial, Trial):
            live: Trial | None = trial
            trial_id = trial.trial_id
        elif isinstance(trial, numbers.Integral) and not isinstance(trial, bool):
            trial_id = self._storage.get_trial_by_number(self._study_id, int(trial)).trial_id
            live = self._running_trials.get(trial_id)
        else:
            raise ConfigError(f"`trial` must be a Trial or a trial number, but got {trial!r}")
        if state is None:
            state = TrialState.COMPLETE if values is not None else TrialState.FAIL
            if values is None and fail_reason is None:
                raise ConfigError(
                    "tell() needs `values` for a COMPLETE trial, or an explicit `state` "
                    "(TrialState.PRUNED or TrialState.FAIL)"
                )
        state = TrialState(state)
        if not state.is_finished():
            raise ConfigError(f"`state` must be COMPLETE, PRUNED or FAIL, but got {state.name}")
        checked: tuple[float, ...] | None = None
        if state == TrialState.COMPLETE:
            checked, reason = check_values(values, len(self._directions))
            if reason is not None:
                _logger.warning(
                    "Trial %s failed: %s", live.number if live else trial, reason
                )
                state, fail_reason = TrialState.FAIL, reason
        elif values is not None:
            raise ConfigError(f"a {state.name} trial takes no `values`, but got {values!r}")
        if state == TrialState.PRUNED and len(self._directions) == 1:
            # A pruned trial keeps its last reported value (samplers may learn from it).
            snapshot = self._storage.get_trial(trial_id) if live is None else live._snapshot()
            last = snapshot.last_step
            if last is not None and not math.isnan(snapshot.intermediate_values[last]):
                checked = (snapshot.intermediate_values[last],)
        try:
            if state == TrialState.FAIL and fail_reason:
                self._storage.set_trial_attr(trial_id, FAIL_REASON_KEY, fail_reason, system=True)
            self._storage.set_trial_state_values(trial_id, state, checked)
        except TrialStateError:
            if not skip_if_finished:
                raise
            return self._storage.get_trial(trial_id)
        finally:
            _heartbeat.unregister(self._storage, trial_id)
            self._running_trials.pop(trial_id, None)
        if live is not None:
            live._finished = True
            if state == TrialState.FAIL and fail_reason:
                live._system_attrs[FAIL_REASON_KEY] = fail_reason
            finished = live._snapshot(state, checked, _dt.datetime.now())
        else:
            finished = self._storage.get_trial(trial_id)
        self.sampler.after_trial(self, finished, state, checked)
        return finished

    def enqueue_trial(
        self,
        params: Mapping[str, Any],
        *,
        user_attrs: Mapping[str, Any] | None = None,
        skip_if_exists: bool = False,
    ) -> None:
        """Queue a trial with given parameters; the next ``ask()`` (in any worker) runs it.

        Parameters the objective suggests but ``params`` lacks are sampled as usual.

        Args:
            params: Parameter values (JSON-serialisable).
            user_attrs: Attributes for the queued trial.
            skip_if_exists: Do nothing if a trial with these parameters already exists
                (queued, running or finished).
        """
        params = dict(params)
        if skip_if_exists:
            for t in self.trials:
                fixed = t.system_attrs.get(FIXED_PARAMS_KEY) or t.params
                if dict(fixed) == params or dict(t.params) == params:
                    return
        self._storage.create_trial(
            self._study_id,
            create_trial(
                state=TrialState.WAITING,
                user_attrs=user_attrs,
                system_attrs={FIXED_PARAMS_KEY: params},
            ),
        )

    def add_trial(self, trial: FrozenTrial) -> None:
        """Store a finished record (see :func:`autolearn.create_trial`), e.g. past results."""
        self._check_record(trial)
        self._storage.create_trial(self._study_id, trial)

    def add_trials(self, trials: Iterable[FrozenTrial]) -> None:
        """:meth:`add_trial` for each record; every one is checked before any is stored."""
        records = list(trials)
        for t in records:
            self._check_record(t)
        for t in records:
            self._storage.create_trial(self._study_id, t)

    def _check_record(self, trial: FrozenTrial) -> None:
        if not isinstance(trial, FrozenTrial):
            raise ConfigError(f"add_trial() takes a FrozenTrial (create_trial(...)), got {trial!r}")
        if trial.state == TrialState.RUNNING:
            raise ConfigError("a RUNNING trial cannot be added; use ask() and tell()")
        if trial.state == TrialState.COMPLETE:
            if trial.values is None or len(trial.values) != len(self._directions):
                raise ConfigError(
                    f"the study has {len(self._directions)} objective(s), but the trial has "
                    f"values {trial.values}"
                )

    def stop(self) -> None:
        """Stop ``optimize`` after the running trial(s) (from a callback or a sampler)."""
        self._stop_flag = True

    # ---- running -----------------------------------------------------------------------------
    def optimize(
        self,
        func: ObjectiveFunc,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Iterable[type[BaseException]] | type[BaseException] = (Exception,),
        callbacks: Iterable[Callback] | None = None,
        gc_after_trial: bool = False,
        show_progress_bar: bool = False,
    ) -> None:
        """Run trials until ``n_trials`` have run, ``timeout`` passed, or the study stops.

        Args:
            func: Objective: takes a :class:`Trial`, returns a float (one per objective).
            n_trials: Trials to run in this call (all workers together); None: no limit.
            timeout: Seconds after which no new trial starts; None: no limit.
            n_jobs: Worker *processes* (``-1``: one per CPU). With ``n_jobs > 1`` the
                objective runs in forked child processes (on platforms without ``fork``,
                it must be picklable); callbacks and the progress bar run in this process.
            catch: Exception types that fail only the trial (stored with the traceback)
                while the study goes on. Default: every ``Exception``. Pass ``()`` to let
                errors propagate (the trial is still stored as FAIL first).
            callbacks: Called as ``callback(study, frozen_trial)`` after each trial.
            gc_after_trial: Run ``gc.collect()`` after each trial.
            show_progress_bar: Show progress (a rich bar on a terminal, plain lines otherwise).

        Without ``n_trials`` and ``timeout``, runs until the sampler is exhausted (a grid),
        ``study.stop()`` is called, or the process receives SIGINT/SIGTERM.
        """
        from autolearn.study._optimize import optimize

        optimize(self, func, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, catch=catch,
                 callbacks=callbacks, gc_after_trial=gc_after_trial,
                 show_progress_bar=show_progress_bar)

    # ---- export -------------------------------------------------------------------------------
    def trials_dataframe(
        self,
        attrs: Sequence[str] = (
            "number", "value", "datetime_start", "datetime_complete", "duration", "params",
            "user_attrs", "state",
        ),
    ) -> pd.DataFrame:
        """A pandas DataFrame, one row per trial (needs pandas: ``autolearn[viz]``).

        ``params`` and ``user_attrs`` expand into ``params_<name>`` / ``user_attrs_<key>``
        columns; multi-objective studies get ``values_0``, ``values_1``, ...
        """
        from autolearn._imports import optional_import

        pd = optional_import("pandas")
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {}
            for a in attrs:
                if a == "number":
                    row["number"] = t.number
                elif a in ("value", "values"):
                    if self.is_multi_objective:
                        for i in range(len(self._directions)):
                            row[f"values_{i}"] = t.values[i] if t.values else None
                    else:
                        row["value"] = t.values[0] if t.values else None
                elif a == "state":
                    row["state"] = t.state.name
                elif a == "duration":
                    row["duration"] = t.duration
                elif a in ("params", "user_attrs", "system_attrs"):
                    for k, v in getattr(t, a).items():
                        row[f"{a}_{k}"] = v
                elif a == "intermediate_values":
                    row[a] = dict(t.intermediate_values)
                else:
                    row[a] = getattr(t, a)
            rows.append(row)
        return pd.DataFrame(rows)


def pareto_front(
    trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]
) -> list[FrozenTrial]:
    """Non-dominated trials (all assumed COMPLETE), ordered by number."""
    import numpy as np

    if not trials:
        return []
    sign = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions])
    y = np.array([t.values for t in trials], dtype=float) * sign
    keep = []
    for i in range(len(trials)):
        dominated = np.any(np.all(y <= y[i], axis=1) & np.any(y < y[i], axis=1))
        if not dominated:
            keep.append(trials[i])
    return sorted(keep, key=lambda t: t.number)


def _directions(
    direction: str | StudyDirection | None,
    directions: Sequence[str | StudyDirection] | None,
) -> tuple[StudyDirection, ...]:
    if direction is not None and directions is not None:
        raise ConfigError("give either `direction` or `directions`, not both")
    if directions is not None:
        if isinstance(directions, str) or len(directions) == 0:
            raise ConfigError(
                f"`directions` must be a non-empty list such as ['minimize', 'maximize'], "
                f"but got {directions!r}"
            )
        return tuple(StudyDirection.parse(d) for d in directions)
    return (StudyDirection.parse(direction or "minimize"),)


def create_study(
    storage: str | BaseStorage | None = None,
    *,
    study_name: str | None = None,
    direction: str | StudyDirection | None = None,
    directions: Sequence[str | StudyDirection] | None = None,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    load_if_exists: bool = False,
    seed: SeedLike = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists``).

    Args:
        storage: None (in memory), a URL (``sqlite:///autolearn.db``,
            ``postgresql+psycopg://...``, ``journal:///path.jsonl``) or a storage object.
        study_name: Unique name in the storage; generated if None.
        direction: ``"minimize"`` (default) or ``"maximize"``.
        directions: One direction per objective for multi-objective studies.
        sampler: Searcher; default: :class:`~autolearn.samplers.AutoSampler` seeded with
            ``seed`` (GP-BO or TPE, chosen from the problem's shape).
        pruner: Early stopping; default: never prune.
        load_if_exists: Load the study if the name exists (directions must match).
        seed: Seed of the default sampler.

    Example:
        >>> import autolearn
        >>> study = autolearn.create_study(direction="maximize", seed=1)
        >>> study.optimize(lambda t: -abs(t.suggest_float("x", -1, 1)), n_trials=10)
        >>> study.best_value <= 0
        True
    """
    dirs = _directions(direction, directions)
    store = get_storage(storage)
    name = study_name if study_name is not None else f"study-{uuid.uuid4().hex[:12]}"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"`study_name` must be a non-blank string, but got {study_name!r}")
    try:
        store.create_study(dirs, name)
    except DuplicatedStudyError:
        if not load_if_exists:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists in this storage; pass "
                "load_if_exists=True to continue it, or choose another name"
            ) from None
        existing = store.get_study(store.get_study_id(name)).directions
        if tuple(existing) != dirs:
            raise ConfigError(
                f"study {name!r} exists with directions {[str(d) for d in existing]}, "
                f"not {[str(d) for d in dirs]}"
            ) from None
    return Study(name, store, sampler, pruner, seed=seed)


def load_study(
    *,
    study_name: str | None,
    storage: str | BaseStorage,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    seed: SeedLike = None,
) -> Study:
    """Load an existing study. ``study_name=None`` works when the storage has one study."""
    store = get_storage(storage)
    if study_name is None:
        names = [s.study_name for s in store.get_all_studies()]
        if len(names) != 1:
            raise StudyNotFoundError(
                f"`study_name` is required: the storage has {len(names)} studies {names[:10]}"
            )
        study_name = names[0]
    return Study(study_name, store, sampler, pruner, seed=seed)


def delete_study(*, study_name: str, storage: str | BaseStorage) -> None:
    """Delete a study and all its trials."""
    store = get_storage(storage)
    store.delete_study(store.get_study_id(study_name))


def get_all_study_summaries(storage: str | BaseStorage) -> list[StudyInfo]:
    """Every study in the storage."""
    return get_storage(storage).get_all_studies()


def get_all_study_names(storage: str | BaseStorage) -> list[str]:
    """Names of every study in the storage."""
    return [s.study_name for s in get_storage(storage).get_all_studies()]


def format_failure(exc: BaseException) -> str:
    """A stored failure reason: the exception and the last lines of its traceback."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
    return f"{type(exc).__name__}: {exc}\n{tb}"[:8000]

