"""Regularized (aging) evolution (Real et al. 2019) as a sampler."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError
from autolearn.samplers._base import IndependentSampler
from autolearn.space import CategoricalDistribution, sample_distribution

if TYPE_CHECKING:
    from autolearn.space import BaseDistribution
    from autolearn.study import FrozenTrial, Study, TrialState

__all__ = ["RegularizedEvolutionSampler"]

PARENT_KEY = "evolution:parent"
MUTATED_KEY = "evolution:mutated"


class RegularizedEvolutionSampler(IndependentSampler):
    """Tournament selection with aging: the NAS baseline of Real et al. (2019).

    The population is the ``population_size`` most recent completed trials (so every
    model dies of old age, however good — the "regularization"). While fewer trials have
    completed, trials are drawn at random (the initial population). After that each trial
    is a child: ``sample_size`` members are drawn from the population at random, the best
    of them is the parent, and the child copies the parent's parameters except for one,
    chosen at random among those with more than one value, which is mutated — a
    categorical parameter to a different choice, a numeric one by a fresh uniform draw.
    Parameters the parent did not have (a mutation that activates a conditional branch)
    are drawn at random. Failed and pruned trials never join the population.

    The parent's trial number and the mutated parameter are stored on the child as system
    attributes ``evolution:parent`` and ``evolution:mutated``.

    Args:
        population_size: size of the aging population (Real et al.: 100 on NAS-Bench-
            style budgets of a few hundred to thousands; use ~10-20 % of the budget).
        sample_size: tournament size (Real et al.: 25 with population 100).
        seed: each trial draws from a stream derived from ``(seed, trial number)``.

    Example:
        >>> import autolearn
        >>> from autolearn.samplers import RegularizedEvolutionSampler
        >>> sampler = RegularizedEvolutionSampler(population_size=8, sample_size=3, seed=0)
        >>> study = autolearn.create_study(sampler=sampler)
        >>> study.optimize(lambda t: t.suggest_int("x", -10, 10) ** 2, n_trials=30)
        >>> study.best_value
        0.0

    References:
        Real, Aggarwal, Huang & Le (2019). Regularized evolution for image classifier
        architecture search. AAAI.
    """

    def __init__(self, *, population_size: int = 20, sample_size: int = 5,
                 seed: SeedLike = None) -> None:
        for name, v in (("population_size", population_size), ("sample_size", sample_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(
                    f"RegularizedEvolutionSampler: `{name}` must be an int >= 1, got {v!r}")
        if sample_size > population_size:
            raise ConfigError(
                f"RegularizedEvolutionSampler: `sample_size` ({sample_size}) must be <= "
                f"`population_size` ({population_size}); the tournament draws from the "
                "population without replacement"
            )
        if isinstance(seed, int) and not isinstance(seed, bool):
            self._seed = seed
        else:
            self._seed = int(as_generator(seed).integers(2**62))
        self.population_size = population_size
        self.sample_size = sample_size
        self._plans: dict[int, dict[str, Any]] = {}

    def _rng(self, number: int) -> random.Random:
        plan = self._plans.setdefault(number, {})
        if "rng" not in plan:
            if len(self._plans) > 256:
                self._plans.clear()
                plan = self._plans[number] = {}
            plan["rng"] = random.Random(f"{self._seed}:{number}")
        return plan["rng"]  # type: ignore[no-any-return]

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        from autolearn.study import TrialState

        rng = self._rng(trial.number)
        sign = 1.0 if str(study.directions[0]) == "maximize" else -1.0
        done = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
                if t.number < trial.number and t.values and math.isfinite(t.values[0])]
        if len(done) < self.population_size:
            return
        done.sort(key=lambda t: t.number)
        population = done[-self.population_size:]
        contenders = rng.sample(population, self.sample_size)
        parent = max(contenders, key=lambda t: (sign * t.values[0], -t.number))  # type: ignore
        mutable = [n for n, d in parent.distributions.items() if not d.is_single()]
        if not mutable:
            return
        mutated = rng.choice(mutable)
        self._plans[trial.number].update(parent=parent, mutated=mutated)
        study._storage.set_trial_attr(trial.trial_id, PARENT_KEY, parent.number, system=True)
        study._storage.set_trial_attr(trial.trial_id, MUTATED_KEY, mutated, system=True)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        rng = self._rng(trial.number)
        plan = self._plans[trial.number]
        parent: FrozenTrial | None = plan.get("parent")
        if parent is None or param_name not in parent.params or (
                parent.distributions[param_name] != distribution):
            return sample_distribution(distribution, rng)
        old = parent.params[param_name]
        if param_name != plan["mutated"]:
            return old
        if isinstance(distribution, CategoricalDistribution):
            i = int(distribution.to_internal(old))
            j = rng.randrange(len(distribution.choices) - 1)
            return distribution.choices[j + (j >= i)]
        for _ in range(16):  # numeric: a fresh draw that differs from the parent's value
            value = sample_distribution(distribution, rng)
            if value != old:
                return value
        return value

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._plans.pop(trial.number, None)
