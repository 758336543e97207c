"""Meta-training of the LSTM optimizer by truncated back-propagation through time.

For each sampled task the optimizer runs ``horizon`` steps, cut into unrolls of
``unroll`` steps. The meta-loss of one unroll is the sum of the optimisee's losses at the
iterates it produced (the paper's ``sum_t w_t f(theta_t)`` with ``w_t = 1``); Adam takes
one meta-step per unroll, then parameters and LSTM states are detached and the next
unroll continues from them. Without ``second_order`` the optimisee gradient fed to the
LSTM is a constant of the graph (the paper drops ``d grad f / d phi``). The weights kept
are those with the lowest mean *final* loss on held-out validation tasks.

References:
    Andrychowicz et al. Learning to learn by gradient descent by gradient descent. NIPS 2016.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from autolearn._files import atomic_write
from autolearn._rng import derive_seed
from autolearn.exceptions import ConfigError
from autolearn.learned_optim._lstm import (
    LSTMOptimizerConfig,
    LSTMOptimizerNet,
    LSTMState,
    detach_state,
)
from autolearn.learned_optim._problems import Problem, Task

__all__ = ["MetaTrainConfig", "MetaTrainResult", "meta_train", "optimize", "unroll"]

_log = logging.getLogger(__name__)

_TRAIN, _VALID = 1, 2  # streams of derive_seed(seed, stream, i)


@dataclass(frozen=True)
class MetaTrainConfig:
    """Meta-training settings.

    Attributes:
        n_tasks: Optimisee trajectories to train on (each gives ``horizon / unroll``
            meta-steps).
        horizon: Optimisee steps per trajectory (100 in the paper).
        unroll: Steps per truncated BPTT unroll (20 in the paper).
        learning_rate: Adam's learning rate for the optimizer's weights.
        second_order: Back-propagate through the optimisee's gradients (needs their
            Hessian-vector products); False drops those terms as the paper does.
        loss_transform: ``"none"`` sums the optimisee losses as in the paper; ``"log"``
            sums their logarithms, which weighs late (small) losses more.
        clip_grad_norm: Clip the meta-gradient's norm to this value (None: no clipping).
        cosine_decay: Anneal Adam's learning rate to 0 over the ``n_tasks`` tasks along a
            cosine (False: constant, as in the paper). Meta-training of learned
            optimizers is noisy; annealing lets the last weights settle.
        eval_every: Evaluate on the validation tasks after every this many tasks.
        n_eval_tasks: Held-out validation tasks for checkpoint selection.
        max_cpu_seconds: Stop early once this much process CPU time was spent (None: no
            limit); the run stays resumable.
    """

    n_tasks: int = 200
    horizon: int = 100
    unroll: int = 20
    learning_rate: float = 1e-3
    second_order: bool = False
    loss_transform: str = "none"
    clip_grad_norm: float | None = None
    cosine_decay: bool = False
    eval_every: int = 10
    n_eval_tasks: int = 8
    max_cpu_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("n_tasks", "horizon", "unroll", "eval_every", "n_eval_tasks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"`{name}` must be a positive int, but got {value!r}")
        if self.horizon % self.unroll:
            raise ConfigError(
                "`horizon` must be a multiple of `unroll`, but got "
                f"horizon={self.horizon}, unroll={self.unroll}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            raise ConfigError(
                f"`learning_rate` must be a number > 0, but got {self.learning_rate!r}")
        for name in ("second_order", "cosine_decay"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"`{name}` must be a bool, but got {getattr(self, name)!r}")
        if self.loss_transform not in ("none", "log"):
            raise ConfigError(
                f"`loss_transform` must be 'none' or 'log', but got {self.loss_transform!r}")
        for name in ("clip_grad_norm", "max_cpu_seconds"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float) and value > 0):
                raise ConfigError(f"`{name}` must be None or a number > 0, but got {value!r}")


@dataclass
class MetaTrainResult:
    """What :func:`meta_train` returns.

    Attributes:
        net: The selected optimizer (lowest validation final loss), in eval mode.
        best_validation_loss: Its mean final loss on the validation tasks.
        history: One record per evaluation: ``tasks``, ``validation_loss``,
            ``meta_loss`` (mean over the tasks since the last evaluation), ``cpu_s``.
        tasks_done: Trajectories trained on (less than ``n_tasks`` after a CPU limit).
        cpu_seconds: Process CPU time spent, summed over resumed runs.
        wall_seconds: Wall time spent, summed over resumed runs.
    """

    net: LSTMOptimizerNet
    best_validation_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    tasks_done: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


def unroll(net: LSTMOptimizerNet, task: Task, theta: Tensor, state: LSTMState, *,
           start: int, n_steps: int, second_order: bool = False,
           loss_transform: str = "none") -> tuple[Tensor, Tensor, LSTMState]:
    """Run ``n_steps`` optimizer steps from ``theta``; return the meta-loss and the ends.

    The meta-loss is ``sum_{t=1..n_steps} f_{start+t}(theta_{start+t})``: every iterate the
    optimizer produced counts, the starting point does not (it is a constant here).

    Args:
        net: The LSTM optimizer.
        task: The optimisee.
        theta: Starting parameters, shape ``(n,)``; must require grad.
        state: LSTM states for the ``n`` coordinates.
        start: Index of the starting step (selects the minibatches).
        n_steps: Steps to unroll.
        second_order: Keep the optimisee gradient in the graph (``create_graph``).
        loss_transform: ``"none"`` or ``"log"`` (sum of ``log f``).

    Returns:
        ``(meta_loss, theta, state)`` with the graph attached to the optimizer's weights.
    """
    meta_loss = theta.new_zeros(())
    loss = task.loss(theta, start)
    for t in range(n_steps):
        (grad,) = torch.autograd.grad(loss, theta, create_graph=second_order,
                                      retain_graph=True)
        if not second_order:
            grad = grad.detach()
        update, state = net(grad, state)
        theta = theta + update
        loss = task.loss(theta, start + t + 1)
        meta_loss = meta_loss + (torch.log(loss) if loss_transform == "log" else loss)
    return meta_loss, theta, state


def optimize(net: LSTMOptimizerNet, task: Task, n_steps: int) -> tuple[Tensor, list[float]]:
    """Run the optimizer on ``task`` for ``n_steps`` without building a meta-graph.

    Returns:
        The final parameters (detached) and the loss before each step plus the last one
        (``n_steps + 1`` values).
    """
    theta = task.theta0.detach().clone()
    state = net.initial_state(theta.numel(), dtype=theta.dtype)
    losses = []
    for t in range(n_steps):
        theta.requires_grad_(True)
        loss = task.loss(theta, t)
        (grad,) = torch.autograd.grad(loss, theta)
        losses.append(float(loss.detach()))
        with torch.no_grad():
            update, state = net(grad, state)
            theta = (theta + update).detach()
    with torch.no_grad():
        losses.append(float(task.loss(theta, n_steps)))
    return theta, losses


def _validation_loss(net: LSTMOptimizerNet, tasks: Sequence[Task], horizon: int) -> float:
    finals = []
    for task in tasks:
        theta, _ = optimize(net, task, horizon)
        finals.append(task.evaluate(theta)["loss"])
    value = sum(finals) / len(finals)
    return value if math.isfinite(value) else math.inf


def meta_train(problem: Problem, *, config: MetaTrainConfig | None = None,
               optimizer_config: LSTMOptimizerConfig | None = None, seed: int = 0,
               checkpoint: str | os.PathLike[str] | None = None,
               progress: bool = False, dtype: torch.dtype = torch.float32) -> MetaTrainResult:
    """Meta-train an LSTM optimizer on tasks drawn from ``problem``.

    Args:
        problem: The optimisee family (see :mod:`autolearn.learned_optim` problems).
        config: Meta-training settings (defaults if None).
        optimizer_config: Shape of the LSTM optimizer (defaults if None).
        seed: Seeds the network's initialisation, the training tasks and the validation
            tasks (disjoint streams). Same seed, same result (single-threaded torch).
        checkpoint: A file written after every evaluation (network, Adam state, best
            weights, history, task counter); if it exists, training resumes from it.
        progress: Show a progress bar on stderr.
        dtype: The network's and the unroll's floating dtype.

    Returns:
        The selected network and the training record.

    Example:
        >>> from autolearn.learned_optim import MetaTrainConfig, QuadraticProblem, meta_train
        >>> result = meta_train(QuadraticProblem(n_functions=16),
        ...                     config=MetaTrainConfig(n_tasks=2, horizon=20, eval_every=1,
        ...                                            n_eval_tasks=1), seed=0)
        >>> result.tasks_done
        2
    """
    config = config if config is not None else MetaTrainConfig()
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"`seed` must be an int >= 0, but got {seed!r}")
    net = LSTMOptimizerNet(optimizer_config).to(dtype)
    net.reset_parameters(torch.Generator().manual_seed(derive_seed(seed, 0)))
    meta_opt = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    best_state = copy.deepcopy(net.state_dict())
    best_val, history, done, cpu_used, wall_used = math.inf, [], 0, 0.0, 0.0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        saved = torch.load(ckpt, weights_only=True)
        if saved["optimizer_config"] != net.config.to_dict():
            raise ConfigError(
                f"`optimizer_config` {net.config.to_dict()} differs from the checkpoint's "
                f"{saved['optimizer_config']} ({ckpt})")
        net.load_state_dict(saved["net"])
        meta_opt.load_state_dict(saved["meta_optimizer"])
        best_state, best_val = saved["best_net"], saved["best_validation_loss"]
        history, done = list(saved["history"]), int(saved["tasks_done"])
        cpu_used, wall_used = float(saved["cpu_seconds"]), float(saved["wall_seconds"])
        _log.info("resuming meta-training from %s at task %d", ckpt, done)

    valid = [_cast(problem.sample_task(derive_seed(seed, _VALID, i)), dtype)
             for i in range(config.n_eval_tasks)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    bar = _progress_bar(progress, config.n_tasks, done)
    recent: list[float] = []
    try:
        while done < config.n_tasks:
            if config.cosine_decay:
                for group in meta_opt.param_groups:
                    group["lr"] = config.learning_rate * 0.5 * (
                        1 + math.cos(math.pi * done / config.n_tasks))
            task = _cast(problem.sample_task(derive_seed(seed, _TRAIN, done)), dtype)
            theta = task.theta0.detach().clone().requires_grad_(True)
            state = net.initial_state(theta.numel(), dtype=dtype)
            total = 0.0
            for k in range(0, config.horizon, config.unroll):
                meta_loss, theta, state = unroll(
                    net, task, theta, state, start=k, n_steps=config.unroll,
                    second_order=config.second_order, loss_transform=config.loss_transform)
                meta_opt.zero_grad()
                if torch.isfinite(meta_loss):
                    meta_loss.backward()
                    if config.clip_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(net.parameters(), config.clip_grad_norm)
                    meta_opt.step()
                total += float(meta_loss.detach())
                theta = theta.detach().requires_grad_(True)
                state = detach_state(state)
                if not torch.isfinite(theta).all():
                    break  # a diverged trajectory teaches nothing more
            done += 1
            recent.append(total / config.horizon)
            cpu_now = cpu_used + time.process_time() - cpu0
            if done % config.eval_every == 0 or done == config.n_tasks:
                val = _validation_loss(net, valid, config.horizon)
                if val < best_val:
                    best_val, best_state = val, copy.deepcopy(net.state_dict())
                history.append({"tasks": done, "validation_loss": val,
                                "meta_loss": sum(recent) / len(recent), "cpu_s": cpu_now})
                recent = []
                _log.info("task %d: validation final loss %.4g (best %.4g), %.0f CPU s",
                          done, val, best_val, cpu_now)
                if ckpt is not None:
                    payload: dict[str, Any] = {
                        "net": net.state_dict(), "meta_optimizer": meta_opt.state_dict(),
                        "best_net": best_state, "best_validation_loss": best_val,
                        "history": history, "tasks_done": done, "seed": seed,
                        "optimizer_config": net.config.to_dict(),
                        "config": asdict(config),
                        "cpu_seconds": cpu_now,
                        "wall_seconds": wall_used + time.perf_counter() - wall0}
                    atomic_write(ckpt, partial(torch.save, payload))
            if bar is not None:
                bar.update(bar.task_ids[0], completed=done,
                           description=f"meta-train (best val {best_val:.4g})")
            if config.max_cpu_seconds is not None and cpu_now >= config.max_cpu_seconds:
                _log.info("CPU budget of %.0f s spent after %d tasks", config.max_cpu_seconds,
                          done)
                break
    finally:
        if bar is not None:
            bar.stop()
    net.load_state_dict(best_state)
    net.eval()
    return MetaTrainResult(net=net, best_validation_loss=best_val, history=history,
                           tasks_done=done, cpu_seconds=cpu_used + time.process_time() - cpu0,
                           wall_seconds=wall_used + time.perf_counter() - wall0)


def _cast(task: Task, dtype: torch.dtype) -> Task:
    if task.theta0.dtype != dtype:
        task.theta0 = task.theta0.to(dtype)
    return task


def _progress_bar(show: bool, total: int, done: int) -> Any:
    if not show:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), transient=False)
    bar.add_task("meta-train", total=total, completed=done)
    bar.start()
    return bar
