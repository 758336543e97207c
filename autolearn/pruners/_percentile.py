"""Percentile and median pruning: stop a trial that is worse than most at the same step."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from autolearn._records import StudyDirection, TrialState
from autolearn.exceptions import ConfigError
from autolearn.pruners._base import BasePruner

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.study import Study

__all__ = ["MedianPruner", "PercentilePruner"]


def _check_int(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"`{name} >= {low}` must hold (an int), but got {name}={value!r}")
    return value


def best_so_far(trial: FrozenTrial, step: int, direction: StudyDirection) -> float:
    """The trial's best reported value up to and including ``step`` (NaN if none)."""
    vals = [v for s, v in trial.intermediate_values.items() if s <= step and not math.isnan(v)]
    if not vals:
        return math.nan
    return min(vals) if direction == StudyDirection.MINIMIZE else max(vals)


class PercentilePruner(BasePruner):
    """Prune a trial whose best value so far is worse than the ``percentile`` of the
    COMPLETE trials' best values up to the same step (each of them that reported that
    step; ``compare="value"``: their values *at* the step, as Optuna's
    ``PercentilePruner``). Where curves are noisy the best-so-far values are higher, so the
    default prunes more; on rising curves the two agree.

    Args:
        percentile: In ``[0, 100]``; 50 is the median rule. For minimisation a trial is
            pruned when its best value is above the percentile (for maximisation, below
            the ``100 - percentile`` point).
        n_startup_trials: No pruning until this many trials have completed.
        n_warmup_steps: No pruning before this step of each trial.
        interval_steps: Check only every this many steps after the warm-up.
        n_min_trials: Least number of complete trials that reported the same step for a
            comparison to happen.
        compare: ``"best"`` (default): the complete trials' best values up to the step;
            ``"value"``: their values reported at the step.

    A NaN report is always pruned (after the warm-up). Works the same with many workers on
    one storage and with ask/tell: it only reads the study.

    References:
        Golovin et al. (2017). Google Vizier: a service for black-box optimization. KDD.
    """

    def __init__(
        self,
        percentile: float,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        compare: str = "best",
    ) -> None:
        if not (0.0 <= float(percentile) <= 100.0):
            raise ConfigError(f"`0 <= percentile <= 100` must hold, but got {percentile}")
        if compare not in ("best", "value"):
            raise ConfigError(f"`compare` must be 'best' or 'value', but got compare={compare!r}")
        self.compare = compare
        self.percentile = float(percentile)
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = _check_int("n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_int("interval_steps", interval_steps, 1)
        self.n_min_trials = _check_int("n_min_trials", n_min_trials, 1)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        if (step - self.n_warmup_steps) % self.interval_steps != 0:
            return False
        if math.isnan(trial.intermediate_values[step]):
            return True
        complete = study.get_trials(states=(TrialState.COMPLETE,))
        if len(complete) < self.n_startup_trials:
            return False
        direction = study.direction
        others = [(best_so_far(t, step, direction) if self.compare == "best"
                   else t.intermediate_values[step])
                  for t in complete if step in t.intermediate_values]
        others = [v for v in others if not math.isnan(v)]
        if len(others) < self.n_min_trials:
            return False
        mine = best_so_far(trial, step, direction)
        if direction == StudyDirection.MINIMIZE:
            return bool(mine > np.percentile(others, self.percentile))
        return bool(mine < np.percentile(others, 100.0 - self.percentile))


class MedianPruner(PercentilePruner):
    """Prune a trial whose best value so far is worse than the median of the complete
    trials' best values up to the same step (a median stopping rule after Google Vizier's,
    which uses running averages; ``compare="value"``: their values at the step, as
    Optuna's).

    Example:
        >>> import autolearn
        >>> study = autolearn.create_study(pruner=autolearn.pruners.MedianPruner())
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        compare: str = "best",
    ) -> None:
        super().__init__(50.0, n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps,
                         interval_steps=interval_steps, n_min_trials=n_min_trials,
                         compare=compare)
