"""The one Bayesian-optimisation loop every model-based preset composes."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn._records import TrialState
from autolearn._rng import SeedLike, as_generator, derive_seed
from autolearn.samplers._base import BaseSampler
from autolearn.samplers._random import RandomSampler
from autolearn.samplers.bo._base import Acquisition, CubeSpace, Maximizer, Surrogate
from autolearn.space import BaseDistribution, UnitCubeTransform

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.study import Study

__all__ = ["BOSampler", "encode_complete_params", "intersection_search_space", "observations"]

_logger = logging.getLogger(__name__)
_blas_controller: Any = None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS (OpenBLAS, MKL, ...) to one thread while a model is fitted and searched.

    A suggestion makes thousands of small BLAS and L-BFGS-B calls; with a multi-threaded
    BLAS each one wakes a thread pool, and on a loaded machine the pool's contention can
    cost ten times the arithmetic (SciPy >= 1.15's L-BFGS-B is affected too: scipy issue
    22438). Uses ``threadpoolctl`` (installed with scikit-learn); without it, does nothing.
    """
    global _blas_controller
    try:
        if _blas_controller is None:
            from threadpoolctl import ThreadpoolController

            _blas_controller = ThreadpoolController()
        limiter = _blas_controller.limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - an optional speed-up, never a failure
        yield
        return
    with limiter:
        yield


def intersection_search_space(trials: list[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Parameters present, with the same distribution, in every one of ``trials``.

    Single-valued distributions are left out (there is nothing to model). Ordered by name.
    """
    space: dict[str, BaseDistribution] | None = None
    for t in trials:
        if space is None:
            space = dict(t.distributions)
            continue
        for name in list(space):
            if t.distributions.get(name) != space[name]:
                del space[name]
    if not space:
        return {}
    return {k: space[k] for k in sorted(space) if not space[k].is_single()}


def observations(
    trials: list[FrozenTrial], transform: UnitCubeTransform, sign: float
) -> tuple[np.ndarray, np.ndarray]:
    """``X: (n, D)`` and ``y: (n,)`` (to minimise) of complete trials with finite values."""
    X, y = [], []
    for t in trials:
        v = t.values[0] if t.values else math.nan
        if not math.isfinite(v):
            continue
        try:
            X.append(transform.encode({k: t.params[k] for k in transform.space}))
        except (KeyError, ValueError):
            continue
        y.append(sign * v)
    if not X:
        return np.zeros((0, transform.dim)), np.zeros(0)
    return np.stack(X), np.asarray(y, dtype=float)


def encode_complete_params(trials: list[FrozenTrial], transform: UnitCubeTransform
                           ) -> np.ndarray:
    """``(n, D)`` points of the trials that already have every parameter of the space."""
    rows = []
    for t in trials:
        if all(k in t.params for k in transform.space):
            try:
                rows.append(transform.encode({k: t.params[k] for k in transform.space}))
            except ValueError:
                continue
    return np.stack(rows) if rows else np.zeros((0, transform.dim))


class BOSampler(BaseSampler):
    """Bayesian optimisation composed of a surrogate, an acquisition and a maximiser.

    The loop, per trial: take the search space shared by all complete trials; before
    ``n_startup_trials`` complete trials exist, propose a point of a scrambled Sobol
    sequence; afterwards encode the history on the unit cube, add the points of trials
    still running with the worst value seen (constant liar, so parallel workers spread
    out), fit the surrogate, and return the maximiser's best point of the acquisition.
    Parameters outside the shared space are sampled at random.

    Args:
        surrogate: Model of the objective (e.g. a Gaussian process, a random forest).
        acquisition: Scores candidate points from the fitted model (e.g. expected
            improvement).
        maximizer: Searches the cube for the acquisition's best point.
        n_startup_trials: Complete trials to gather before the model is used.
        constant_liar: Treat running trials as observed at the worst value so far.
        seed: Makes the run reproducible (each trial draws from ``(seed, number)``).

    Only single-objective studies are modelled; for several objectives the sampler falls
    back to random sampling and logs a warning once. Failed, pruned and NaN-valued trials
    are not used as observations.
    """

    def __init__(
        self,
        *,
        surrogate: Surrogate,
        acquisition: Acquisition,
        maximizer: Maximizer,
        n_startup_trials: int = 10,
        constant_liar: bool = True,
        seed: SeedLike = None,
    ) -> None:
        from autolearn.exceptions import ConfigError

        if isinstance(n_startup_trials, bool) or n_startup_trials < 1:
            raise ConfigError(f"`n_startup_trials >= 1` must hold, but got {n_startup_trials}")
        self.surrogate = surrogate
        self.acquisition = acquisition
        self.maximizer = maximizer
        self.n_startup_trials = int(n_startup_trials)
        self.constant_liar = constant_liar
        if isinstance(seed, np.random.Generator):
            self._seed = int(seed.integers(2**62))
        elif seed is None:
            self._seed = int(as_generator(None).integers(2**62))
        else:
            as_generator(seed)  # validates
            self._seed = int(seed)
        self._random = RandomSampler(seed=self._seed)
        self._warned_multi = False

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if study.is_multi_objective:
            if not self._warned_multi:
                _logger.warning("%s models one objective; sampling at random instead.",
                                type(self).__name__)
                self._warned_multi = True
            return {}
        return intersection_search_space(study.get_trials(states=(TrialState.COMPLETE,)))

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        with single_threaded_blas():
            return self._sample_relative(study, trial, search_space)

    def _sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        transform = UnitCubeTransform(search_space)
        space = CubeSpace.build(transform)
        rng = np.random.default_rng(derive_seed(self._seed, trial.number))
        complete = study.get_trials(states=(TrialState.COMPLETE,))
        sign = -1.0 if str(study.direction) == "maximize" else 1.0
        X, y = observations(complete, transform, sign)
        if len(y) < self.n_startup_trials:
            return transform.decode(space.round(self._sobol(transform.dim, trial.number))[0])
        if self.constant_liar:
            running = [t for t in study.get_trials(states=(TrialState.RUNNING,))
                       if t.trial_id != trial.trial_id]
            Xr = encode_complete_params(running, transform)
            if len(Xr):
                X = np.vstack([X, Xr])
                y = np.concatenate([y, np.full(len(Xr), y.max())])
        posterior = self.surrogate.fit(X, y, space, rng)
        best = float(y.min())

        def score(Xc: np.ndarray) -> np.ndarray:
            return self.acquisition(posterior, Xc, best)

        # Best first, so maximisers can search around the incumbents (running trials,
        # given the worst value by the constant liar, come last).
        x = self.maximizer(score, space, X[np.argsort(y, kind="stable")], rng)
        return transform.decode(space.round(x[None, :])[0])

    def _sobol(self, dim: int, index: int) -> np.ndarray:
        from scipy.stats import qmc

        engine = qmc.Sobol(dim, scramble=True, seed=self._seed % (2**32))
        if index:
            engine.fast_forward(index)
        return engine.random(1)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        self._random.after_trial(study, trial, state, values)
