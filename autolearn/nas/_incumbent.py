"""Which architecture a search returns: noise-aware incumbents.

A child's validation accuracy after a short training is a noisy measurement of the
architecture: retrained with another seed it can move by several points. The trial with
the highest value is then partly the luckiest training (the winner's curse), more so
the more architectures were tried once. :func:`best_architecture` groups a study's
trainings by architecture and picks by one of three rules:

- ``"best_trial"``: the architecture of the best single training (``study.best_trial``);
- ``"mean"``: the highest mean over the architecture's trainings;
- ``"shrunk"``: the highest empirical-Bayes estimate (:func:`shrunk_means`): each mean is
  pulled toward the mean over architectures by an amount that grows with the training
  noise and shrinks with the number of trainings, so an architecture measured well
  many times beats one measured high once, unless the one high value is far enough
  ahead to survive the noise.

The default is ``"best_trial"``: it is what a study's ``best_trial`` has always meant,
and on the mnist1d macro benchmark (``benchmarks/nas_mnist1d.py``) with re-trained
repeats it returned architectures at least as good, on held-out trainings, as the other
two rules (there the controller's favourite architectures collect many trainings, so their
best training is high; the Gaussian prior of ``"shrunk"``, fitted to a wide spread of
architectures, hardly shrinks a single lucky value). Use ``"shrunk"`` when many
architectures are close and their trainings are few and noisy.

Repeated trainings come from ``ChildObjective(repeats="retrain")``; trials served from
the cache (``nas:cached_from``) repeat an earlier training and are not counted again.

References:
    Efron & Morris, "Data analysis using Stein's estimator and its generalizations",
    JASA 1975.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autolearn.exceptions import ConfigError, NoCompletedTrialsError

if TYPE_CHECKING:
    import numpy as np

    from autolearn.study import Study

__all__ = ["CONFIRM_ATTR", "INCUMBENT_RULES", "ArchitectureEstimate", "architecture_estimates",
           "best_architecture", "confirm_top", "shrunk_means"]

#: Rules accepted by :func:`best_architecture` (the first is the default).
INCUMBENT_RULES = ("best_trial", "mean", "shrunk")
#: User attribute marking a re-training queued by :func:`confirm_top`.
CONFIRM_ATTR = "nas:confirm"


@dataclass(frozen=True)
class ArchitectureEstimate:
    """One architecture of a study and what its trainings say about it.

    Attributes:
        decisions: The architecture (the trials' parameters).
        estimate: Its score under the rule that produced it (shrunk mean, mean, or best
            single value).
        mean: Mean validation accuracy over its trainings.
        values: Each training's validation accuracy, in trial order.
        trials: The numbers of those trials, in order.
        rule: The rule of ``estimate``.
    """

    decisions: dict[str, Any]
    estimate: float
    mean: float
    values: tuple[float, ...]
    trials: tuple[int, ...]
    rule: str

    @property
    def n_trainings(self) -> int:
        """How many trainings the estimate rests on."""
        return len(self.values)

    @property
    def best_trial(self) -> int:
        """The number of this architecture's best training."""
        return self.trials[max(range(len(self.values)), key=self.values.__getitem__)]


def shrunk_means(groups: Sequence[Sequence[float]]) -> np.ndarray:
    """Empirical-Bayes (James-Stein style) estimates of each group's true mean.

    Model: group i's values are its true mean plus noise of one variance sigma^2 shared
    by all groups; true means are spread around mu with variance tau^2. sigma^2 is the
    pooled within-group variance (groups with two values or more), mu the mean of the
    group means and tau^2 their variance minus the part noise explains (method of
    moments, at least 1e-12). Each mean moves toward mu by the factor
    ``tau^2 / (tau^2 + sigma^2 / n_i)``. Without any repeated value sigma^2 is 0 and the
    group means come back unchanged (with one value each, shrinking by one factor would
    not change their order anyway).

    Args:
        groups: Values per group, each non-empty.

    Returns:
        Estimates, shape ``(len(groups),)``.

    Example:
        >>> shrunk_means([[0.93], [0.92, 0.93, 0.91, 0.935, 0.925, 0.93], [0.90, 0.88, 0.92],
        ...               [0.91, 0.89]]).round(4).tolist()
        [0.9217, 0.9233, 0.9035, 0.9047]
    """
    import numpy as np

    if not groups or any(len(g) == 0 for g in groups):
        raise ConfigError("`groups` must be a non-empty list of non-empty value lists")
    means = np.array([math.fsum(g) / len(g) for g in groups], dtype=float)
    counts = np.array([len(g) for g in groups], dtype=float)
    dof = float(np.sum(counts - 1))
    if dof == 0 or len(groups) < 2:
        return means
    within = sum(math.fsum((x - m) ** 2 for x in g) for g, m in zip(groups, means,
                                                                     strict=True)) / dof
    mu = float(means.mean())
    between = max(float(means.var(ddof=1)) - within * float(np.mean(1.0 / counts)), 1e-12)
    weight = between / (between + within / counts)
    return mu + weight * (means - mu)


def _check_rule(rule: str) -> None:
    if not isinstance(rule, str) or rule not in INCUMBENT_RULES:
        raise ConfigError(f"`rule` must be one of {', '.join(map(repr, INCUMBENT_RULES))}, "
                          f"but got rule={rule!r}")


def architecture_estimates(study: Study, *, rule: str = "best_trial",
                           min_trainings: int = 1) -> list[ArchitectureEstimate]:
    """Every architecture with at least ``min_trainings`` completed trainings, best first
    under ``rule``.

    COMPLETE trials are grouped by their parameters; trials served from the cache
    (``nas:cached_from``) are left out, since they repeat an earlier training. With
    ``min_trainings`` > 1 only architectures measured that often compete, e.g. the
    candidates a :func:`~autolearn.nas.search` with ``confirm_top`` re-trained. "Best"
    follows ``study.direction``: in a minimised study the ``best_trial`` rule takes each
    architecture's lowest value and the lowest estimate comes first. Ties keep the order
    in which architectures first appeared.

    Raises:
        ConfigError: ``rule`` is not one of :data:`INCUMBENT_RULES`, or ``min_trainings``
            is not an int >= 1.
        NoCompletedTrialsError (a ValueError): No architecture of the study has
            ``min_trainings`` completed trainings.
    """
    import json

    from autolearn import StudyDirection, TrialState
    from autolearn.nas._child import CACHED_ATTR

    _check_rule(rule)
    if isinstance(min_trainings, bool) or not isinstance(min_trainings, int) or min_trainings < 1:
        raise ConfigError(f"`min_trainings` must be an int >= 1, but got "
                          f"min_trainings={min_trainings!r}")
    minimize = study.directions[0] == StudyDirection.MINIMIZE
    groups: dict[str, tuple[dict[str, Any], list[float], list[int]]] = {}
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        if CACHED_ATTR in t.user_attrs or t.values is None:
            continue
        key = json.dumps(t.params, sort_keys=True, default=str)
        entry = groups.setdefault(key, (dict(t.params), [], []))
        entry[1].append(float(t.values[0]))
        entry[2].append(t.number)
    if not groups:
        raise NoCompletedTrialsError(
            f"study {study.study_name!r} has no completed training to choose from")
    entries = [e for e in groups.values() if len(e[1]) >= min_trainings]
    if not entries:
        raise NoCompletedTrialsError(f"no architecture of study {study.study_name!r} has "
                         f"{min_trainings} completed trainings; lower `min_trainings` or "
                         "re-train candidates (search(..., confirm_top=k))")
    values = [e[1] for e in entries]
    if rule == "shrunk":
        scores = [float(x) for x in shrunk_means(values)]
    elif rule == "mean":
        scores = [math.fsum(v) / len(v) for v in values]
    else:
        scores = [min(v) if minimize else max(v) for v in values]
    out = [ArchitectureEstimate(decisions=d, estimate=s, mean=math.fsum(v) / len(v),
                                values=tuple(v), trials=tuple(n), rule=rule)
           for (d, v, n), s in zip(entries, scores, strict=True)]
    sign = 1.0 if minimize else -1.0
    order = sorted(range(len(out)), key=lambda i: sign * out[i].estimate)
    return [out[i] for i in order]


def best_architecture(study: Study, *, rule: str = "best_trial",
                      min_trainings: int = 1) -> ArchitectureEstimate:
    """The architecture a search returns, chosen by ``rule`` (see the module docstring)
    among the architectures with at least ``min_trainings`` completed trainings.

    It follows ``study.direction``: the highest estimate in a maximised study, the lowest
    in a minimised one (e.g. a validation error or loss).

    Args:
        study: A NAS study (any study whose trials' parameters are the architecture).
        rule: ``"best_trial"`` (default), ``"mean"`` or ``"shrunk"``.
        min_trainings: Only architectures trained at least this often compete (1: all).

    Returns:
        The chosen architecture with its estimate, mean and trainings.

    Raises:
        ConfigError: ``rule`` is not one of :data:`INCUMBENT_RULES`, or ``min_trainings``
            is not an int >= 1.
        NoCompletedTrialsError (a ValueError): No architecture has ``min_trainings``
            completed trainings.

    Example:
        >>> import autolearn
        >>> from autolearn.nas import best_architecture
        >>> study = autolearn.create_study(direction="maximize")
        >>> runs = [("a", 0.93), ("b", 0.92), ("b", 0.93), ("b", 0.91), ("b", 0.935),
        ...         ("b", 0.925), ("b", 0.93), ("c", 0.90), ("c", 0.88), ("c", 0.92),
        ...         ("d", 0.91), ("d", 0.89)]
        >>> for arch, value in runs:
        ...     study.enqueue_trial({"op": arch})
        ...     study.optimize(lambda t, v=value: v + 0 * len(t.suggest_categorical(
        ...         "op", ["a", "b", "c", "d"])), n_trials=1)
        >>> best_architecture(study, rule="mean").decisions    # one training at 0.93
        {'op': 'a'}
        >>> best = best_architecture(study, rule="shrunk")     # six, mean 0.925
        >>> best.decisions, best.n_trainings
        ({'op': 'b'}, 6)
        >>> best_architecture(study, rule="mean", min_trainings=3).decisions  # b or c
        {'op': 'b'}
    """
    return architecture_estimates(study, rule=rule, min_trainings=min_trainings)[0]


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"`{name}` must be an int >= 1, but got {name}={value!r}")


def confirm_top(study: Study, objective: Callable[[Any], float], *, top: int = 4,
                trainings: int = 2) -> ArchitectureEstimate:
    """Re-train the ``top`` best architectures ``trainings`` more times; return the best mean.

    A search that tries many architectures once returns, by its best single training,
    partly the luckiest training (the winner's curse). Spending the last trainings of the
    budget on the few architectures that scored highest, and returning the one with the
    best mean over all its trainings, trades a few more architectures for a choice the
    noise of one training decides less often.

    Candidates are ranked by their best single completed training among the study's
    trials not queued by this function (nor served from a cache), following
    ``study.direction``. Each candidate is queued (``study.enqueue_trial``, user attribute
    ``nas:confirm``) until it has ``trainings`` such re-trainings finished or waiting, and
    the queue is run with ``study.optimize(objective, ...)``. The objective must give a
    repeat a fresh training, e.g. ``ChildObjective(repeats="retrain")`` (each repeat then
    gets the next training seed); a cache would only repeat the first value. A resumed
    study queues only the missing re-trainings.

    Args:
        study: A NAS study with completed trainings.
        objective: The study's objective (it re-trains the queued architectures).
        top: How many architectures to re-train.
        trainings: Re-trainings per architecture (the budget spent is ``top * trainings``).

    Returns:
        Of the candidates, the one with the highest mean over its completed trainings
        (``rule="mean"``; the lowest in a minimised study). When every re-training
        completed, ``best_architecture(study, rule="mean", min_trainings=1 + trainings)``
        gives it again (unless another architecture was trained that often too).

    Raises:
        ConfigError: ``top`` or ``trainings`` is not an int >= 1, or ``objective`` caches
            repeats (``repeats`` other than ``"retrain"``).
        NoCompletedTrialsError (a ValueError): The study has no completed training to
            rank.

    Example:
        >>> import autolearn
        >>> from autolearn.nas import confirm_top
        >>> noise = {"a": [0.95, 0.80, 0.82], "b": [0.90, 0.91, 0.90], "c": [0.70]}
        >>> study = autolearn.create_study(direction="maximize")
        >>> def objective(trial):
        ...     arch = trial.suggest_categorical("op", ["a", "b", "c"])
        ...     earlier = sum(t.params.get("op") == arch for t in study.trials[:trial.number])
        ...     return noise[arch][earlier]
        >>> for arch in "abc":
        ...     study.enqueue_trial({"op": arch})
        >>> study.optimize(objective, n_trials=3)
        >>> best = confirm_top(study, objective, top=2, trainings=2)
        >>> best.decisions, best.values
        ({'op': 'b'}, (0.9, 0.91, 0.9))
    """
    import json

    from autolearn import StudyDirection, TrialState
    from autolearn.nas._child import CACHED_ATTR

    _positive_int("top", top)
    _positive_int("trainings", trainings)
    repeats = getattr(objective, "repeats", "retrain")
    if repeats != "retrain":
        raise ConfigError(f"confirm_top needs an objective that re-trains repeats, but the "
                          f"objective has repeats={repeats!r}; use "
                          f"ChildObjective(..., repeats='retrain')")
    minimize = study.directions[0] == StudyDirection.MINIMIZE
    best: dict[str, tuple[float, dict[str, Any]]] = {}
    claimed: dict[str, int] = {}
    finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.WAITING)
    for t in study.get_trials(states=finished):
        key = json.dumps(dict(t.params), sort_keys=True, default=str)
        if t.user_attrs.get(CONFIRM_ATTR):
            claimed[key] = claimed.get(key, 0) + 1
            continue
        if (t.state != TrialState.COMPLETE or CACHED_ATTR in t.user_attrs or t.values is None
                or not math.isfinite(t.values[0])):
            continue
        value = float(t.values[0])
        if key not in best or (value < best[key][0] if minimize else value > best[key][0]):
            best[key] = (value, dict(t.params))
    if not best:
        raise NoCompletedTrialsError(
            f"study {study.study_name!r} has no completed training to confirm")
    sign = 1.0 if minimize else -1.0
    candidates = sorted(best, key=lambda k: sign * best[k][0])[:top]
    for key in candidates:
        for _ in range(max(0, trainings - claimed.get(key, 0))):
            study.enqueue_trial(best[key][1], user_attrs={CONFIRM_ATTR: True})
    waiting = sum(1 for t in study.get_trials(states=(TrialState.WAITING,))
                  if t.user_attrs.get(CONFIRM_ATTR))
    if waiting:
        study.optimize(objective, n_trials=waiting)
    chosen = set(candidates)
    return next(e for e in architecture_estimates(study, rule="mean")
                if json.dumps(e.decisions, sort_keys=True, default=str) in chosen)
