"""Asynchronous successive halving (ASHA) and Hyperband."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Literal

from autolearn._records import StudyDirection, TrialState
from autolearn.exceptions import ConfigError
from autolearn.pruners._base import BasePruner
from autolearn.pruners._percentile import _check_int

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.study import Study

__all__ = ["HyperbandPruner", "SuccessiveHalvingPruner", "rung_key"]

#: System attribute of a Hyperband trial: its bracket.
BRACKET_KEY = "hyperband_bracket"


def rung_key(prefix: str, rung: int) -> str:
    """System attribute holding a trial's value when it reached ``rung``."""
    return f"{prefix}rung_{rung}"


def _promotable(value: float, competing: list[float], eta: int, minimize: bool) -> bool:
    """Whether ``value`` is in the top ``max(1, n // eta)`` of ``competing`` (which holds it)."""
    ranked = sorted(competing) if minimize else sorted(competing, reverse=True)
    k = max(1, len(ranked) // eta)
    cutoff = ranked[k - 1]
    return value <= cutoff if minimize else value >= cutoff


def asha_decision(
    study: Study,
    trial: FrozenTrial,
    *,
    min_resource: int,
    eta: int,
    rate: int,
    prefix: str,
    same_group: str | None = None,
) -> bool:
    """The ASHA rule for one report; records rung values in trial system attributes.

    The trial's rungs are at steps ``min_resource * eta ** (rate + k)``, k = 0, 1, ... At
    each rung the trial's value is stored (``prefix + "rung_k"``) and compared with every
    trial that reached the same rung (restricted to trials whose ``same_group`` system
    attribute matches, for Hyperband brackets): the trial goes on only if it is in the top
    ``1 / eta`` of them (with fewer than ``eta`` trials at the rung: only if it is the best).
    """
    step = trial.last_step
    if step is None:
        return False
    value = trial.intermediate_values[step]
    if math.isnan(value):
        return True
    minimize = study.direction == StudyDirection.MINIMIZE
    everyone = study.get_trials()
    me = next((t for t in everyone if t.trial_id == trial.trial_id), trial)
    group = me.system_attrs.get(same_group) if same_group else None
    peers = [t for t in everyone if same_group is None or t.system_attrs.get(same_group) == group]
    rung = 0
    while True:
        resource = min_resource * eta ** (rate + rung)
        if step < resource:
            return False
        key = rung_key(prefix, rung)
        mine = me.system_attrs.get(key)
        if mine is None:
            mine = value
            study._storage.set_trial_attr(trial.trial_id, key, mine, system=True)
        competing = [float(t.system_attrs[key]) for t in peers
                     if key in t.system_attrs and t.trial_id != trial.trial_id]
        competing.append(float(mine))
        if not _promotable(float(mine), competing, eta, minimize):
            return True
        rung += 1


@functools.lru_cache(maxsize=32)
def _smooth_round_robin(weights: tuple[int, ...]) -> tuple[int, ...]:
    total = sum(weights)
    current = [0] * len(weights)
    order = []
    for _ in range(total):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return tuple(order)


def _auto_resource(study: Study) -> int | None:
    done = study.get_trials(states=(TrialState.COMPLETE,))
    for t in done:
        if t.last_step is not None:
            return max(1, t.last_step)
    return None


class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving (ASHA).

    A trial reaches rung ``k`` at step ``min_resource * reduction_factor **
    (min_early_stopping_rate + k)``; there it continues only if its value is in the top
    ``1 / reduction_factor`` of all trials that reached that rung so far. Rung values are
    stored in the trial's system attributes (``asha_rung_k``), so several workers on one
    storage share them. Report the value at (or after) each rung step, e.g. every epoch.

    Args:
        min_resource: Steps before the first rung; ``"auto"`` takes 1/100 of the steps of
            the first trial that completes (no pruning until then).
        reduction_factor: Keep the top ``1 / reduction_factor`` at each rung (``>= 2``).
        min_early_stopping_rate: Skips the first rungs (``s`` in the ASHA paper).

    References:
        Li et al. (2020). A system for massively parallel hyperparameter tuning. MLSys.
        Jamieson & Talwalkar (2016). Non-stochastic best arm identification and
        hyperparameter optimization. AISTATS.
    """

    def __init__(
        self,
        *,
        min_resource: int | Literal["auto"] = "auto",
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
    ) -> None:
        if min_resource != "auto":
            _check_int("min_resource", min_resource, 1)  # type: ignore[arg-type]
        self.min_resource = min_resource
        self.reduction_factor = _check_int("reduction_factor", reduction_factor, 2)
        self.min_early_stopping_rate = _check_int("min_early_stopping_rate",
                                                  min_early_stopping_rate, 0)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        min_resource = self.min_resource
        if min_resource == "auto":
            last = _auto_resource(study)
            if last is None:
                return False
            min_resource = max(1, last // 100)
        return asha_decision(study, trial, min_resource=int(min_resource),
                             eta=self.reduction_factor, rate=self.min_early_stopping_rate,
                             prefix="asha_")


class HyperbandPruner(BasePruner):
    """Hyperband: several ASHA brackets with different amounts of early stopping.

    Bracket ``b`` (0 .. ``n_brackets - 1``) runs ASHA with ``min_early_stopping_rate = b``:
    bracket 0 stops trials from ``min_resource`` steps on, the last bracket almost never.
    Trials are assigned to brackets deterministically from their number, in proportion to
    the number of configurations Hyperband gives each bracket, and compete only within
    their bracket. The bracket is stored in ``trial.system_attrs["hyperband_bracket"]``
    (a sampler can model each bracket apart, as BOHB does).

    Args:
        min_resource: Steps before the first rung of bracket 0.
        max_resource: Steps of a full trial (e.g. the number of epochs); ``"auto"`` takes
            the steps of the first trial that completes (no pruning until then).
        reduction_factor: ``eta`` of the paper (``>= 2``).

    References:
        Li et al. (2018). Hyperband: a novel bandit-based approach to hyperparameter
        optimization. JMLR 18.
    """

    def __init__(
        self,
        *,
        min_resource: int = 1,
        max_resource: int | Literal["auto"] = "auto",
        reduction_factor: int = 3,
    ) -> None:
        self.min_resource = _check_int("min_resource", min_resource, 1)
        if max_resource != "auto":
            _check_int("max_resource", max_resource, 1)  # type: ignore[arg-type]
            if max_resource < min_resource:  # type: ignore[operator]
                raise ConfigError(
                    f"`min_resource <= max_resource` must hold, but got "
                    f"min_resource={min_resource}, max_resource={max_resource}"
                )
        self.max_resource = max_resource
        self.reduction_factor = _check_int("reduction_factor", reduction_factor, 2)

    def n_brackets(self, max_resource: int) -> int:
        ratio = max_resource / self.min_resource
        return int(math.floor(math.log(ratio, self.reduction_factor) + 1e-9)) + 1

    def bracket_weights(self, max_resource: int) -> list[int]:
        """Configurations per bracket in one Hyperband iteration (bracket 0 first)."""
        s_max = self.n_brackets(max_resource) - 1
        eta = self.reduction_factor
        # Bracket b starts at rung rate b, i.e. Hyperband's s = s_max - b.
        return [math.ceil((s_max + 1) / (s + 1) * eta**s)
                for s in (s_max - b for b in range(s_max + 1))]

    def bracket_of(self, number: int, max_resource: int) -> int:
        """The bracket of trial ``number``: a smooth weighted round robin over brackets.

        Within every block of ``sum(bracket_weights)`` consecutive trials each bracket gets
        its weight, and the brackets are interleaved (not one block after another), so
        an interrupted study has still sampled every bracket.
        """
        weights = self.bracket_weights(max_resource)
        return _smooth_round_robin(tuple(weights))[number % sum(weights)]

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        max_resource = self.max_resource
        if max_resource == "auto":
            last = _auto_resource(study)
            if last is None:
                return False
            max_resource = last
        bracket = trial.system_attrs.get(BRACKET_KEY)
        if bracket is None:
            bracket = self.bracket_of(trial.number, int(max_resource))
            study._storage.set_trial_attr(trial.trial_id, BRACKET_KEY, bracket, system=True)
        return asha_decision(study, trial, min_resource=self.min_resource,
                             eta=self.reduction_factor, rate=int(bracket),
                             prefix=f"hyperband_b{bracket}_", same_group=BRACKET_KEY)
