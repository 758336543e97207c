"""BOHB: Hyperband's schedule with a model fitted on the largest budget that has enough data."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Container
from typing import TYPE_CHECKING, Any

from autolearn._records import FrozenTrial, TrialState
from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError
from autolearn.samplers._base import BaseSampler
from autolearn.samplers._random import RandomSampler

if TYPE_CHECKING:
    from autolearn.pruners import HyperbandPruner
    from autolearn.space import BaseDistribution
    from autolearn.study import Study

__all__ = ["BOHBSampler", "BudgetView", "bohb"]

_BUDGET_KEY = "bohb_budget"


class BudgetView:
    """A read-only view of a study in which every trial that reported at step ``budget``
    looks COMPLETE with its value at that step.

    Lets any sampler model one fidelity of a multi-fidelity run: BOHB hands such a view
    to TPE. Everything except the trial lists is the study's own.
    """

    def __init__(self, study: Study, budget: int) -> None:
        self._study = study
        self.budget = budget

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def get_trials(self, *, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        out = []
        for t in self._study.get_trials():
            v = t.intermediate_values.get(self.budget)
            if v is not None and not math.isnan(v):
                t = t.replace(state=TrialState.COMPLETE, values=(v,))
            elif t.state in (TrialState.COMPLETE, TrialState.PRUNED):
                continue  # finished without reaching this budget: no observation here
            if states is None or t.state in states:
                out.append(t)
        return out

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


def choose_budget(study: Study, min_points: int) -> int | None:
    """The largest step at which at least ``min_points`` trials reported a value."""
    counts: dict[int, int] = {}
    for t in study.get_trials():
        for step, v in t.intermediate_values.items():
            if not math.isnan(v):
                counts[step] = counts.get(step, 0) + 1
    ok = [s for s, n in counts.items() if n >= min_points]
    return max(ok) if ok else None


class BOHBSampler(BaseSampler):
    """BOHB's sampler (Falkner, Klein & Hutter 2018): a model-based sampler (TPE by
    default) fitted on the trials' values at the largest budget (reported step) that has
    at least ``min_points_in_model`` observations, plus a fraction of random proposals.

    Use it with :class:`~autolearn.pruners.HyperbandPruner` (see :func:`bohb`). Before any
    budget has enough observations, proposals are random.

    Args:
        base: The model-based sampler to fit (default: multivariate TPE).
        min_points_in_model: Observations a budget needs to be modelled (default:
            number of parameters + 1, as in the paper, at least 5).
        random_fraction: Share of trials proposed uniformly at random (paper: 1/3).
        seed: Seed of the random proposals and of the default TPE.

    Each trial records the budget its proposal was modelled on in
    ``trial.system_attrs["bohb_budget"]`` (absent for random proposals).

    References:
        Falkner, Klein & Hutter (2018). BOHB: robust and efficient hyperparameter
        optimization at scale. ICML.
    """

    def __init__(
        self,
        *,
        base: BaseSampler | None = None,
        min_points_in_model: int | None = None,
        random_fraction: float = 1.0 / 3.0,
        seed: SeedLike = None,
    ) -> None:
        if not 0.0 <= random_fraction <= 1.0:
            raise ConfigError(f"`0 <= random_fraction <= 1` must hold, got {random_fraction}")
        if min_points_in_model is not None and min_points_in_model < 1:
            raise ConfigError(f"`min_points_in_model >= 1` must hold, got {min_points_in_model}")
        gen = as_generator(seed)
        self._seed = int(gen.integers(2**62)) if not isinstance(seed, int) else seed
        if base is None:
            from autolearn.samplers.tpe import TPESampler

            base = TPESampler(seed=self._seed, multivariate=True, n_startup_trials=1)
        self.base = base
        # One copy of the base sampler per budget: a sampler may cache what it read of the
        # study, and the same trial has a different value at each budget.
        self._bases: dict[int, BaseSampler] = {}
        self.min_points_in_model = min_points_in_model
        self.random_fraction = float(random_fraction)
        self._random = RandomSampler(seed=self._seed)
        self._views: dict[int, BudgetView | None] = {}

    def _view(self, study: Study, trial: FrozenTrial) -> BudgetView | None:
        if trial.number in self._views:
            return self._views[trial.number]
        view = None
        if random.Random(f"{self._seed}:bohb:{trial.number}").random() >= self.random_fraction:
            n_params = max((len(t.params) for t in study.get_trials()), default=0)
            need = self.min_points_in_model or max(5, n_params + 1)
            budget = choose_budget(study, need)
            if budget is not None:
                view = BudgetView(study, budget)
                study._storage.set_trial_attr(trial.trial_id, _BUDGET_KEY, budget, system=True)
        if len(self._views) > 64:
            self._views.clear()
        self._views[trial.number] = view
        return view

    def _base(self, view: BudgetView) -> BaseSampler:
        base = self._bases.get(view.budget)
        if base is None:
            base = self._bases[view.budget] = copy.deepcopy(self.base)
        return base

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        view = self._view(study, trial)
        if view is None:
            return {}
        return self._base(view).infer_relative_search_space(view, trial)  # type: ignore

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        view = self._view(study, trial)
        if view is None:
            return {}
        return self._base(view).sample_relative(view, trial, search_space)  # type: ignore

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        view = self._view(study, trial)
        if view is None:
            return self._random.sample_independent(study, trial, param_name, distribution)
        return self._base(view).sample_independent(view, trial, param_name,  # type: ignore
                                                   distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        view = self._views.pop(trial.number, None)
        self._random.after_trial(study, trial, state, values)
        if view is not None:
            self._base(view).after_trial(view, trial, state, values)  # type: ignore[arg-type]


def bohb(
    *,
    max_resource: int,
    min_resource: int = 1,
    reduction_factor: int = 3,
    seed: SeedLike = None,
    **sampler_options: Any,
) -> tuple[BOHBSampler, HyperbandPruner]:
    """A (sampler, pruner) pair for BOHB.

    Example:
        >>> import autolearn
        >>> sampler, pruner = autolearn.samplers.bohb(max_resource=27, seed=0)
        >>> study = autolearn.create_study(sampler=sampler, pruner=pruner)
    """
    from autolearn.pruners import HyperbandPruner

    pruner = HyperbandPruner(min_resource=min_resource, max_resource=max_resource,
                             reduction_factor=reduction_factor)
    return BOHBSampler(seed=seed, **sampler_options), pruner
