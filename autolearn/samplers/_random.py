"""Random search."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn._rng import SeedLike, as_generator
from autolearn.samplers._base import IndependentSampler
from autolearn.space import sample_distribution

if TYPE_CHECKING:
    from autolearn.space import BaseDistribution
    from autolearn.study import FrozenTrial, Study

__all__ = ["RandomSampler"]


class RandomSampler(IndependentSampler):
    """Independent uniform sampling (log-uniform for ``log`` distributions).

    Each trial draws from its own stream seeded by ``(seed, trial.number)``, so a run is
    reproducible from ``seed`` whichever worker process runs which trial, including with
    ``n_jobs > 1`` and with several workers on one storage (given the same trial numbers).

    Args:
        seed: Base seed. ``None`` draws one from the operating system.

    Example:
        >>> import autolearn
        >>> study = autolearn.create_study(sampler=autolearn.samplers.RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
        >>> len(study.trials)
        5

    References:
        Bergstra & Bengio (2012). Random search for hyper-parameter optimization. JMLR 13.
    """

    def __init__(self, *, seed: SeedLike = None) -> None:
        if isinstance(seed, np.random.Generator):
            self._base_seed = int(seed.integers(2**62))
        elif seed is None:
            self._base_seed = int(as_generator(None).integers(2**62))
        else:
            as_generator(seed)  # validates
            self._base_seed = int(seed)
        self._rngs: dict[int, random.Random] = {}

    def _rng(self, number: int) -> random.Random:
        rng = self._rngs.get(number)
        if rng is None:
            if len(self._rngs) > 64:  # only trials running in this process need a stream
                self._rngs.clear()
            # A Mersenne Twister seeded by the pair is ~5x cheaper to create than a numpy
            # Generator, and random search draws only a handful of numbers per trial.
            rng = self._rngs[number] = random.Random(f"{self._base_seed}:{number}")
        return rng

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return sample_distribution(distribution, self._rng(trial.number))

    def after_trial(self, study: Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        self._rngs.pop(trial.number, None)
