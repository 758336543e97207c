"""REINFORCE with a baseline (Williams 1992).

The policy gradient ``E[sum_t grad log pi(a_t|s_t) (G_t - b(s_t))]`` with Monte Carlo
returns ``G_t``. Each update uses the steps of a ``n_steps x n_envs`` rollout whose episode
finished inside the rollout (an unfinished tail has no return yet and is dropped, which
keeps the estimate unbiased). The baseline ``b`` is one of

* ``"moving_average"``: an exponential moving average of past returns (the NAS
  controller's baseline, Zoph & Le 2017);
* ``"value"``: a learned critic ``V(s)`` fitted to ``G_t`` by regression;
* ``"none"``.

An entropy bonus ``beta * H[pi]`` is added to the objective (Williams & Peng 1991).
:func:`reinforce_loss` and :class:`MovingAverageBaseline` are reusable on their own, e.g. by
an RL controller that samples decision sequences from
:class:`~autolearn.rl.AutoregressivePolicy` and receives one reward per sequence.

Example:
    >>> from autolearn.rl import REINFORCE, REINFORCEConfig
    >>> agent = REINFORCE("CartPole-v1", REINFORCEConfig(n_envs=4), seed=0).learn(2_000)

References:
    Williams. Simple Statistical Gradient-Following Algorithms for Connectionist
    Reinforcement Learning. Machine Learning 8, 1992.
    Williams, Peng. Function Optimization Using Connectionist Reinforcement Learning
    Algorithms. Connection Science 3, 1991.
    Zoph, Le. Neural Architecture Search with Reinforcement Learning. ICLR 2017.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from autolearn._rng import SeedLike
from autolearn.rl.common.agent import (
    CSVLogger,
    adam,
    build_actor_critic,
    check,
    check_network,
    drop_rollouts,
    explained_variance,
    is_int,
    learn_method,
    mean_episode_stats,
    predict,
    resolve_device,
    restore_agent,
    save_checkpoint,
    seed_streams,
    set_env_method,
    set_learning_rate,
    setup_env,
    start_learning,
)
from autolearn.rl.common.callbacks import Callback, record_update
from autolearn.rl.common.env import EnvLike, SpaceSpec
from autolearn.rl.common.extractors import FeaturesConfig
from autolearn.rl.common.finite import check_gradient, clipped_norm
from autolearn.rl.common.returns import discounted_returns
from autolearn.rl.common.rollout import (
    RolloutBuffer,
    RolloutState,
    collect_rollout,
    start_rollouts,
)
from autolearn.rl.common.schedules import Schedule, as_schedule

__all__ = ["REINFORCE", "MovingAverageBaseline", "REINFORCEConfig", "reinforce_loss"]


@dataclass(frozen=True)
class REINFORCEConfig(FeaturesConfig):
    """REINFORCE hyperparameters."""

    n_envs: int = 1
    n_steps: int = 256
    gamma: float = 0.99
    learning_rate: float | Schedule = 1e-3
    baseline: str = "moving_average"
    baseline_decay: float = 0.9
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float | None = None
    normalize_advantage: bool = False
    hidden: tuple[int, ...] = (64, 64)
    hidden_vf: tuple[int, ...] | None = None
    shared: bool = False
    activation: str = "tanh"
    log_std_init: float = 0.0
    ortho_init: bool = True
    vectorization: str = "sync"

    def __post_init__(self) -> None:
        check_network(self)
        check("n_steps", self.n_steps, is_int(self.n_steps), "be an int >= 1")
        check("gamma", self.gamma, 0 < self.gamma <= 1, "be in (0, 1]")
        sched = as_schedule(self.learning_rate, "learning_rate")
        check("learning_rate", self.learning_rate, sched(0.0) > 0 and sched(1.0) >= 0,
              "be positive (a schedule may end at 0)")
        object.__setattr__(self, "learning_rate", sched)
        check("baseline", self.baseline, self.baseline in ("moving_average", "value", "none"),
              "be 'moving_average', 'value' or 'none'")
        check("baseline_decay", self.baseline_decay, 0 <= self.baseline_decay < 1,
              "be in [0, 1)")
        check("max_grad_norm", self.max_grad_norm,
              self.max_grad_norm is None or self.max_grad_norm > 0, "be None or > 0")
        for name in ("ent_coef", "vf_coef"):
            check(name, getattr(self, name), getattr(self, name) >= 0, "be >= 0")


class MovingAverageBaseline:
    """``b <- decay * b + (1 - decay) * mean(returns)``, starting at the first batch's mean."""

    def __init__(self, decay: float = 0.9) -> None:
        self.decay = decay
        self.value: float | None = None

    def update(self, returns: torch.Tensor) -> float:
        """Fold in a batch of returns; the baseline *before* the update is returned."""
        mean = float(returns.mean())
        before = mean if self.value is None else self.value
        self.value = mean if self.value is None else self.decay * self.value + (
            1 - self.decay) * mean
        return before


def reinforce_loss(log_prob: torch.Tensor, returns: torch.Tensor, baseline: torch.Tensor | float,
                   entropy: torch.Tensor, *, ent_coef: float, weights: torch.Tensor | None = None,
                   normalize_advantage: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``-mean_w[(G - b) log pi] - ent_coef * mean_w[H]`` over ``(B,)`` tensors.

    ``weights`` (0/1) selects which samples count. Returns ``(loss, advantages)``.
    """
    w = torch.ones_like(returns) if weights is None else weights
    n = w.sum().clamp(min=1.0)
    adv = (returns - baseline).detach()
    if normalize_advantage and float(w.sum()) > 1:
        mean = (adv * w).sum() / n
        std = (((adv - mean) ** 2 * w).sum() / n).sqrt()
        adv = (adv - mean) / (std + 1e-8)
    loss = -(w * adv * log_prob).sum() / n - ent_coef * (w * entropy).sum() / n
    return loss, adv


class REINFORCE:
    """REINFORCE agent; arguments as :class:`~autolearn.rl.PPO` (seeded, CSV log, device,
    save/load)."""

    algo = "reinforce"

    def __init__(self, env: EnvLike | None, config: REINFORCEConfig | None = None, *,
                 seed: SeedLike = None, log_path: str | os.PathLike[str] | None = None,
                 spec: SpaceSpec | None = None, device: str | torch.device = "cpu") -> None:
        self.config = cfg = config if config is not None else REINFORCEConfig()
        self.generator, self._env_seed, _ = seed_streams(seed)
        self.env, self.spec = setup_env(env, cfg.n_envs, cfg.vectorization, spec)
        self.device = resolve_device(device)
        self.policy = build_actor_critic(self.spec, cfg, self.generator, self.device)
        lr0 = as_schedule(cfg.learning_rate, "learning_rate")(0.0)
        self.optimizer = adam(self.policy.parameters(), lr=lr0)
        self.baseline = MovingAverageBaseline(cfg.baseline_decay)
        self.logger = CSVLogger(log_path) if log_path is not None else None
        self.history: list[dict[str, Any]] = []
        self.num_timesteps = 0
        self._state: RolloutState | None = None
        self._buffer: RolloutBuffer | None = None

    @learn_method
    def learn(self, total_timesteps: int, callback: Callback | list[Callback] | None = None
              ) -> REINFORCE:
        """Train for ``total_timesteps`` env steps (rounded up to whole rollouts)."""
        cfg = self.config
        env = start_learning(total_timesteps, self.env)
        if self._state is None or self._buffer is None:
            self._state = start_rollouts(env, self._env_seed, self.device)
            self._buffer = RolloutBuffer(cfg.n_steps, env.num_envs, self.spec,
                                         device=self.device)
        state, buffer = self._state, self._buffer
        lr_at = as_schedule(cfg.learning_rate, "learning_rate")
        start = self.num_timesteps
        while self.num_timesteps - start < total_timesteps:
            lr = lr_at((self.num_timesteps - start) / total_timesteps)
            set_learning_rate(self.optimizer, lr)
            rollout = collect_rollout(env, self.policy, buffer, state,
                                      gamma=cfg.gamma, generator=self.generator,
                                      bootstrap_truncated=cfg.baseline == "value",
                                      owner="REINFORCE")
            self.num_timesteps += cfg.n_steps * env.num_envs
            G, complete = discounted_returns(rollout.rewards, rollout.dones, cfg.gamma)
            G, w = G.reshape(-1), complete.reshape(-1)
            obs = rollout.obs.reshape(-1, *rollout.obs.shape[2:])
            actions = rollout.actions.reshape(-1, *rollout.actions.shape[2:])
            masks = None if rollout.masks is None else rollout.masks.reshape(
                -1, rollout.masks.shape[-1])
            log_prob, entropy, values = self.policy.evaluate(obs, actions, masks)
            if cfg.baseline == "value":
                b: torch.Tensor | float = values.detach()
            elif cfg.baseline == "moving_average" and float(w.sum()) > 0:
                b = self.baseline.update(G[w > 0])
            else:
                b = 0.0
            loss, adv = reinforce_loss(log_prob, G, b, entropy, ent_coef=cfg.ent_coef,
                                       weights=w, normalize_advantage=cfg.normalize_advantage)
            n = w.sum().clamp(min=1.0)
            value_loss = (w * (G - values).pow(2)).sum() / n
            if cfg.baseline == "value":
                loss = loss + cfg.vf_coef * value_loss
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            check_gradient(clipped_norm(self.policy.parameters(), cfg.max_grad_norm),
                           "REINFORCE", self.num_timesteps)
            self.optimizer.step()
            used = w > 0
            ep_return, ep_length = mean_episode_stats(state.episodes)
            row: dict[str, Any] = {
                "timesteps": self.num_timesteps, "ep_return_mean": ep_return,
                "ep_length_mean": ep_length, "episodes": state.n_episodes,
                "learning_rate": lr, "loss": float(loss.detach()),
                "value_loss": float(value_loss.detach()), "entropy": float(entropy.mean().detach()),
                "baseline": float(b) if isinstance(b, float) else float(b[used].mean()),
                "used_fraction": float(used.float().mean()),
                "explained_variance": explained_variance(values.detach()[used], G[used])
                if cfg.baseline == "value" and int(used.sum()) > 1 else float("nan"),
            }
            keep_going = record_update(callback, self, row)
            if not keep_going:
                break
        return self

    set_env = set_env_method(lean=False)
    _restart = drop_rollouts

    def predict(self, obs: Any, deterministic: bool = True, mask: Any = None) -> np.ndarray:
        """Actions for a batch of observations (or one observation)."""
        return predict(self.policy, self.spec, obs, deterministic=deterministic,
                       generator=self.generator, mask=mask)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write config JSON, spaces, policy/optimizer state and the baseline to one file."""
        save_checkpoint(path, algo=self.algo, config=self.config, spec=self.spec,
                        modules={"policy": self.policy, "optimizer": self.optimizer},
                        extra={"num_timesteps": self.num_timesteps,
                               "baseline": self.baseline.value})

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: EnvLike | None = None, *,
             seed: SeedLike = None, device: str | torch.device = "cpu") -> REINFORCE:
        """An agent from :meth:`save` (on ``device``); pass ``env`` to continue training."""
        agent, extra = restore_agent(cls, path, env, config_cls=REINFORCEConfig, seed=seed,
                                     device=device)
        agent.baseline.value = extra.get("baseline")
        return agent
