"""One benchmark run of one library: train, evaluate on a schedule, count steps and CPU time.

Both libraries are measured by the same code: :func:`cpu_seconds` (this process plus its
worker processes, for A3C), :func:`evaluate_policy` (10 episodes, deterministic actions,
one batched ``predict`` per step on a 10-env vector env seeded the same way on both sides,
observations normalised with the training statistics where the setting normalises) and
the same evaluation points (the first update/step at or after each multiple of
``eval_every``). Evaluation CPU time (of this process, where evaluation runs) is measured
and subtracted from the training CPU-seconds on both sides. A3C's other workers keep
training while worker 0 evaluates; their steps and CPU time count as training.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.rl._zoo import PEERS, THRESHOLDS, Setting, ours_config

__all__ = ["cpu_seconds", "evaluate_policy", "run_ours", "run_sb3"]

N_EVAL_EPISODES = 10
_CLK = os.sysconf("SC_CLK_TCK")


def _live_children_cpu() -> float:
    """CPU seconds of this process's live child processes (Linux ``/proc``; 0 elsewhere)."""
    total = 0.0
    try:
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    except OSError:
        return 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _CLK  # utime + stime
    return total


def cpu_seconds() -> float:
    """Process CPU time plus that of child processes (reaped and live)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ru.ru_utime + ru.ru_stime + _live_children_cpu()


def evaluate_policy(predict: Callable[[np.ndarray], np.ndarray], env_id: str, seed: int,
                    obs_stats: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Mean undiscounted return of ``N_EVAL_EPISODES`` episodes played in one batch."""
    import gymnasium as gym

    n = N_EVAL_EPISODES
    venv = gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * n)
    obs, _ = venv.reset(seed=seed)
    ret, active = np.zeros(n), np.ones(n, bool)
    while active.any():
        x = obs if obs_stats is None else np.clip(
            (obs - obs_stats[0]) / np.sqrt(obs_stats[1] + 1e-8), -10, 10).astype(np.float32)
        obs, rew, term, trunc, _ = venv.step(predict(x))
        ret += np.asarray(rew, np.float64) * active
        active &= ~np.logical_or(term, trunc)
    venv.close()
    return float(ret.mean())


class _Tracker:
    """Evaluation schedule, solved check and CPU bookkeeping shared by both libraries."""

    def __init__(self, setting: Setting, seed: int, stop_when_solved: bool) -> None:
        self.setting, self.seed, self.stop_when_solved = setting, seed, stop_when_solved
        self.threshold = THRESHOLDS[setting.env]
        self.next_eval = setting.eval_every
        self.evals: list[tuple[int, float]] = []
        self.eval_cpu = 0.0
        self.solved_at: int | None = None
        self.solved_cpu: float | None = None
        self.cpu0 = cpu_seconds()

    def train_cpu(self) -> float:
        return cpu_seconds() - self.cpu0 - self.eval_cpu

    def due(self, timesteps: int) -> bool:
        return timesteps >= self.next_eval

    def evaluate(self, timesteps: int, predict: Callable[[np.ndarray], np.ndarray],
                 obs_stats: tuple[np.ndarray, np.ndarray] | None) -> bool:
        """Evaluate now; False when training should stop."""
        train_cpu = self.train_cpu()
        t0 = time.process_time()  # evaluation runs here; A3C's other workers keep training
        mean = evaluate_policy(predict, self.setting.env, 10_000 + self.seed, obs_stats)
        self.eval_cpu += time.process_time() - t0
        self.evals.append((timesteps, mean))
        every = self.setting.eval_every
        self.next_eval = (timesteps // every + 1) * every
        if self.solved_at is None and mean >= self.threshold:
            self.solved_at, self.solved_cpu = timesteps, train_cpu
            return not self.stop_when_solved
        return True

    def finish(self, timesteps: int, predict: Callable[[np.ndarray], np.ndarray],
               obs_stats: tuple[np.ndarray, np.ndarray] | None) -> None:
        """A last evaluation at the end of the budget (not after a solved stop)."""
        stopped = self.solved_at is not None and self.stop_when_solved
        if not stopped and (not self.evals or self.evals[-1][0] != timesteps):
            self.evaluate(timesteps, predict, obs_stats)

    def result(self, total_steps: int) -> dict[str, Any]:
        return {"solved": self.solved_at is not None, "steps_to_solve": self.solved_at,
                "cpu_to_solve": self.solved_cpu, "train_cpu": self.train_cpu(),
                "eval_cpu": self.eval_cpu, "total_steps": total_steps,
                "final_eval": self.evals[-1][1] if self.evals else None,
                "best_eval": max(m for _, m in self.evals) if self.evals else None,
                "evals": self.evals}


# --------------------------------------------------------------------------- autolearn

def _ours_env(setting: Setting) -> Any:
    if not setting.normalize:
        return setting.env
    from autolearn.rl import NormalizeObservation, NormalizeReward, make_vec_env

    gamma = setting.ours.get("gamma", 0.99)
    venv = make_vec_env(setting.env, setting.n_envs, lean=True)
    return NormalizeReward(NormalizeObservation(venv), gamma=gamma)


def _ours_obs_stats(env: Any) -> tuple[np.ndarray, np.ndarray] | None:
    from autolearn.rl import NormalizeObservation

    while env is not None:
        if isinstance(env, NormalizeObservation):
            return env.rms.mean, env.rms.var
        env = getattr(env, "env", None)
    return None


def run_ours(setting: Setting, seed: int, *, mode: str, budget: int) -> dict[str, Any]:
    """``mode="solve"``: evaluate every ``eval_every`` steps until solved or ``budget``;
    ``mode="throughput"``: train ``budget`` steps without evaluation."""
    from autolearn import rl

    cls = {"a2c": rl.A2C, "a3c": rl.A3C, "ppo": rl.PPO, "dqn": rl.DQN,
           "async_q": rl.AsyncQ}[setting.algo]
    env = _ours_env(setting)
    agent = cls(env, ours_config(setting), seed=seed)
    wall0 = time.perf_counter()
    if mode == "throughput":
        cpu0 = cpu_seconds()
        agent.learn(budget)
        cpu = cpu_seconds() - cpu0
        updates = sum(r.get("n_updates", 0) for r in agent.history)
        return {"steps": agent.num_timesteps, "cpu": cpu, "updates": updates,
                "wall": time.perf_counter() - wall0}
    tracker = _Tracker(setting, seed, stop_when_solved=setting.env != "Pendulum-v1")

    def predict(obs: np.ndarray) -> np.ndarray:
        return agent.predict(obs, deterministic=True)

    def callback(a: Any, row: dict[str, Any]) -> bool:
        if not tracker.due(a.num_timesteps):
            return True
        return tracker.evaluate(a.num_timesteps, predict, _ours_obs_stats(env))

    agent.learn(budget, callback=callback)
    tracker.finish(agent.num_timesteps, predict, _ours_obs_stats(env))
    out = tracker.result(agent.num_timesteps)
    out["wall"] = time.perf_counter() - wall0
    return out


# --------------------------------------------------------------------------- SB3

def _sb3_kwargs(setting: Setting) -> dict[str, Any]:
    def lin(x: float) -> Callable[[float], float]:
        return lambda progress_remaining: x * progress_remaining

    return {k: lin(float(v[4:])) if isinstance(v, str) and v.startswith("lin_") else v
            for k, v in setting.zoo.items()}


def run_sb3(setting: Setting, seed: int, *, mode: str, budget: int) -> dict[str, Any]:
    """Same protocol as :func:`run_ours` with Stable-Baselines3."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    algo = PEERS.get(setting.algo, setting.algo)
    cls = {"a2c": sb3.A2C, "ppo": sb3.PPO, "dqn": sb3.DQN}[algo]
    venv = make_vec_env(setting.env, n_envs=setting.n_envs, seed=seed)
    if setting.normalize:
        venv = VecNormalize(venv, gamma=setting.zoo.get("gamma", 0.99))
    model = cls("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **_sb3_kwargs(setting))
    wall0 = time.perf_counter()
    if mode == "throughput":
        cpu0 = cpu_seconds()
        model.learn(budget)
        cpu = cpu_seconds() - cpu0
        return {"steps": model.num_timesteps, "cpu": cpu,
                "updates": int(getattr(model, "_n_updates", 0)),
                "wall": time.perf_counter() - wall0}
    tracker = _Tracker(setting, seed, stop_when_solved=setting.env != "Pendulum-v1")

    def predict(obs: np.ndarray) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    def obs_stats() -> tuple[np.ndarray, np.ndarray] | None:
        if isinstance(venv, VecNormalize):
            # SB3 annotates obs_rms as its dict-observation variant only
            return venv.obs_rms.mean, venv.obs_rms.var  # type: ignore[attr-defined]
        return None

    class _Eval(BaseCallback):  # type: ignore[misc]
        """Evaluates after an update, as autolearn's callbacks do: SB3 calls
        ``_on_rollout_start`` right after ``train()`` (``_on_step`` would see the policy of
        the previous update, mid-rollout)."""

        def _on_step(self) -> bool:
            return self.keep_going

        def _on_rollout_start(self) -> None:
            if tracker.due(self.num_timesteps):
                self.keep_going = tracker.evaluate(self.num_timesteps, predict, obs_stats())

    cb = _Eval()
    cb.keep_going = True
    model.learn(budget, callback=cb)
    tracker.finish(model.num_timesteps, predict, obs_stats())
    out = tracker.result(model.num_timesteps)
    out["wall"] = time.perf_counter() - wall0
    return out
