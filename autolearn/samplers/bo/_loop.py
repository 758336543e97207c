"""The one Bayesian-optimisation loop every model-based preset composes."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn._records import TrialState
from autolearn._rng import SeedLike, as_generator, derive_seed
from autolearn.samplers._base import BaseSampler
from autolearn.samplers._random import RandomSampler
from autolearn.samplers.bo._base import Acquisition, CubeSpace, Maximizer, Surrogate
from autolearn.samplers.bo.restart import RestartHistory, TrustRegionRestarts
from autolearn.samplers.bo.warp import MedianLogWarp
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


def _qmc_points(dim: int, log2_n: int, rng: np.random.Generator) -> np.ndarray:
    """``2 ** log2_n`` scrambled Sobol points of ``[0, 1]^dim``."""
    from scipy.stats import qmc

    return qmc.Sobol(dim, scramble=True, seed=rng).random_base2(log2_n)


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
        restarts: Once the search has stalled, hand a share of the proposals to local
            searches elsewhere (see :mod:`autolearn.samplers.bo.restart`); needs a
            surrogate whose posterior has a mean and variance (not used by default).
        output_warp: Fitted to the complete trials' values, returns a monotone map of
            values (e.g. :func:`~autolearn.samplers.bo.warp.median_log_warp`) or None;
            the surrogate and the acquisition then see warped values (None: raw values).
        warp_select: Fit a second surrogate to the raw values too and keep the warp only
            if its model's ``log_evidence()`` plus the warp's ``log_jacobian`` is larger
            (needs a posterior with ``log_evidence``, as the GP's has).
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
        restarts: TrustRegionRestarts | None = None,
        output_warp: Callable[[np.ndarray], MedianLogWarp | None] | None = None,
        warp_select: bool = False,
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
        self.restarts = restarts
        self.output_warp = output_warp
        self.warp_select = warp_select
        self._raw_surrogate: Surrogate | None = None
        self._phase_surrogate: Surrogate | None = None
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
        # one read of the history: the model's observations and the restarts' view of it
        others = [t for t in study.get_trials(states=(TrialState.COMPLETE, TrialState.RUNNING))
                  if t.trial_id != trial.trial_id]
        sign = -1.0 if str(study.direction) == "maximize" else 1.0
        X, y = observations([t for t in others if t.state == TrialState.COMPLETE], transform,
                            sign)
        n_complete = len(y)
        if len(y) < self.n_startup_trials:
            return transform.decode(space.round(self._sobol(transform.dim, trial.number))[0])
        if self.constant_liar:
            running = [t for t in others if t.state == TrialState.RUNNING]
            Xr = encode_complete_params(running, transform)
            if len(Xr):
                X = np.vstack([X, Xr])
                y = np.concatenate([y, np.full(len(Xr), y.max())])
        # A monotone warp fitted to the complete values (the order of points is kept, so
        # the incumbent is the same); the model and the acquisition see warped values.
        warp = self.output_warp(y[:n_complete]) if self.output_warp is not None else None
        y_raw = y
        if warp is not None:
            y = warp(y)
        history = (self._restart_history(others, space, sign) if self.restarts is not None
                   else None)
        refine = history is not None and history.refine_due
        if history is not None and history.active and not refine:
            x, kind = self._phase_step(history, space, rng)
            self._tag(study, trial, history.state.phase, kind)  # type: ignore[union-attr]
            return transform.decode(space.round(x[None, :])[0])
        posterior = self.surrogate.fit(X, y, space, rng)
        if warp is not None and self.warp_select:
            # Keep the warp only if the warped model explains the raw values better: its
            # marginal likelihood plus the warp's log-Jacobian against the raw model's.
            import copy

            if self._raw_surrogate is None:
                self._raw_surrogate = copy.deepcopy(self.surrogate)
            raw = self._raw_surrogate.fit(X, y_raw, space, rng)
            if raw.log_evidence() > posterior.log_evidence() + warp.log_jacobian(y_raw):
                posterior, y, warp = raw, y_raw, None
        best = float(y.min())
        if refine:
            # Every few trials of a phase, refine the incumbent: expected improvement in a
            # small box around it (the basin it is in may be the best one).
            assert history is not None
            lo, hi = history.policy.box(X[int(np.argmin(y))], history.policy.refine_side,
                                        space.continuous)
            Xs = X[np.argsort(y, kind="stable")]
            z = self.maximizer(lambda Z: self.acquisition(posterior, lo + Z * (hi - lo), best),
                               space, np.clip((Xs[:1] - lo) / np.maximum(hi - lo, 1e-12), 0, 1),
                               rng)
            self._tag(study, trial, 0, "refine")
            return transform.decode(space.round((lo + z * (hi - lo))[None, :])[0])

        def score(Xc: np.ndarray) -> np.ndarray:
            return self.acquisition(posterior, Xc, best)

        # Best first, so maximisers can search around the incumbents (running trials,
        # given the worst value by the constant liar, come last).
        x = self.maximizer(score, space, X[np.argsort(y, kind="stable")], rng)
        if history is not None and history.should_restart(posterior, x, warp):
            cand = space.round(_qmc_points(space.dim, 10, rng))
            x = history.policy.design_point(cand, history.points, history.centres(),
                                            space.continuous)
            self._tag(study, trial, history.next_phase, "design")
        return transform.decode(space.round(x[None, :])[0])

    @staticmethod
    def _tag(study: Study, trial: FrozenTrial, phase: int, kind: str) -> None:
        from autolearn.samplers.bo.restart import PHASE_KEY

        study._storage.set_trial_attr(trial.trial_id, PHASE_KEY, f"{phase}:{kind}", system=True)

    def _restart_history(self, others: list[FrozenTrial], space: CubeSpace, sign: float
                         ) -> RestartHistory | None:
        """The history as the restarts see it, from the other complete and running trials
        (``sign`` makes values minimised); None if no complete trial can be encoded."""
        from autolearn.samplers.bo.restart import PHASE_KEY, RestartHistory

        transform = space.transform
        points, values, complete, tags = [], [], [], []
        for t in sorted(others, key=lambda t: t.number):
            try:
                point = transform.encode({k: t.params[k] for k in transform.space})
            except (KeyError, ValueError):
                continue
            done = t.state == TrialState.COMPLETE
            v = sign * t.values[0] if done and t.values else math.nan
            if done and not math.isfinite(v):
                continue
            points.append(point)
            values.append(v)
            complete.append(done)
            tags.append(str(t.system_attrs.get(PHASE_KEY, "")))
        if not any(complete):
            return None
        assert self.restarts is not None
        return RestartHistory.build(self.restarts, np.stack(points), np.array(values),
                                    np.array(complete), tags)

    def _phase_step(self, history: RestartHistory, space: CubeSpace,
                    rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """The running phase's next point and its kind (``"design"`` or ``"local"``)."""
        import copy

        from autolearn.samplers.bo.acquisition import log_ei

        policy, state = history.policy, history.state
        assert policy is not None and state is not None
        if state.n_design < policy.n_design or state.best_x is None:
            cand = space.round(_qmc_points(space.dim, 10, rng))
            return policy.design_point(cand, history.points, history.centres(),
                                       space.continuous), "design"
        # A fresh model of the phase's own trials (running ones at its worst value).
        mine = history.phase == state.phase
        X, y = history.points[mine], history.values[mine]
        done = history.complete[mine]
        if self.constant_liar:
            y = np.where(done, y, np.max(y[done]))
        else:
            X, y = X[done], y[done]
        if self._phase_surrogate is None:
            self._phase_surrogate = copy.deepcopy(self.surrogate)
        model = self._phase_surrogate.fit(X, y, space, rng)
        lo, hi = policy.box(state.best_x, state.side, space.continuous)
        C = history.centres(exclude=state.best_x)
        radius = policy.exclusion_radius * math.sqrt(space.dim)

        def score(Z: np.ndarray) -> np.ndarray:
            P = lo + Z * (hi - lo)
            s = log_ei(*model.predict(P), state.best_y)
            if len(C):
                d = np.sqrt(((P[:, None, :] - C[None]) ** 2).sum(-1)).min(1)
                s = np.where(d < radius, s - 1e3, s)  # outside the basins left behind
            return s

        order = np.argsort(np.where(done, y, np.inf), kind="stable")
        Zobs = np.clip((X[order] - lo) / np.maximum(hi - lo, 1e-12), 0.0, 1.0)
        return lo + self.maximizer(score, space, Zobs, rng) * (hi - lo), "local"

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
