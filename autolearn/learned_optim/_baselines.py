"""Hand-designed baselines with learning rates tuned on their own seeds.

An untuned baseline is the classic way a learned optimizer "wins"; :func:`tune_baseline`
picks each optimizer's learning rate from a log grid by the mean final loss on *tuning*
tasks, which the caller keeps disjoint from the tasks it reports on.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from autolearn.exceptions import ConfigError
from autolearn.learned_optim._problems import Problem, Task

__all__ = ["BASELINES", "DEFAULT_GRID", "BaselineResult", "run_baseline", "tune_baseline"]

OptimizerFactory = Callable[[list[Tensor], float], torch.optim.Optimizer]

#: name -> ``(params, lr) -> optimizer``; momentum 0.9 for the momentum methods.
BASELINES: dict[str, OptimizerFactory] = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "nag": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
}

#: Learning rates 1e-4 ... 10 in quarter decades.
DEFAULT_GRID: tuple[float, ...] = tuple(float(10.0 ** e) for e in np.arange(-4.0, 1.01, 0.25))


def run_baseline(task: Task, make_optimizer: Callable[[list[Tensor]], torch.optim.Optimizer],
                 n_steps: int) -> tuple[dict[str, float], list[float]]:
    """Optimise ``task`` for ``n_steps`` with a torch optimizer on its flat parameters.

    Returns:
        ``task.evaluate`` of the final parameters (``loss`` is ``inf`` after divergence)
        and the minibatch loss before each step.
    """
    theta = task.theta0.detach().clone().requires_grad_(True)
    opt = make_optimizer([theta])
    losses: list[float] = []
    for t in range(n_steps):
        opt.zero_grad()
        loss = task.loss(theta, t)
        if not torch.isfinite(loss):
            return {"loss": math.inf}, losses
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    metrics = task.evaluate(theta.detach())
    if not math.isfinite(metrics["loss"]):
        metrics["loss"] = math.inf
    return metrics, losses


def _make(factory: OptimizerFactory, lr: float, params: list[Tensor]) -> torch.optim.Optimizer:
    return factory(params, lr)


@dataclass(frozen=True)
class BaselineResult:
    """A tuned baseline: the chosen ``learning_rate`` and every grid point's score."""

    name: str
    learning_rate: float
    scores: dict[float, float]


def tune_baseline(problem: Problem, name: str, *, n_steps: int, tuning_seeds: Sequence[int],
                  grid: Sequence[float] = DEFAULT_GRID) -> BaselineResult:
    """Pick ``name``'s learning rate by mean final loss on the tasks of ``tuning_seeds``.

    Args:
        problem: The task family.
        name: A key of :data:`BASELINES`.
        n_steps: The horizon the baseline is tuned for (tune once per horizon).
        tuning_seeds: Task seeds; keep them disjoint from the seeds you report on.
        grid: Candidate learning rates.

    Example:
        >>> from autolearn.learned_optim import QuadraticProblem
        >>> best = tune_baseline(QuadraticProblem(n_functions=8), "adam", n_steps=20,
        ...                      tuning_seeds=[0], grid=[0.01, 0.1, 1.0])
        >>> best.learning_rate in (0.01, 0.1, 1.0)
        True
    """
    if name not in BASELINES:
        raise ConfigError(f"`name` must be one of {sorted(BASELINES)}, but got {name!r}")
    if not tuning_seeds:
        raise ConfigError("`tuning_seeds` must name at least one seed, but got none")
    if not grid or any(not (lr > 0) for lr in grid):
        raise ConfigError(f"`grid` must hold learning rates > 0, but got {list(grid)!r}")
    tasks = [problem.sample_task(s) for s in tuning_seeds]
    factory = BASELINES[name]
    scores: dict[float, float] = {}
    for lr in grid:
        make = functools.partial(_make, factory, float(lr))
        finals = [run_baseline(t, make, n_steps)[0]["loss"] for t in tasks]
        scores[float(lr)] = float(np.mean(finals))
    best = min(scores, key=lambda lr: scores[lr])
    if best in (min(grid), max(grid)):
        logging.getLogger(__name__).warning(
            "%s: the best learning rate %.3g is at the edge of the grid", name, best)
    return BaselineResult(name=name, learning_rate=best, scores=scores)
