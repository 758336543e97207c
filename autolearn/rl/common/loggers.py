"""Watching training: a TensorBoard writer and a progress bar, both as callbacks.

Each is a callable ``callback(agent, row)`` (see :mod:`autolearn.rl.common.callbacks`),
so it goes into ``learn(callback=[...])`` next to the others. Put them *after* an
:class:`~autolearn.rl.EvalCallback` in the list to see its ``eval_return_mean``.

Example:
    >>> from autolearn.rl import PPO, PPOConfig, EvalCallback, ProgressBar, TensorBoardLogger
    >>> agent = PPO("CartPole-v1", PPOConfig(n_envs=8, n_steps=32), seed=0)
    >>> with ProgressBar(total=4_096) as bar:  # doctest: +SKIP
    ...     agent.learn(4_096, callback=[EvalCallback("CartPole-v1", eval_every=2_048),
    ...                                  TensorBoardLogger("runs/ppo"), bar])
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from autolearn.exceptions import AutolearnError

__all__ = ["MissingDependencyError", "ProgressBar", "TensorBoardLogger"]


class MissingDependencyError(AutolearnError, ImportError):
    """An optional package that this feature needs is not installed (the message says which)."""


def _scalars(row: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of a diagnostics row (booleans as 0/1), by TensorBoard tag."""
    out = {}
    for key, value in row.items():
        if key == "timesteps" or isinstance(value, str) or value is None:
            continue
        try:
            x = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x):
            out[f"eval/{key[5:]}" if key.startswith("eval_") else f"train/{key}"] = x
    return out


class TensorBoardLogger:
    """Write every number of each diagnostics row to TensorBoard, at ``row["timesteps"]``.

    Training diagnostics go under ``train/`` (``train/ep_return_mean``, ``train/approx_kl``,
    ...), evaluation results under ``eval/`` (``eval/return_mean`` from an
    :class:`~autolearn.rl.EvalCallback` placed before this one). Non-finite values (no
    finished episode yet) are skipped. Uses ``torch.utils.tensorboard.SummaryWriter``.

    Args:
        log_dir: directory for the event files (``tensorboard --logdir`` it).
        flush_secs: how often the writer flushes to disk; :meth:`close` flushes too.

    Raises:
        MissingDependencyError: the ``tensorboard`` package is not installed
            (``pip install tensorboard`` or ``pip install 'autolearn[tensorboard]'``).
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, flush_secs: int = 30) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise MissingDependencyError(
                "TensorBoard logging needs the tensorboard package: pip install tensorboard "
                "(or pip install 'autolearn[tensorboard]')") from exc
        self.log_dir = os.fspath(log_dir)
        self.writer = SummaryWriter(log_dir=self.log_dir, flush_secs=flush_secs)

    def __call__(self, agent: Any, row: dict[str, Any]) -> bool:
        step = int(row.get("timesteps", getattr(agent, "num_timesteps", 0)))
        for tag, value in _scalars(row).items():
            self.writer.add_scalar(tag, value, step)
        return True

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()

    def __enter__(self) -> TensorBoardLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProgressBar:
    """A rich progress bar on stderr: env steps, steps per second, recent mean return.

    The bar appears at the first update and is closed when ``total`` steps are reached,
    by :meth:`close`, or on leaving a ``with`` block. Redraws are throttled to one per
    ``refresh_every`` seconds, so it costs nothing measurable even for per-step rows.

    Args:
        total: the training budget in env steps (``None``: no bar length, no ETA).
        start: ``agent.num_timesteps`` before this ``learn`` call, when continuing.
        description: text in front of the bar.
        console: a ``rich.console.Console`` (default: one on stderr).
        refresh_every: seconds between redraws.
    """

    def __init__(self, total: int | None = None, *, start: int = 0,
                 description: str = "training", console: Any = None,
                 refresh_every: float = 0.1) -> None:
        self.total, self.start, self.description = total, start, description
        self.refresh_every = refresh_every
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._t0 = 0.0
        self._last_draw = -math.inf
        self._closed = False
        self._done = 0
        self.fps = float("nan")
        self.last_return = float("nan")

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = self._console if self._console is not None else Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[fps]} steps/s"), TextColumn("return {task.fields[ret]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, auto_refresh=False, transient=False)
        self._task = self._progress.add_task(self.description, total=self.total, fps="-",
                                             ret="-")
        self._progress.start()
        self._t0 = time.perf_counter()

    def __call__(self, agent: Any, row: dict[str, Any]) -> bool:
        if self._closed:
            return True
        if self._progress is None:
            self._open()
        done = int(row.get("timesteps", agent.num_timesteps)) - self.start
        elapsed = time.perf_counter() - self._t0
        if elapsed > 0:
            self.fps = done / elapsed
        ret = row.get("ep_return_mean")
        if isinstance(ret, float) and math.isfinite(ret):
            self.last_return = ret
        finished = self.total is not None and done >= self.total
        now = time.perf_counter()
        self._done = done
        if finished or now - self._last_draw >= self.refresh_every:
            self._last_draw = now
            self._draw()
        if finished:
            self.close()
        return True

    def _draw(self) -> None:
        self._progress.update(
            self._task, completed=self._done, fps=f"{self.fps:,.0f}",
            ret="-" if math.isnan(self.last_return) else f"{self.last_return:.1f}")
        self._progress.refresh()

    def close(self) -> None:
        """Draw the final state and release the terminal (idempotent)."""
        if self._progress is not None and not self._closed:
            self._draw()
            self._progress.stop()
        self._closed = True

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
