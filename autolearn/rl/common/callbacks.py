"""Deterministic evaluation and the callbacks agents call after every update.

A callback is any callable ``callback(agent, row) -> bool | None`` where ``row`` is the
diagnostics dict just logged (it always holds ``timesteps``); returning ``False`` stops
``learn``. ``learn(callback=...)`` takes one callable, a list of them, or ``None``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from autolearn._files import atomic_write
from autolearn.exceptions import ConfigError
from autolearn.rl.common.env import (
    EnvLike,
    NormalizeObservation,
    check_env_id,
    find_wrapper,
    frozen_normalized,
)

__all__ = [
    "CheckpointCallback",
    "EvalCallback",
    "EveryNTimesteps",
    "StopOnMaxEpisodes",
    "StopOnNoImprovement",
    "StopOnRewardThreshold",
    "evaluate",
    "evaluate_episodes",
    "run_callbacks",
]


class _Agent(Protocol):
    num_timesteps: int

    def predict(self, obs: Any, deterministic: bool = True, mask: Any = None) -> np.ndarray: ...

    def save(self, path: str | os.PathLike[str]) -> None: ...


Callback = Callable[[Any, dict[str, Any]], "bool | None"]


def _vector(env: EnvLike, n: int) -> tuple[VectorEnv, bool]:
    if isinstance(env, VectorEnv):
        return env, False
    if isinstance(env, gym.Env):
        fns: list[Callable[[], gym.Env]] = [lambda: env]  # type: ignore[list-item, return-value]
    elif isinstance(env, str):
        check_env_id(env)
        fns = [lambda: gym.make(env)] * n  # type: ignore[arg-type]
    else:
        fns = [env] * n  # type: ignore[list-item]
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP), True


def evaluate(agent: _Agent, env: EnvLike, n_episodes: int = 10, *, deterministic: bool = True,
             seed: int | None = 0) -> tuple[float, float]:
    """Mean and standard deviation of the undiscounted return over ``n_episodes`` episodes.

    ``env`` may be an id, a factory (one copy per episode, all stepped in one batch, copy
    ``i`` seeded ``seed + i``), a single env (episodes one after another) or a vector env
    (rounds of one episode per sub-env). With ``deterministic=True`` and a fixed ``seed``
    the result is reproducible. :func:`evaluate_episodes` gives the episodes themselves.
    """
    returns, _ = evaluate_episodes(agent, env, n_episodes, deterministic=deterministic,
                                   seed=seed)
    return float(returns.mean()), float(returns.std())


def evaluate_episodes(agent: _Agent, env: EnvLike, n_episodes: int = 10, *,
                      deterministic: bool = True, seed: int | None = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(returns, lengths)`` of ``n_episodes`` episodes, as :func:`evaluate` runs them
    (SB3's ``evaluate_policy(..., return_episode_rewards=True)``): float64 undiscounted
    returns and int64 step counts, in the order the episodes were run."""
    if n_episodes < 1:
        raise ConfigError(f"`n_episodes` must be >= 1, but got n_episodes={n_episodes}")
    venv, owned = _vector(env, n_episodes)
    returns: list[float] = []
    lengths: list[int] = []
    first = True
    while len(returns) < n_episodes:
        obs, info = venv.reset(seed=seed if first else None)
        first = False
        ret = np.zeros(venv.num_envs)
        steps = np.zeros(venv.num_envs, np.int64)
        active = np.ones(venv.num_envs, bool)
        while active.any():
            actions = agent.predict(obs, deterministic=deterministic, mask=info.get("action_mask"))
            obs, rew, term, trunc, info = venv.step(actions)
            ret += np.asarray(rew, np.float64) * active
            steps += active
            active &= ~np.logical_or(term, trunc)
        returns.extend(ret.tolist())
        lengths.extend(steps.tolist())
    if owned:
        venv.close()
    return np.asarray(returns[:n_episodes]), np.asarray(lengths[:n_episodes], np.int64)


def run_callbacks(callback: Callback | Sequence[Callback] | None, agent: Any,
                  row: dict[str, Any]) -> bool:
    """Call every callback; ``False`` if any asked to stop."""
    if callback is None:
        return True
    cbs = [callback] if callable(callback) else list(callback)
    keep_going = True
    for cb in cbs:
        if cb(agent, row) is False:
            keep_going = False
    return keep_going


def record_update(callback: Callback | Sequence[Callback] | None, agent: Any,
                  row: dict[str, Any]) -> bool:
    """Run the callbacks on an update's diagnostics ``row`` (they may add to it), then keep
    the row in ``agent.history`` and its CSV log, also when a callback raised (the update
    it describes was applied); ``False`` if a callback asked to stop."""
    try:
        return run_callbacks(callback, agent, row)
    finally:
        agent.history.append(row)
        if agent.logger is not None:
            agent.logger.write(row)


class _Every:
    def __init__(self, every: int, name: str) -> None:
        if every < 1:
            raise ConfigError(f"`{name}` must be >= 1, but got {name}={every}")
        self.every, self.last = every, 0

    def due(self, timesteps: int) -> bool:
        if timesteps // self.every > self.last // self.every:
            self.last = timesteps
            return True
        return False


class EvalCallback:
    """Evaluate every ``eval_every`` timesteps (:func:`evaluate_episodes`); optionally stop
    once the mean return reaches ``stop_at``, keep the best agent, log every evaluation.

    Args:
        env: what to evaluate on (an id, a factory, an env or a vector env).
        eval_every: timesteps between evaluations (checked after each update).
        n_episodes, deterministic, seed: as :func:`evaluate`.
        stop_at: stop ``learn`` once an evaluation's mean return is at least this.
        best_model_save_path: a folder: the agent is saved to ``best_model.pt`` there
            whenever an evaluation's mean return beats every earlier one (SB3's name).
        log_path: a folder: every evaluation so far is written to ``evaluations.npz`` there
            (arrays ``timesteps (n,)``, ``results (n, n_episodes)`` returns and
            ``ep_lengths (n, n_episodes)``, SB3's file and keys).
        on_new_best: a callback (or list) called as ``cb(agent, row)`` right after a new
            best evaluation; if it returns ``False``, training stops.
        after_eval: a callback (or list) called as ``cb(agent, row)`` after every
            evaluation, after ``on_new_best`` (SB3's ``callback_after_eval``), e.g.
            :class:`StopOnNoImprovement`; ``False`` stops training.
        sync_normalization: when the agent's training env normalises observations (a
            :class:`~autolearn.rl.NormalizeObservation` in ``agent.env``'s wrapper chain),
            evaluate behind a frozen ``NormalizeObservation`` sharing its live statistics
            (SB3's ``sync_envs_normalization``), unless ``env`` already has one. Rewards are
            never normalised here: returns are the env's own. Agents that normalise inside
            ``predict`` (A3C's ``normalize_obs``) need nothing.

    Attributes:
        evaluations: ``(timesteps, mean, std)`` per evaluation.
        results, ep_lengths: the episodes' returns and lengths, one array per evaluation.
        best_mean_reward: the best mean return so far (``-inf`` before the first).

    Each evaluation adds ``eval_return_mean``, ``eval_return_std`` and ``eval_length_mean``
    to the logged row.
    """

    def __init__(self, env: EnvLike, *, eval_every: int, n_episodes: int = 10,
                 deterministic: bool = True, seed: int | None = 0,
                 stop_at: float | None = None,
                 best_model_save_path: str | os.PathLike[str] | None = None,
                 log_path: str | os.PathLike[str] | None = None,
                 on_new_best: Callback | Sequence[Callback] | None = None,
                 after_eval: Callback | Sequence[Callback] | None = None,
                 sync_normalization: bool = True) -> None:
        if n_episodes < 1:
            raise ConfigError(f"`n_episodes` must be >= 1, but got n_episodes={n_episodes}")
        self.env, self.n_episodes, self.deterministic, self.seed = env, n_episodes, \
            deterministic, seed
        self.stop_at = stop_at
        self.best_model_save_path = (None if best_model_save_path is None
                                     else Path(best_model_save_path))
        self.log_path = None if log_path is None else Path(log_path)
        self.on_new_best, self.after_eval = on_new_best, after_eval
        self.sync_normalization = sync_normalization
        self._every = _Every(eval_every, "eval_every")
        self.evaluations: list[tuple[int, float, float]] = []
        self.results: list[np.ndarray] = []
        self.ep_lengths: list[np.ndarray] = []
        self.best_mean_reward = -math.inf
        self._eval_env: Any = None

    def _env_for(self, agent: Any) -> EnvLike:
        """``env``, behind the training observation statistics where they apply."""
        if self._eval_env is not None:
            return self._eval_env  # type: ignore[no-any-return]
        source = None
        if self.sync_normalization and getattr(agent, "normalizer", None) is None:
            source = find_wrapper(getattr(agent, "env", None), NormalizeObservation)
        if source is None or find_wrapper(self.env, NormalizeObservation) is not None:
            return self.env
        n = 1 if isinstance(self.env, gym.Env) else self.n_episodes  # one env: in turn
        self._eval_env = frozen_normalized(self.env, n, source.rms)  # live statistics
        return self._eval_env  # type: ignore[no-any-return]

    def __call__(self, agent: _Agent, row: dict[str, Any]) -> bool:
        if not self._every.due(agent.num_timesteps):
            return True
        returns, lengths = evaluate_episodes(agent, self._env_for(agent), self.n_episodes,
                                             deterministic=self.deterministic, seed=self.seed)
        mean, std = float(returns.mean()), float(returns.std())
        self.evaluations.append((agent.num_timesteps, mean, std))
        self.results.append(returns)
        self.ep_lengths.append(lengths)
        row["eval_return_mean"] = mean
        row["eval_return_std"] = std
        row["eval_length_mean"] = float(lengths.mean())
        if self.log_path is not None:
            self.log_path.mkdir(parents=True, exist_ok=True)
            arrays: dict[str, Any] = {
                "timesteps": np.asarray([t for t, _, _ in self.evaluations], np.int64),
                "results": np.stack(self.results), "ep_lengths": np.stack(self.ep_lengths)}
            atomic_write(self.log_path / "evaluations.npz", lambda fh: np.savez(fh, **arrays))
        keep_going = True
        if mean > self.best_mean_reward:
            self.best_mean_reward = mean
            if self.best_model_save_path is not None:
                self.best_model_save_path.mkdir(parents=True, exist_ok=True)
                agent.save(self.best_model_save_path / "best_model.pt")
            keep_going = run_callbacks(self.on_new_best, agent, row)
        keep_going = run_callbacks(self.after_eval, agent, row) and keep_going
        return keep_going and (self.stop_at is None or mean < self.stop_at)


class CheckpointCallback:
    """Save the agent to ``directory/{prefix}_{timesteps}.pt`` every ``save_every`` timesteps."""

    def __init__(self, directory: str | os.PathLike[str], *, save_every: int,
                 prefix: str = "agent") -> None:
        self.directory = Path(directory)
        self.prefix = prefix
        self._every = _Every(save_every, "save_every")
        self.paths: list[Path] = []

    def __call__(self, agent: _Agent, row: dict[str, Any]) -> bool:
        if self._every.due(agent.num_timesteps):
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{self.prefix}_{agent.num_timesteps}.pt"
            agent.save(path)
            self.paths.append(path)
        return True


class StopOnRewardThreshold:
    """Stop when the mean return of the last (up to 100) training episodes reaches ``threshold``."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def __call__(self, agent: _Agent, row: dict[str, Any]) -> bool:
        value = row.get("ep_return_mean", math.nan)
        return not (isinstance(value, float) and value >= self.threshold)


class StopOnNoImprovement:
    """Stop once ``max_no_improvement_evals`` evaluations in a row have not beaten the best
    mean evaluation return so far, counting only after the first ``min_evals`` evaluations
    (SB3's ``StopTrainingOnNoModelImprovement``).

    It reads ``eval_return_mean`` from the rows an :class:`EvalCallback` evaluated: pass it
    as that callback's ``after_eval``, or list it after the ``EvalCallback`` in ``learn``'s
    callbacks (rows without an evaluation are ignored). ``stopped_at``: the step count at
    which it stopped training (``None`` until then).
    """

    def __init__(self, max_no_improvement_evals: int, min_evals: int = 0) -> None:
        for name, value, low in (("max_no_improvement_evals", max_no_improvement_evals, 1),
                                 ("min_evals", min_evals, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"`{name}` must be an int >= {low}, but got {name}={value!r}")
        self.max_no_improvement_evals, self.min_evals = max_no_improvement_evals, min_evals
        self.best = -math.inf
        self.n_evals = self.no_improvement = 0
        self.stopped_at: int | None = None

    def __call__(self, agent: _Agent, row: dict[str, Any]) -> bool:
        value = row.get("eval_return_mean")
        if value is None:
            return True
        self.n_evals += 1
        if value > self.best:
            self.best, self.no_improvement = float(value), 0
        elif self.n_evals > self.min_evals:
            self.no_improvement += 1
        if self.no_improvement >= self.max_no_improvement_evals:
            self.stopped_at = agent.num_timesteps
            return False
        return True


class EveryNTimesteps:
    """Run ``callback`` (or a list) only at the first update at or after every ``every``
    env steps (SB3's ``EveryNTimesteps``); its ``False`` stops training."""

    def __init__(self, every: int, callback: Callback | Sequence[Callback]) -> None:
        self._every = _Every(every, "every")
        self.callback = callback

    def __call__(self, agent: _Agent, row: dict[str, Any]) -> bool:
        if not self._every.due(agent.num_timesteps):
            return True
        return run_callbacks(self.callback, agent, row)


class StopOnMaxEpisodes:
    """Stop once the agent's envs have finished ``max_episodes`` episodes in all (every
    sub-env and worker counted; SB3's ``StopTrainingOnMaxEpisodes`` counts per env, i.e.
    stops at ``max_episodes * n_envs``).

    It reads the rows' ``episodes`` (episodes finished since the agent's envs were last
    reset: its first ``learn``, ``set_env`` or ``reset_num_timesteps=True``); for A3C and
    asynchronous Q-learning the sum of each worker's latest count, so it stops as late as
    the workers' rows arrive (``rows_per_message``).
    """

    def __init__(self, max_episodes: int) -> None:
        if not isinstance(max_episodes, int) or isinstance(max_episodes, bool) or \
                max_episodes < 1:
            raise ConfigError(f"`max_episodes` must be an int >= 1, but got "
                              f"max_episodes={max_episodes!r}")
        self.max_episodes = max_episodes
        self._by_worker: dict[int, int] = {}

    @property
    def n_episodes(self) -> int:
        """Episodes finished so far, as the rows seen tell."""
        return sum(self._by_worker.values())

    def __call__(self, agent: _Agent, row: dict[str, Any]) -> bool:
        if "episodes" in row:
            self._by_worker[int(row.get("worker", 0))] = int(row["episodes"])
        return self.n_episodes < self.max_episodes
