"""Asynchronous actor-learners on CPU cores (Mnih et al. 2016), shared by the async agents.

:func:`learn_async` runs ``n_workers`` actor-learners: the calling process is learner 0
and the coordinator; learners 1.. are forked ``torch.multiprocessing`` processes that
build their own env copy and update parameters living in shared memory, without locks
(Hogwild). A learner is any object with

* ``steps_per_update`` — env steps one ``update`` takes (``n_steps * n_envs``);
* ``update(lr, progress) -> dict`` — act, compute a gradient on its local copy, apply it
  to the shared parameters, return diagnostics (``progress``: share of this ``learn``
  call's budget already spent over all learners, in ``[0, 1]``);
* optionally ``on_counted(before, after)`` — called under the shared step counter's lock
  right after the learner's steps were added (e.g. to refresh a shared target network
  every ``I_target`` global steps, as Algorithm 1 of the paper does).

Rows reach the coordinator through a queue, ``rows_per_message`` to a message (one message
per update costs a forked worker more than its rows are worth: a feeder-thread wake-up, a
pickle and a pipe write each; the last few rows go when the worker stops); it logs them and
runs the callbacks (which see the live shared parameters) between its own updates. Each
row is logged with the global step count *at the time it is logged* (every learner's steps
applied so far, at least the row's own ``timesteps``): the parameters a callback sees have
been trained on that many steps, and a row may reach the coordinator long after it was
written. With
``pause_while_logging``, the other learners wait before their next update while the
coordinator logs (and runs callbacks), so an evaluating callback sees a network that
changes by at most the one update each other learner had in progress, at about the step
count of its row, as a synchronous agent's callback would; without it they keep
training meanwhile (an evaluation that takes as long as a few thousand steps would see a
moving network and skip evaluation points). Workers are forked, so env factories may be
closures; ``fork`` is unavailable on Windows (use one worker there).
"""

from __future__ import annotations

import os
import queue
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, Protocol

import numpy as np
import torch
import torch.multiprocessing as mp
from gymnasium.vector import VectorEnv

from autolearn.exceptions import ConfigError, NonFiniteError
from autolearn.rl.common import locks
from autolearn.rl.common.agent import attach_env, blas_threads, setup_env
from autolearn.rl.common.env import EnvLike
from autolearn.rl.common.locks import acquire
from autolearn.rl.common.schedules import Schedule, as_schedule

__all__ = ["Learner", "check_worker_env", "learn_async", "set_worker_env_method"]


class Learner(Protocol):
    steps_per_update: int

    def update(self, lr: float, progress: float) -> dict[str, Any]: ...


def check_worker_env(env: Any, n_workers: int, name: str) -> None:
    """``ConfigError`` for a ``VectorEnv`` with several workers: each builds its own copy
    from an id or a factory."""
    if isinstance(env, VectorEnv) and n_workers > 1:
        raise ConfigError(f"{name} workers build their own env copies: pass an env id or a "
                          "factory, not a VectorEnv, when n_workers > 1")


def set_worker_env_method(name: str) -> Callable[[Any, EnvLike], None]:
    """The asynchronous agents' ``set_env`` (``set_env = set_worker_env_method("A3C")``)."""

    def set_env(self: Any, env: EnvLike) -> None:
        """Train in ``env`` from now on (SB3's ``set_env``; an id or a factory, with this
        agent's spaces, else ``ConfigError``; a vector env only with one worker): the next
        ``learn`` starts fresh episodes, the other workers build their copies from it.
        Networks, optimiser state, shared normalisation statistics and ``num_timesteps``
        are kept."""
        check_worker_env(env, self.config.n_workers, name)
        attach_env(self, env)
        normalizer = getattr(self, "normalizer", None)
        if normalizer is not None and self.env is not None:
            self.env = normalizer.wrap(self.env)
        self._env_fn = env

    return set_env


def _steps(counter: Any) -> int:
    """The global step count, read without the counter's lock (an aligned 64-bit integer
    is read whole; the lock orders the updates), so a reader never waits on a lock a
    killed worker may hold."""
    return int(counter.get_obj().value)


def _step_and_count(learner: Learner, rank: int, counter: Any, start: int, total: int,
                    lr_at: Schedule) -> dict[str, Any]:
    progress = min(max((_steps(counter) - start) / total, 0.0), 1.0)
    stats = learner.update(lr_at(progress), progress)
    lock = counter.get_lock()
    acquire(lock, "the shared step counter")  # rows leave in timestep order
    try:
        raw = counter.get_obj()
        before = int(raw.value)
        raw.value = after = before + learner.steps_per_update
        hook = getattr(learner, "on_counted", None)
        if hook is not None:
            hook(before, after)
    finally:
        lock.release()
    return {"timesteps": after, "worker": rank, **stats}


def _worker_main(make_learner: Callable[[Any, int, np.random.Generator], Learner],
                 env: EnvLike, config: Any, spec: Any, name: str, rank: int,
                 seed: np.random.Generator, counter: Any, stop: Any, go: Any, rows: Any,
                 start: int, total: int, rows_per_message: int = 1) -> None:
    """Body of a forked worker process: update until the budget is spent or ``stop``,
    each update once ``go`` is set (cleared while the coordinator logs); its rows go to
    the coordinator in lists of ``rows_per_message`` (the rest when it stops)."""
    # numpy's BLAS gets one thread, as torch: the coordinator's learn() already set BLAS to
    # its torch thread count (blas_like_torch) and the fork inherited it; re-limiting costs
    # ~7 ms (threadpoolctl's library scan), so only when that count was not 1
    inherited = torch.get_num_threads()
    torch.set_num_threads(1)
    parent = os.getppid()
    pending: list[dict[str, Any]] = []
    try:
        with blas_threads(1) if inherited != 1 else nullcontext():
            venv, _ = setup_env(env, config.n_envs, config.vectorization, spec, lean=True)
            learner = make_learner(venv, rank, seed)
            lr_at = as_schedule(config.learning_rate, "learning_rate")
            while True:
                resumed = go.wait(1.0)  # blocks (no CPU) while paused
                if (stop.is_set() or _steps(counter) - start >= total
                        or os.getppid() != parent):  # stop too if the coordinator died
                    break
                if resumed:
                    pending.append(_step_and_count(learner, rank, counter, start, total, lr_at))
                    if len(pending) >= rows_per_message:
                        rows.put(("rows", pending))
                        pending = []
    except BaseException as e:  # noqa: BLE001 - reported to the coordinator, which raises
        rows.put(("error", (f"{name} worker {rank} failed:\n{traceback.format_exc()}",
                            isinstance(e, NonFiniteError))))
    if pending:
        rows.put(("rows", pending))
    rows.put(("done", rank))


def learn_async(*, learner0: Learner,
                make_learner: Callable[[Any, int, np.random.Generator], Learner],
                env_fn: EnvLike, config: Any, spec: Any, seeds: list[np.random.Generator],
                start: int, total: int, log: Callable[[dict[str, Any], int], bool],
                share: Callable[[], None], name: str, pause_while_logging: bool = False,
                rows_per_message: int = 1) -> tuple[bool, int]:
    """Run ``config.n_workers`` learners for about ``total`` env steps from ``start``.

    ``learner0`` runs here; ``make_learner(venv, rank, seed)`` builds the others in their
    processes, with ``seeds[rank]``. ``share()`` moves the shared state to shared memory
    before forking. ``log(row, steps)`` records a row (``steps``: the global step count when
    it is logged, ``>= row["timesteps"]``) and returns False to stop;
    ``pause_while_logging``: the other learners wait while rows are logged (see above);
    ``rows_per_message``: a forked learner sends its rows in lists of this many (so they
    are logged up to that many of its updates late; learner 0's rows are logged at once).
    Workers stop at the first update that reaches the budget, so it is overshot by at most
    one update per worker. Returns ``(keep_going, final step count)``; raises
    ``RuntimeError`` with a worker's traceback if one failed (``NonFiniteError`` if it
    refused a NaN or inf, see :mod:`~autolearn.rl.common.finite`).
    """
    n_workers = config.n_workers
    ctx = mp.get_context("fork") if n_workers > 1 else None
    counter = (ctx or mp).Value("q", start)
    procs: list[Any] = []
    if ctx is not None:
        share()
        stop, go, rows = ctx.Event(), ctx.Event(), ctx.Queue()
        go.set()
        for rank in range(1, n_workers):
            p = ctx.Process(target=_worker_main, daemon=True, name=f"{name}-worker-{rank}",
                            args=(
                make_learner, env_fn, config, spec, name, rank, seeds[rank], counter, stop,
                go, rows, start, total, rows_per_message))
            p.start()
            procs.append(p)
    lr_at = as_schedule(config.learning_rate, "learning_rate")
    keep_going, running, errors, finished = True, len(procs), [], set()
    failed = False
    try:
        while keep_going and _steps(counter) - start < total:
            batch = [_step_and_count(learner0, 0, counter, start, total, lr_at)]
            while procs:  # what the other workers logged meanwhile
                try:
                    kind, item = rows.get_nowait()
                except queue.Empty:
                    break
                if kind == "rows":
                    batch.extend(item)
                elif kind == "error":
                    errors.append(item)
                else:
                    running -= 1
                    finished.add(item)
            pause = pause_while_logging and bool(procs)
            if pause:
                go.clear()
            for row in sorted(batch, key=lambda r: r["timesteps"]):
                if keep_going:
                    keep_going = log(row, _steps(counter))
            if pause:
                go.set()
            if errors:
                break
    except BaseException:
        failed = True
        raise
    finally:
        if procs:
            stop.set()
            go.set()
            # a worker stuck on a lock a killed one holds never says done: after an error
            # here give the others a few seconds, else as long as a lock may be held
            patience = 5.0 if failed else 4 * locks.LOCK_TIMEOUT_S
            quiet_since = time.monotonic()
            terminated: set[int] = set()
            while running > 0:  # until every worker said done, or none is left to say it
                try:
                    kind, item = rows.get(timeout=0.1)
                except queue.Empty:  # a finished worker's last messages are in the pipe
                    if not any(p.is_alive() for p in procs):  # before it exits: all read
                        break
                    if time.monotonic() - quiet_since > patience:
                        terminated = _terminate_stuck(procs, name, patience)
                        break
                    continue
                quiet_since = time.monotonic()
                if kind == "done":
                    running -= 1
                    finished.add(item)
                if kind == "rows" and not errors:
                    for row in item:
                        if keep_going:
                            keep_going = log(row, _steps(counter))
                elif kind == "error":
                    errors.append(item)
            for p in procs:
                p.join()
            _warn_dead_workers(procs, finished | terminated, name)
    if errors:  # a refused non-finite value keeps its type (nothing was corrupted)
        text, non_finite = errors[0]
        raise (NonFiniteError if non_finite else RuntimeError)(text)
    return keep_going, _steps(counter)


def _terminate_stuck(procs: list[Any], name: str, waited: float) -> set[int]:
    """Terminate the forked workers still alive after the stop (stuck, e.g. on a lock a
    killed worker holds), with a ``RuntimeWarning``; their ranks."""
    stuck = {rank for rank, p in enumerate(procs, start=1) if p.is_alive()}
    for rank in sorted(stuck):
        procs[rank - 1].terminate()
    warnings.warn(f"{name} workers {sorted(stuck)} sent nothing for {waited:g} s after being "
                  "told to stop (stuck, most likely on a shared lock a killed worker holds) "
                  "and were terminated", RuntimeWarning, stacklevel=3)
    return stuck


def _warn_dead_workers(procs: list[Any], finished: set[int], name: str) -> None:
    """A ``RuntimeWarning`` for each forked worker that ended without saying it was done
    (killed, e.g. by the OOM killer): training went on without it (its updates so far
    are in the shared parameters; rows it had not sent yet are lost)."""
    for rank, p in enumerate(procs, start=1):
        code = p.exitcode
        if rank in finished or code == 0:  # a worker that failed exits 0 after reporting
            continue
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                pass
        warnings.warn(f"{name} worker {rank} died ({how}) before it finished; the other "
                      "workers went on without it, so this learn() ran with fewer workers "
                      "from then on (its updates so far are kept, its unsent diagnostics "
                      "rows are lost)", RuntimeWarning, stacklevel=3)
