"""Pruners that look at one trial only: thresholds and patience."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from autolearn._records import StudyDirection
from autolearn.exceptions import ConfigError
from autolearn.pruners._base import BasePruner
from autolearn.pruners._percentile import _check_int

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.study import Study

__all__ = ["PatientPruner", "ThresholdPruner"]


class ThresholdPruner(BasePruner):
    """Prune a trial whose latest value leaves ``[lower, upper]`` or is NaN.

    Args:
        lower: Prune below this (None: no lower bound).
        upper: Prune above this (None: no upper bound).
        n_warmup_steps: No pruning before this step.
        interval_steps: Check only every this many steps after the warm-up.
    """

    def __init__(self, *, lower: float | None = None, upper: float | None = None,
                 n_warmup_steps: int = 0, interval_steps: int = 1) -> None:
        if lower is None and upper is None:
            raise ConfigError("give `lower`, `upper` or both")
        if lower is not None and upper is not None and lower > upper:
            raise ConfigError(f"`lower <= upper` must hold, but got lower={lower}, upper={upper}")
        self.lower = -math.inf if lower is None else float(lower)
        self.upper = math.inf if upper is None else float(upper)
        self.n_warmup_steps = _check_int("n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_int("interval_steps", interval_steps, 1)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        if (step - self.n_warmup_steps) % self.interval_steps != 0:
            return False
        v = trial.intermediate_values[step]
        return math.isnan(v) or v < self.lower or v > self.upper


class PatientPruner(BasePruner):
    """Wait ``patience`` steps without improvement before letting another pruner decide.

    Args:
        wrapped: The pruner consulted once patience has run out; None prunes then.
        patience: Steps without an improvement larger than ``min_delta`` to tolerate.
        min_delta: Improvements of at most this size do not count.
    """

    def __init__(self, wrapped: BasePruner | None, *, patience: int,
                 min_delta: float = 0.0) -> None:
        self.wrapped = wrapped
        self.patience = _check_int("patience", patience, 0)
        if not min_delta >= 0:
            raise ConfigError(f"`min_delta >= 0` must hold, but got {min_delta}")
        self.min_delta = float(min_delta)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        steps = sorted(s for s, v in trial.intermediate_values.items() if not math.isnan(v))
        if len(steps) <= self.patience + 1:
            return False
        vals = [trial.intermediate_values[s] for s in steps]
        before, recent = vals[: -self.patience - 1], vals[-self.patience - 1:]
        if study.direction == StudyDirection.MINIMIZE:
            improved = min(recent) < min(before) - self.min_delta
        else:
            improved = max(recent) > max(before) + self.min_delta
        if improved:
            return False
        return True if self.wrapped is None else self.wrapped.prune(study, trial)
