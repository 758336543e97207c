"""The tree-structured Parzen estimator (TPE) sampler.

TPE is composed like every model-based sampler in autolearn, as *surrogate* (a pair of
Parzen estimators ``l`` and ``g`` fitted on a good/bad split of the history),
*acquisition* (``log l(x) - log g(x)``) and *maximiser* (draw ``n_ei_candidates`` from
``l``, keep the best); the three are the pure functions of
:mod:`autolearn.samplers.tpe.parzen`, composed here.

Why not :class:`~autolearn.samplers.bo.BOSampler`: that loop fixes one search space as a
unit cube, fits a regression surrogate on ``(X, y)`` and asks it for a predictive mean
and variance; TPE fits densities on a *split* of the trials, its maximiser samples from
one of the fitted densities, and it must model define-by-run, tree-structured spaces
group by group, on different subsets of the trials. Forcing that into the cube loop
would need a posterior that is not one and a maximiser that reaches into the surrogate,
so the pieces stay separate pure functions and this module does the study-facing part:
reading the history (encoded once per finished trial and cached), splitting it,
grouping parameters, and seeding.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from autolearn._records import TrialState
from autolearn._rng import SeedLike, as_generator, derive_seed
from autolearn.exceptions import ConfigError
from autolearn.samplers._base import BaseSampler
from autolearn.samplers._random import RandomSampler
from autolearn.samplers.tpe.parzen import (
    CONTINUOUS,
    ParamSpec,
    default_gamma,
    default_weights,
    fit_parzen,
    propose,
)

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.space import BaseDistribution
    from autolearn.study import Study

__all__ = ["TPESampler"]

_logger = logging.getLogger(__name__)

_Key = tuple[str, "BaseDistribution"]
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class TPESampler(BaseSampler):
    """Tree-structured Parzen estimator, multivariate and group-aware by default.

    After ``n_startup_trials`` finished (complete or pruned) trials sampled at random, each
    trial ranks the history, calls the best ``gamma(n)`` trials good and the rest bad,
    fits a Parzen estimator ``l`` on the good and ``g`` on the bad ones, draws
    ``n_ei_candidates`` points from ``l`` and keeps the one with the largest
    ``l(x) / g(x)``.

    Tree-structured (conditional) spaces are modelled natively: with ``group=True`` the
    history's parameters are split into *groups* that always appear together (the
    subspaces that define-by-run branches induce), and each group gets its own
    multivariate TPE fitted on the trials where it was active, ranked within the global
    good/bad split. So a parameter that is inactive in many trials is still proposed by
    the model, jointly with its group, never left to independent sampling.

    Ranking: complete trials by objective value; then pruned trials, those that reached a
    later step first and, at equal steps, by their value there (as Optuna does), so
    pruned trials inform ``g`` and fill the good set only when too few trials completed;
    then (``constant_liar``) running trials of other workers, with the parameters they
    have so far, always bad. Failed trials are ignored. With several objectives the split
    is by non-domination rank, ties broken by crowding distance (a simple MOTPE).

    Reproducibility: every trial draws from streams seeded by ``(seed, trial.number)``
    (and the parameter's name for independent draws), so a serial run is reproducible
    from ``seed``; with parallel workers proposals depend on which trials had finished.

    Args:
        seed: Base seed; ``None`` draws one from the operating system.
        n_startup_trials: Finished trials to sample at random before the model is used.
        n_ei_candidates: Candidates drawn from ``l`` per proposal.
        gamma: ``n -> size of the good set``; default ``min(ceil(0.1 n), 25)``
            (:func:`~autolearn.samplers.tpe.parzen.hyperopt_gamma` gives Hyperopt's).
        weights: ``"ramp"`` (Optuna's: trials older than the newest 25 weigh less),
            ``"uniform"``, or ``n -> (n,)`` weights, oldest first.
        prior_weight: Weight of the prior component of each estimator (0: none).
        bandwidth: ``"neighbor"`` (per coordinate, each kernel's larger distance to its
            neighbouring observations, Bergstra et al. 2011; also in multivariate groups,
            as Optuna 5 does) or ``"scott"`` (one bandwidth per coordinate shrinking as
            ``0.2 n^(-1/(d+4))`` of the range, Optuna 3's multivariate rule; it measured
            worse, see ``docs/samplers_tpe.md``).
        magic_clip: Keep bandwidths above ``range / min(100, 1 + K)``.
        consider_endpoints: With neighbour bandwidths, let the domain's ends bound the
            outermost kernels.
        multivariate: Model the parameters of a group jointly (a product kernel sharing
            the component); ``False`` samples every parameter with its own univariate TPE.
        group: Decompose a conditional history into groups (see above); ``False`` models
            jointly only the parameters present in every finished trial.
        constant_liar: Count other workers' running trials as bad, so parallel workers
            do not propose the same point.
        avoid_duplicates: When every parameter of the configuration is modelled in one
            group and takes finitely many values (ints, stepped floats, categoricals),
            pass over candidates that repeat an evaluated (finished or, with
            ``constant_liar``, running) configuration while another candidate is new.
            On a small grid TPE otherwise spends trials re-evaluating its good set (about
            one in six of 100 on NAS-Bench-201, as Optuna's does); a noisy objective that
            should be re-evaluated can set ``False``.

    Example:
        >>> import autolearn
        >>> from autolearn.samplers.tpe import TPESampler
        >>> study = autolearn.create_study(sampler=TPESampler(seed=0, n_startup_trials=5))
        >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=30)
        >>> abs(study.best_params["x"] - 1) < 1.0
        True

    References:
        Bergstra, Bardenet, Bengio & Kégl (2011). Algorithms for hyper-parameter
        optimization. NeurIPS.
        Bergstra, Yamins & Cox (2013). Making a science of model search: hyperparameter
        optimization in hundreds of dimensions for vision architectures. ICML.
        Falkner, Klein & Hutter (2018). BOHB: robust and efficient hyperparameter
        optimization at scale. ICML.
        Ozaki, Tanigaki, Watanabe & Onishi (2020). Multiobjective tree-structured Parzen
        estimator for computationally expensive optimization problems. GECCO.
        Watanabe (2023). Tree-structured Parzen estimator: understanding its algorithm
        components and their roles for better empirical performance. arXiv:2304.11127.
    """

    def __init__(
        self,
        *,
        seed: SeedLike = None,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: Callable[[int], int] = default_gamma,
        weights: Literal["ramp", "uniform"] | Callable[[int], np.ndarray] = "ramp",
        prior_weight: float = 1.0,
        bandwidth: Literal["scott", "neighbor"] = "neighbor",
        magic_clip: bool = True,
        consider_endpoints: bool = False,
        multivariate: bool = True,
        group: bool = True,
        constant_liar: bool = False,
        avoid_duplicates: bool = True,
    ) -> None:
        for name, v, lo in (("n_startup_trials", n_startup_trials, 0),
                            ("n_ei_candidates", n_ei_candidates, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"`{name} >= {lo}` must hold (an int), but got {name}={v!r}")
        if not callable(gamma):
            raise ConfigError(f"`gamma` must be a function n -> int, but got {gamma!r}")
        if weights not in ("ramp", "uniform") and not callable(weights):
            raise ConfigError(
                f"`weights` must be 'ramp', 'uniform' or a function n -> array, but got "
                f"{weights!r}")
        if not (isinstance(prior_weight, int | float) and math.isfinite(prior_weight)
                and prior_weight >= 0):
            raise ConfigError(f"`prior_weight >= 0` must hold, but got {prior_weight!r}")
        if bandwidth not in ("scott", "neighbor"):
            raise ConfigError(
                f"`bandwidth` must be 'scott' or 'neighbor', but got {bandwidth!r}")
        if isinstance(seed, np.random.Generator):
            self._seed = int(seed.integers(2**62))
        elif seed is None:
            self._seed = int(as_generator(None).integers(2**62))
        else:
            as_generator(seed)  # validates
            self._seed = int(seed)
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.gamma = gamma
        self._weights: Callable[[int], np.ndarray] = (
            default_weights if weights == "ramp"
            else (np.ones if weights == "uniform" else weights))  # type: ignore[assignment]
        self.prior_weight = float(prior_weight)
        self.bandwidth = bandwidth
        self.magic_clip = magic_clip
        self.consider_endpoints = consider_endpoints
        self.multivariate = multivariate
        self.group = group
        self.constant_liar = constant_liar
        self.avoid_duplicates = avoid_duplicates
        self._random = RandomSampler(seed=self._seed)
        self._histories: dict[tuple[int, int], _History] = {}
        self._memo: dict[int, list[FrozenTrial]] = {}

    # ---- reading the study ---------------------------------------------------------------
    def _trials(self, study: Study, trial: FrozenTrial) -> list[FrozenTrial]:
        """The study's trials as seen when ``trial`` started (one read per trial)."""
        trials = self._memo.get(trial.trial_id)
        if trials is None:
            if len(self._memo) > 64:  # only trials running in this process need one
                self._memo.clear()
            trials = self._memo[trial.trial_id] = study.get_trials()
        return trials

    def _history(self, study: Study, trial: FrozenTrial) -> _History:
        key = (id(study._storage), study._study_id)
        hist = self._histories.get(key)
        if hist is None:
            signs = [-1.0 if str(d) == "maximize" else 1.0 for d in study.directions]
            hist = self._histories[key] = _History(signs)
        hist.update(self._trials(study, trial))
        return hist

    # ---- the sampler contract ----------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if not self.multivariate:
            return {}
        hist = self._history(study, trial)
        if hist.n < max(self.n_startup_trials, 1):
            return {}
        space: dict[str, BaseDistribution] = {}
        conflicts = set()
        for g in self._groups(hist):
            for name, dist in g:
                if space.setdefault(name, dist) != dist:
                    conflicts.add(name)
        return {k: space[k] for k in sorted(space) if k not in conflicts}

    def _groups(self, hist: _History) -> list[list[_Key]]:
        if self.group:
            groups = hist.groups
        else:
            M = hist.arrays()["M"]
            full = ~np.isnan(M).any(axis=0)
            groups = [frozenset(k for k, i in hist.keys.items() if full[i])]
        return sorted((sorted(g, key=lambda k: k[0]) for g in groups if g),
                      key=lambda g: g[0][0])

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        hist = self._history(study, trial)
        data = self._data(study, trial, hist)
        rng = np.random.default_rng(derive_seed(self._seed, trial.number))
        out: dict[str, Any] = {}
        for g in self._groups(hist):
            keys = [k for k in g if search_space.get(k[0]) == k[1]]
            if keys:
                x = self._propose(hist, data, keys, rng)
                if x is not None:
                    out.update({k[0]: ParamSpec.of(k[1]).decode(k[1], v)
                                for k, v in zip(keys, x, strict=True)})
        return out

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        hist = self._history(study, trial)
        key = (param_name, distribution)
        if hist.n < max(self.n_startup_trials, 1) or key not in hist.keys:
            return self._random.sample_independent(study, trial, param_name, distribution)
        data = self._data(study, trial, hist)
        rng = np.random.default_rng(
            derive_seed(self._seed, trial.number, zlib.crc32(param_name.encode())))
        x = self._propose(hist, data, [key], rng)
        if x is None:
            return self._random.sample_independent(study, trial, param_name, distribution)
        return ParamSpec.of(distribution).decode(distribution, float(x[0]))

    def after_trial(self, study: Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        self._memo.pop(trial.trial_id, None)
        self._random.after_trial(study, trial, state, values)

    # ---- the model -------------------------------------------------------------------------
    def _data(self, study: Study, trial: FrozenTrial, hist: _History) -> dict[str, np.ndarray]:
        """Finished rows plus (constant liar) other workers' running trials, and the split."""
        arr = hist.arrays()
        M, below = arr["M"], arr["rank"]
        running = np.zeros((0, M.shape[1]))
        if self.constant_liar:
            rows = [t for t in self._trials(study, trial)
                    if t.state == TrialState.RUNNING and t.trial_id != trial.trial_id
                    and t.params]
            if rows:
                running = hist.encode_rows(rows)
        n_below = min(int(self.gamma(len(M) + len(running))), len(M))
        good = np.zeros(len(M), dtype=bool)
        good[below[:n_below]] = True
        return {"M": M, "good": good, "running": running}

    def _propose(self, hist: _History, data: dict[str, np.ndarray], keys: Sequence[_Key],
                 rng: np.random.Generator) -> np.ndarray | None:
        idx = [hist.keys[k] for k in keys]
        M, good = data["M"][:, idx], data["good"]
        active = ~np.isnan(M).any(axis=1)
        R = data["running"][:, idx]
        R = R[~np.isnan(R).any(axis=1)]
        Xl = M[active & good]
        Xg = np.vstack([M[active & ~good], R])
        if len(Xl) + len(Xg) == 0:
            return None
        if self.prior_weight == 0 and (len(Xl) == 0 or len(Xg) == 0):
            return None
        specs = [ParamSpec.of(k[1]) for k in keys]
        ties = rng.spawn(1)[0]  # its own stream: rng's draws are as without ties
        l_est, g_est = (
            fit_parzen(X, specs, self._weights(len(X)), prior_weight=self.prior_weight,
                       bandwidth=self.bandwidth, magic_clip=self.magic_clip,
                       consider_endpoints=self.consider_endpoints, seed=ties)
            for X in (Xl, Xg))
        exclude = None
        if (self.avoid_duplicates and len(keys) == len(hist.keys)
                and all(sp.kind != CONTINUOUS for sp in specs)):
            exclude = np.vstack([M[active], R])
        return propose(l_est, g_est, self.n_ei_candidates, rng, exclude=exclude)


class _History:
    """The finished (complete and pruned) trials of one study, encoded once each.

    Finished trials never change, so each is read once into a growing buffer; the sorted
    arrays are rebuilt (in numpy, no per-trial Python) only when new trials have finished.
    Rows are ordered by trial number (the weights' "age").
    """

    def __init__(self, signs: list[float]) -> None:
        self.signs = np.asarray(signs)
        self.seen: set[int] = set()
        self.keys: dict[_Key, int] = {}
        self.groups: list[frozenset[_Key]] = []
        self._number: list[int] = []
        self._tier: list[int] = []  # 0 complete, 1 pruned
        self._values: list[tuple[float, ...]] = []  # objective values (NaN for pruned)
        self._step: list[float] = []  # last reported step of pruned trials (-1: none)
        self._last: list[float] = []  # value at that step
        self._buf = np.full((64, 8), np.nan)
        self._arrays: dict[str, np.ndarray] | None = None
        self._last_read: list[FrozenTrial] | None = None

    @property
    def n(self) -> int:
        return len(self._number)

    def update(self, trials: list[FrozenTrial]) -> None:
        if trials is self._last_read:  # the same read of the study as the last call
            return
        self._last_read = trials
        nan_values = (math.nan,) * len(self.signs)
        for t in trials:
            if t.state not in _FINISHED or t.trial_id in self.seen:
                continue
            self.seen.add(t.trial_id)
            enc = self._encode(t)
            r = len(self._number)
            if r >= self._buf.shape[0] or len(self.keys) > self._buf.shape[1]:
                grown = np.full((max(2 * self._buf.shape[0], r + 1),
                                 max(2 * self._buf.shape[1], len(self.keys))), np.nan)
                grown[: self._buf.shape[0], : self._buf.shape[1]] = self._buf
                self._buf = grown
            if enc:
                self._buf[r, list(enc)] = list(enc.values())
            self._number.append(t.number)
            if t.state == TrialState.COMPLETE:
                self._tier.append(0)
                self._values.append(t.values or nan_values)
                self._step.append(0.0)
                self._last.append(math.nan)
            else:
                step = t.last_step
                self._tier.append(1)
                self._values.append(nan_values)
                self._step.append(-1.0 if step is None else float(step))
                self._last.append(t.intermediate_values[step] if step is not None else math.nan)
            self._split_groups(frozenset(k for k, i in self.keys.items() if i in enc))
            self._arrays = None

    def _encode(self, t: FrozenTrial) -> dict[int, float]:
        enc: dict[int, float] = {}
        for name, dist in t.distributions.items():
            if dist.is_single():
                continue
            i = self.keys.setdefault((name, dist), len(self.keys))
            enc[i] = ParamSpec.of(dist).encode(dist, t.params[name])
        return enc

    def encode_rows(self, trials: list[FrozenTrial]) -> np.ndarray:
        """``(r, n_keys)`` coordinates of (running) trials, NaN where a key is missing."""
        out = np.full((len(trials), len(self.keys)), np.nan)
        for r, t in enumerate(trials):
            for name, dist in t.distributions.items():
                i = self.keys.get((name, dist))
                if i is not None:
                    out[r, i] = ParamSpec.of(dist).encode(dist, t.params[name])
        return out

    def _split_groups(self, s: frozenset[_Key]) -> None:
        """Refine the groups so that each lies entirely inside or outside ``s``."""
        if not s:
            return
        new = []
        rest = set(s)
        for g in self.groups:
            for part in (g & s, g - s):
                if part:
                    new.append(part)
            rest -= g
        if rest:
            new.append(frozenset(rest))
        self.groups = new

    def arrays(self) -> dict[str, np.ndarray]:
        """``M: (n, n_keys)`` coordinates by trial number (NaN: inactive) and
        ``rank: (n,)`` row indices from best to worst."""
        if self._arrays is not None:
            return self._arrays
        n = self.n
        order = np.argsort(np.asarray(self._number), kind="stable")
        M = self._buf[:n, : len(self.keys)][order]
        tier = np.asarray(self._tier, dtype=float)[order]
        Y = np.asarray(self._values, dtype=float).reshape(n, -1)[order]
        Y = np.where(np.isnan(Y), np.inf, Y * self.signs)
        k1 = np.zeros(n)
        k2 = np.zeros(n)
        complete = tier == 0
        if Y.shape[1] == 1:
            k1[complete] = Y[complete, 0]
        elif complete.any():
            k1[complete], k2[complete] = _pareto_rank(Y[complete])
        pruned = ~complete
        if pruned.any():
            k1[pruned] = -np.asarray(self._step)[order][pruned]
            pv = np.asarray(self._last)[order][pruned] * self.signs[0]
            k2[pruned] = np.where(np.isnan(pv), np.inf, pv)
        self._arrays = {"M": M, "rank": np.lexsort((k2, k1, tier))}
        return self._arrays


def _pareto_rank(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-domination rank ``(n,)`` and minus crowding distance ``(n,)`` of ``Y: (n, m)``
    (minimised; smaller is better for both)."""
    n = len(Y)
    dom: np.ndarray = np.asarray(
        (Y[:, None, :] <= Y[None, :, :]).all(-1) & (Y[:, None, :] < Y[None, :, :]).any(-1))
    dominated_by = np.asarray(dom.sum(axis=0))  # how many points dominate each point
    rank = np.full(n, -1)
    front = 0
    left = np.ones(n, dtype=bool)
    while left.any():
        cur = left & (dominated_by == 0)
        rank[cur] = front
        left &= ~cur
        dominated_by = dominated_by - dom[cur].sum(axis=0)
        dominated_by[~left] = -1
        front += 1
    crowd = np.zeros(n)
    for f in range(front):
        idx = np.flatnonzero(rank == f)
        if len(idx) <= 2:
            crowd[idx] = np.inf
            continue
        for k in range(Y.shape[1]):
            v = Y[idx, k]
            o = np.argsort(v)
            span = v[o[-1]] - v[o[0]]
            crowd[idx[o[0]]] = crowd[idx[o[-1]]] = np.inf
            if span > 0 and np.isfinite(span):
                crowd[idx[o[1:-1]]] += (v[o[2:]] - v[o[:-2]]) / span
    return rank.astype(float), -crowd
