"""Grid search that covers a declared space exactly once, also with many workers."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn._rng import SeedLike, as_generator, derive_seed
from autolearn.exceptions import SearchExhausted, SearchSpaceError
from autolearn.samplers._base import BaseSampler
from autolearn.space import BaseDistribution, CategoricalDistribution, SearchSpace
from autolearn.storages._base import FIXED_PARAMS_KEY

if TYPE_CHECKING:
    from autolearn.study import FrozenTrial, Study

__all__ = ["GridSampler"]

_logger = logging.getLogger(__name__)

GRID_ID_KEY = "grid_id"
#: which grid a trial's ``grid_id`` indexes (a fingerprint of the grid's points)
GRID_KEY = "grid_fingerprint"
_MAX_CLAIM_ATTEMPTS = 64


class GridSampler(BaseSampler):
    """Evaluates every point of a finite grid exactly once, then stops the study.

    Args:
        search_space: Either a :class:`~autolearn.space.SearchSpace` with finite
            distributions (categoricals, ints, stepped floats; conditional parameters are
            enumerated only where active), or a dict mapping each parameter name to the
            list of values to try (Optuna style).
        seed: Order in which grid points are visited (shuffled); ``None`` keeps the
            declaration order.

    Each trial claims a grid point by writing its index to the trial's system attributes
    and re-reading the study: if another trial holds the same index, the trial releases
    it and claims another. A point is therefore evaluated by exactly one trial even with
    several workers on one storage. Failed trials keep their point (rerun it with
    ``study.enqueue_trial``). When the last point is claimed the sampler stops the study;
    ``optimize(n_trials=None)`` then ends by itself.

    Resuming a study with another grid is safe: a finished trial covers the point of the
    new grid that its parameters equal (if any), and the index claims of another grid's
    running or failed trials are ignored (each claim records a fingerprint of its grid).
    So points both grids share are not evaluated twice, and every other point of the new
    grid is.

    The objective must suggest exactly the grid's parameters (with the declared names);
    a parameter outside the grid is sampled uniformly at random and a warning is logged.

    Example:
        >>> import autolearn
        >>> sampler = autolearn.samplers.GridSampler({"x": [-1, 0, 1], "y": ["a", "b"]})
        >>> study = autolearn.create_study(sampler=sampler)
        >>> study.optimize(lambda t: t.suggest_int("x", -1, 1) ** 2
        ...                + (t.suggest_categorical("y", ["a", "b"]) == "b"))
        >>> len(study.trials)
        6
    """

    def __init__(
        self,
        search_space: SearchSpace | Mapping[str, Sequence[Any]],
        *,
        seed: SeedLike = None,
    ) -> None:
        if isinstance(search_space, SearchSpace):
            self._space = search_space
        elif isinstance(search_space, Mapping):
            specs: dict[str, BaseDistribution] = {}
            for name, values in search_space.items():
                if isinstance(values, str) or not isinstance(values, Sequence) or not values:
                    raise SearchSpaceError(
                        f"grid values for {name!r} must be a non-empty list, but got {values!r}"
                    )
                specs[name] = CategoricalDistribution(list(values))
            self._space = SearchSpace(specs)
        else:
            raise SearchSpaceError(
                "`search_space` must be a SearchSpace or a dict of value lists, "
                f"but got {search_space!r}"
            )
        self._points = list(self._space.grid())
        if not self._points:
            raise SearchSpaceError("the grid is empty")
        if seed is None:
            self._seed = 0
        elif isinstance(seed, np.random.Generator):
            self._seed = int(seed.integers(2**62))
        else:
            as_generator(seed)  # validates
            self._seed = int(seed)
        self._order = np.arange(len(self._points))
        if seed is not None:
            np.random.default_rng(self._seed).shuffle(self._order)
        self._grid_params = set(self._space)
        self._lookup: dict[tuple[str, ...], dict[tuple[Any, ...], int]] | None = {}
        try:
            for i, point in enumerate(self._points):
                names = tuple(sorted(point))
                self._lookup.setdefault(names, {}).setdefault(
                    tuple(point[k] for k in names), i)
        except TypeError:  # unhashable grid values: _index_of scans the points
            self._lookup = None
        self._fingerprint = hashlib.sha256(json.dumps(
            self._points, sort_keys=True, default=repr).encode("utf-8")).hexdigest()[:16]
        self._lock = threading.Lock()
        self._picked: dict[int, int] = {}  # trial id -> the point it claimed (this process)
        self._reset_claims(None)

    def _reset_claims(self, key: tuple[int, int, str] | None) -> None:
        # What _taken has read so far from one study: the claims of finished trials (final:
        # a trial's point is written only while it runs), and the numbers of the trials that
        # were still open (RUNNING / WAITING) or not yet created at the last read.
        self._claims_key = key
        self._final_claims: dict[int, int] = {}  # grid index -> trial id
        self._open_numbers: set[int] = set()
        self._n_read = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def grid_size(self) -> int:
        """Number of grid points."""
        return len(self._points)

    @property
    def points(self) -> list[dict[str, Any]]:
        """The grid points in index order (copies)."""
        return [dict(p) for p in self._points]

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._space)

    def _taken(self, study: Study, exclude_trial_id: int) -> tuple[dict[int, int], int]:
        """Claimed grid indices (-> trial id), and how many other trials are RUNNING.

        Reads only the trials created since the last call and those still open then: a
        finished trial's claim never changes, so it is kept from the read that saw it finish
        (another worker's trials are found through the study's trial count).
        """
        from autolearn._records import TrialState

        storage, sid = study._storage, study._study_id
        key = (id(storage), sid, study.study_name)
        with self._lock:
            if key != self._claims_key:
                self._reset_claims(key)
            n = storage.get_n_trials(sid)
            numbers = sorted(self._open_numbers | set(range(self._n_read, n)))
            self._n_read = max(self._n_read, n)
            open_claims: dict[int, int] = {}
            running = 0
            for number in numbers:
                t = storage.get_trial_by_number(sid, number)
                gid = self._claim(t)
                if t.state.is_finished():
                    self._open_numbers.discard(number)
                    if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
                        covered = self._index_of(t.params)  # whatever grid claimed it
                        gid = covered if covered is not None else gid
                    if gid is not None:
                        self._final_claims[gid] = t.trial_id
                    continue
                self._open_numbers.add(number)
                if t.trial_id == exclude_trial_id:
                    continue
                if gid is not None:
                    open_claims[gid] = t.trial_id
                if t.state == TrialState.RUNNING:
                    running += 1
            taken = dict(self._final_claims)
        taken.update(open_claims)
        return taken, running

    def _claim(self, t: FrozenTrial) -> int | None:
        """The point of this grid that ``t`` claimed, or ``None`` (no claim, or a claim on
        another grid). A claim from before fingerprints were recorded counts if the
        parameters ``t`` has agree with the point."""
        gid = t.system_attrs.get(GRID_ID_KEY)
        if gid is None or not 0 <= int(gid) < len(self._points):
            return None
        stored = t.system_attrs.get(GRID_KEY)
        if stored is None:
            point = self._points[int(gid)]
            same = all(t.params[k] == v for k, v in point.items() if k in t.params)
        else:
            same = stored == self._fingerprint
        return int(gid) if same else None

    def _index_of(self, params: Mapping[str, Any]) -> int | None:
        """The first point all of whose parameters ``params`` has, with equal values."""
        if self._lookup is not None:  # one dict lookup per set of parameter names
            hits = []
            for names, index in self._lookup.items():
                if all(k in params for k in names):
                    try:
                        hit = index.get(tuple(params[k] for k in names))
                    except TypeError:  # an unhashable value: no point holds it
                        continue
                    if hit is not None:
                        hits.append(hit)
            return min(hits) if hits else None
        for i, p in enumerate(self._points):
            if all(k in params and params[k] == v for k, v in p.items()):
                return i
        return None

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        storage = study._storage
        fixed = trial.system_attrs.get(FIXED_PARAMS_KEY) or {}
        rng = np.random.default_rng(derive_seed(self._seed, trial.number))
        for attempt in range(_MAX_CLAIM_ATTEMPTS):
            taken, concurrent = self._taken(study, trial.trial_id)
            if fixed:
                # An enqueued trial keeps its own parameters; claim its point if it is free.
                idx = self._index_of(fixed)
                if idx is None or idx in taken:
                    return {}
                pick = idx
            else:
                claimed = np.zeros(len(self._points), dtype=bool)
                claimed[np.fromiter(taken, dtype=np.int64, count=len(taken))] = True
                free = self._order[~claimed[self._order]]
                if not len(free):
                    raise SearchExhausted(
                        f"all {len(self._points)} grid points are taken; the grid search is done"
                    )
                # Concurrent trials see the same free list; offsetting by the number of
                # other running trials spreads them over different points (alone, a trial
                # takes the next point in order; a retry after a clash picks at random).
                pick = int(free[concurrent % len(free)] if attempt == 0 else rng.choice(free))
            storage.set_trial_attr(trial.trial_id, GRID_ID_KEY, pick, system=True)
            clash = pick in self._taken(study, trial.trial_id)[0]
            if not clash:
                # which grid ``pick`` indexes; until this is written, others count the claim
                # as one from before fingerprints (an open trial's: taken)
                storage.set_trial_attr(trial.trial_id, GRID_KEY, self._fingerprint, system=True)
                with self._lock:
                    self._picked[trial.trial_id] = pick
                if len(taken) + 1 >= len(self._points):
                    study.stop()
                return dict(self._points[pick])
            storage.set_trial_attr(trial.trial_id, GRID_ID_KEY, None, system=True)
            if fixed:
                return {}
        raise SearchExhausted(
            f"could not claim a free grid point after {_MAX_CLAIM_ATTEMPTS} attempts"
        )

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        from autolearn.space import sample_distribution

        with self._lock:
            pick = self._picked.get(trial.trial_id)
        if pick is not None and param_name in self._points[pick]:
            # the grid's value was refused by the distribution the objective asked for: a
            # random value instead would count the point as done without evaluating it
            raise SearchSpaceError(
                f"the grid's value {self._points[pick][param_name]!r} for {param_name!r} is not "
                f"in the distribution the objective suggests ({distribution!r}); make the "
                "grid's values fit the suggest call")
        if param_name in self._grid_params:
            # Inactive in the claimed point (conditional space) but suggested anyway.
            _logger.warning(
                "Parameter %r is not part of the grid point of trial %d; sampling it at random.",
                param_name, trial.number,
            )
        else:
            _logger.warning(
                "Parameter %r is not in the grid %s; sampling it at random.",
                param_name, sorted(self._grid_params),
            )
        return sample_distribution(
            distribution, np.random.default_rng(derive_seed(self._seed, trial.number, 1))
        )

    def after_trial(self, study: Study, trial: FrozenTrial, state: Any,
                    values: Sequence[float] | None) -> None:
        with self._lock:
            self._picked.pop(trial.trial_id, None)

    def is_exhausted(self, study: Study) -> bool:
        return len(self._taken(study, -1)[0]) >= len(self._points)
