"""SMAC: Bayesian optimisation with a random forest and local search."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn._records import TrialState
from autolearn._rng import SeedLike, derive_seed
from autolearn.samplers.bo._base import CubeSpace, Posterior
from autolearn.samplers.bo._loop import BOSampler
from autolearn.samplers.bo.forest import ForestPosterior, RandomForestSurrogate
from autolearn.samplers.bo.local_search import LocalSearch, random_points
from autolearn.space import BaseDistribution, CategoricalDistribution, UnitCubeTransform

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.study import Study

__all__ = ["INACTIVE", "SMACSampler", "activation_rules", "impute_inactive",
           "union_search_space"]

#: Value of every coordinate of an inactive parameter: outside the cube, so one split of
#: a tree separates "inactive" from every active value.
INACTIVE = -1.0

#: ``name -> (parent, internal values of parent that activate name)``.
Rules = dict[str, tuple[str, frozenset[int]]]


def union_search_space(trials: list[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Every parameter seen in ``trials``, with the distribution it had last.

    Single-valued distributions are left out (there is nothing to model). Ordered by name.
    """
    space: dict[str, BaseDistribution] = {}
    for t in sorted(trials, key=lambda t: t.number):
        space.update(t.distributions)
    return {k: space[k] for k in sorted(space) if not space[k].is_single()}


def _category(dist: BaseDistribution, value: Any) -> int | None:
    try:
        return int(dist.to_internal(value))
    except (ValueError, TypeError):
        return None


def activation_rules(trials: list[FrozenTrial], space: dict[str, BaseDistribution]) -> Rules:
    """Infer, from the trials, which categorical activates each conditional parameter.

    A parameter missing from some of ``trials`` gets the rule ``(parent, values)`` when a
    categorical ``parent`` of ``space`` explains its presence exactly: it is present in a
    trial if and only if ``parent`` is present with one of ``values`` (internal indices).
    Parameters no categorical explains get no rule and are treated as always active when
    candidates are scored (a define-by-run objective does not declare its conditions).
    """
    names = list(space)
    present = {n: np.array([n in t.params for t in trials]) for n in names}
    cats = {}
    for q, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            cats[q] = np.array([_category(dist, t.params[q]) if q in t.params else -1
                                for t in trials])
    rules: Rules = {}
    for p in names:
        if present[p].all():
            continue
        for q, idx in cats.items():
            if q == p or not present[q][present[p]].all():
                continue
            values = frozenset(int(v) for v in idx[present[p]])
            if -1 in values:
                continue
            absent = ~present[p] & (idx >= 0)
            if not any(int(v) in values for v in idx[absent]):
                rules[p] = (q, values)
                break
    return rules


def impute_inactive(X: np.ndarray, transform: UnitCubeTransform, rules: Rules) -> np.ndarray:
    """``X: (m, D)`` with every coordinate of an inactive parameter set to ``INACTIVE``.

    A parameter with a rule is active where its parent is active and the parent's one-hot
    block picks one of the rule's values; parameters without a rule are always active.
    """
    X = np.array(X, dtype=float, ndmin=2)
    memo: dict[str, np.ndarray] = {}

    def active(name: str, depth: int = 0) -> np.ndarray:
        if name in memo:
            return memo[name]
        mask = np.ones(len(X), dtype=bool)
        rule = rules.get(name)
        if rule is not None and depth < len(rules) + 1:
            parent, values = rule
            sl = transform.slices[parent]
            chosen = np.argmax(X[:, sl], axis=1)
            mask = active(parent, depth + 1) & np.isin(chosen, list(values))
        memo[name] = mask
        return mask

    masks = {name: active(name) for name in rules}
    for name, mask in masks.items():
        X[~mask, transform.slices[name]] = INACTIVE
    return X


_MISSING = object()


def _encode(params: Mapping[str, Any], transform: UnitCubeTransform) -> np.ndarray:
    """``(D,)`` point of a possibly partial assignment; absent parameters are INACTIVE."""
    full: dict[str, Any] = {}
    missing = []
    for name, dist in transform.space.items():
        value = params.get(name, _MISSING)
        if value is not _MISSING:
            try:
                ok = dist.contains(dist.to_internal(value))
            except (ValueError, TypeError):
                ok = False
            if ok:
                full[name] = value
                continue
        missing.append(name)
        full[name] = (dist.choices[0] if isinstance(dist, CategoricalDistribution)
                      else dist.low)  # type: ignore[attr-defined]
    x = transform.encode(full)
    for name in missing:
        x[transform.slices[name]] = INACTIVE
    return x



class SMACSampler(BOSampler):
    """Sequential model-based algorithm configuration (SMAC): random-forest BO.

    Composes the shared :class:`~autolearn.samplers.bo.BOSampler` loop (Sobol startup,
    constant liar for running trials) with a random forest
    (:class:`~autolearn.samplers.bo.forest.RandomForestSurrogate`), expected improvement
    (its logarithm, :func:`~autolearn.samplers.bo.acquisition.log_ei`)
    and SMAC's local search (:class:`~autolearn.samplers.bo.local_search.LocalSearch`).
    With probability ``random_interleave_prob`` a suggestion after the startup is a
    uniformly random configuration instead, which keeps SMAC exploring whatever the model
    believes.

    Conditional (define-by-run) spaces are modelled whole: the sampler proposes every
    parameter seen in a complete trial (their *union*), encodes parameters a trial did
    not use as inactive (a value outside the cube the trees can split on) and infers from
    the history which categorical switches each conditional parameter on, so candidates
    are scored with the same imputation. Proposals for parameters that the objective
    then does not ask for are simply unused.

    Args:
        seed: Makes the run reproducible: each trial draws from ``(seed, number)``, also
            with ``n_jobs > 1`` given the same trial order of completion (with parallel
            workers the history a trial sees depends on timing).
        n_startup_trials: Complete trials, from a scrambled Sobol sequence, before the
            forest is used.
        n_trees: Trees in the forest.
        log_y: Model the log of scaled costs (see
            :func:`~autolearn.samplers.bo.forest.log_scale_costs`), as SMAC3 does for
            hyperparameter optimisation: it resolves the region near the best values
            much better (Branin regret at 100 trials 0.0004 with it, 0.1 without).
        random_interleave_prob: Probability that a model-phase suggestion is random.
        constant_liar: Treat running trials as observed at the worst value so far.

    Example:
        >>> import autolearn
        >>> from autolearn.samplers._smac import SMACSampler
        >>> study = autolearn.create_study(sampler=SMACSampler(seed=0, n_startup_trials=5))
        >>> study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=15)
        >>> len(study.trials)
        15

    References:
        Hutter, Hoos & Leyton-Brown (2011). Sequential model-based optimization for
        general algorithm configuration. LION 5.
        Lindauer et al. (2022). SMAC3: a versatile Bayesian optimization package for
        hyperparameter optimization. JMLR 23(54).
    """

    def __init__(
        self,
        *,
        seed: SeedLike = None,
        n_startup_trials: int = 10,
        n_trees: int = 10,
        log_y: bool = True,
        random_interleave_prob: float = 0.1,
        constant_liar: bool = True,
    ) -> None:
        from autolearn.exceptions import ConfigError

        if not 0.0 <= random_interleave_prob <= 1.0:
            raise ConfigError("`0 <= random_interleave_prob <= 1` must hold, but got "
                              f"{random_interleave_prob}")
        super().__init__(
            surrogate=RandomForestSurrogate(n_trees=n_trees, log_y=log_y),
            acquisition=_expected_improvement(),
            maximizer=LocalSearch(),
            n_startup_trials=n_startup_trials,
            constant_liar=constant_liar,
            seed=seed,
        )
        self.random_interleave_prob = float(random_interleave_prob)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if study.is_multi_objective:
            return super().infer_relative_search_space(study, trial)
        return union_search_space(study.get_trials(states=(TrialState.COMPLETE,)))

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        transform = UnitCubeTransform(search_space)
        space = CubeSpace.build(transform)
        rng = np.random.default_rng(derive_seed(self._seed, trial.number))
        sign = -1.0 if str(study.direction) == "maximize" else 1.0
        complete, values = [], []
        for t in study.get_trials(states=(TrialState.COMPLETE,)):
            if t.values is not None and math.isfinite(t.values[0]):
                complete.append(t)
                values.append(sign * t.values[0])
        if len(complete) < self.n_startup_trials:
            return transform.decode(space.round(self._sobol(transform.dim, trial.number))[0])
        if rng.random() < self.random_interleave_prob:
            return transform.decode(random_points(space, 1, rng)[0])

        rules = activation_rules(complete, search_space)
        X = np.stack([_encode(t.params, transform) for t in complete])
        y = np.array(values)
        if self.constant_liar:
            always = [n for n in search_space if n not in rules]
            running = [_encode(t.params, transform)
                       for t in study.get_trials(states=(TrialState.RUNNING,))
                       if t.trial_id != trial.trial_id and t.params
                       and all(n in t.params for n in always)]
            if running:
                X = np.vstack([X, np.stack(running)])
                y = np.concatenate([y, np.full(len(running), y.max())])
        posterior = self.surrogate.fit(X, y, space, rng)
        best = float(y.min())

        def score(Xc: np.ndarray) -> np.ndarray:
            return self.acquisition(posterior, impute_inactive(Xc, transform, rules), best)

        # Walks start from observed points; their inactive coordinates get random values
        # so that switching a parent on lands somewhere in the child's range.
        starts = np.where(X == INACTIVE, rng.random(X.shape), X)
        x = self.maximizer(score, space, space.round(starts), rng)
        return transform.decode(space.round(x[None, :])[0])


def _expected_improvement() -> Callable[[Posterior, np.ndarray, float], np.ndarray]:
    """Log expected improvement, with the incumbent mapped onto the forest's scale.

    The logarithm ranks like expected improvement but stays informative where it
    underflows, so local search is not left on a flat landscape far from the incumbent.
    """
    from autolearn.samplers.bo.acquisition import log_ei

    def acquisition(posterior: Posterior, X: np.ndarray, y_best: float) -> np.ndarray:
        if isinstance(posterior, ForestPosterior):
            y_best = float(posterior.to_model_scale(y_best))
        mean, var = posterior.predict(X)
        return log_ei(mean, var, y_best)

    return acquisition
