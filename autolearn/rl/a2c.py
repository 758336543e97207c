"""Synchronous advantage actor-critic, A2C (Mnih et al. 2016, the synchronous variant of A3C).

``n_envs`` environments step in lockstep for ``n_steps``; each state's advantage is the
bootstrapped n-step return minus the critic (or GAE(lambda) when ``gae_lambda < 1``), and
one gradient step is taken on

    L = -E[log pi(a_t|s_t) A_t] + c_v * E[(R_t - V(s_t))^2] - beta * H[pi(.|s_t)]

with RMSprop (the paper's optimiser, SB3's default) or Adam, and global grad-norm clipping.

Example:
    >>> from autolearn.rl import A2C, A2CConfig
    >>> agent = A2C("CartPole-v1", A2CConfig(n_envs=8), seed=0).learn(2_000)
    >>> agent.history[-1]["timesteps"]
    2000

References:
    Mnih, Badia, Mirza, Graves, Lillicrap, Harley, Silver, Kavukcuoglu. Asynchronous Methods
    for Deep Reinforcement Learning. ICML 2016.
    Schulman et al. High-Dimensional Continuous Control Using Generalized Advantage
    Estimation. ICLR 2016.
    Raffin, Kober, Stulp. Smooth Exploration for Robotic Reinforcement Learning. CoRL 2021
    (gSDE, ``use_sde``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from autolearn._rng import SeedLike
from autolearn.rl.common.agent import (
    CSVLogger,
    build_actor_critic,
    check,
    check_network,
    check_sde,
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
from autolearn.rl.common.buffers import PolicyBatch, flatten, normalize_advantages
from autolearn.rl.common.callbacks import Callback, record_update
from autolearn.rl.common.env import EnvLike, SpaceSpec
from autolearn.rl.common.extractors import FeaturesConfig
from autolearn.rl.common.finite import check_gradient
from autolearn.rl.common.npbackward import ActorCriticGrad, a2c_loss_grad
from autolearn.rl.common.optim import FlatAdam, FlatRMSprop
from autolearn.rl.common.returns import gae, nstep_returns
from autolearn.rl.common.rollout import (
    RolloutBuffer,
    RolloutState,
    collect_rollout,
    start_rollouts,
)
from autolearn.rl.common.schedules import Schedule, as_schedule

__all__ = ["A2C", "A2CConfig", "a2c_loss"]


@dataclass(frozen=True)
class A2CConfig(FeaturesConfig):
    """A2C hyperparameters (defaults: SB3's, from the paper's Atari settings).

    ``gae_lambda = 1`` gives the paper's n-step returns; lower values use GAE(lambda).

    ``use_sde``: generalized state-dependent exploration (gSDE; Raffin, Kober & Stulp 2021)
    for continuous actions: noise ``z(s) @ W`` from the policy's last hidden layer ``z(s)``
    and a per-env matrix ``W`` redrawn every ``sde_sample_freq`` steps (``-1``: once per
    rollout), with learned log-std per (feature, action) (``full_std``; else per feature),
    initialised at ``log_std_init``, mapped by ``exp`` or ``expln`` (``use_expln``).
    """

    n_envs: int = 1
    n_steps: int = 5
    gamma: float = 0.99
    gae_lambda: float = 1.0
    learning_rate: float | Schedule = 7e-4
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float | None = 0.5
    optimizer: str = "rmsprop"
    rms_alpha: float = 0.99
    eps: float = 1e-5
    normalize_advantage: bool = False
    hidden: tuple[int, ...] = (64, 64)
    hidden_vf: tuple[int, ...] | None = None
    shared: bool = False
    activation: str = "tanh"
    log_std_init: float = 0.0
    ortho_init: bool = True
    use_sde: bool = False
    sde_sample_freq: int = -1
    full_std: bool = True
    use_expln: bool = False
    vectorization: str = "sync"

    def __post_init__(self) -> None:
        check_network(self)
        check_sde(self)
        check("n_steps", self.n_steps, is_int(self.n_steps), "be an int >= 1")
        check("gamma", self.gamma, 0 < self.gamma <= 1, "be in (0, 1]")
        check("gae_lambda", self.gae_lambda, 0 <= self.gae_lambda <= 1, "be in [0, 1]")
        sched = as_schedule(self.learning_rate, "learning_rate")
        check("learning_rate", self.learning_rate, sched(0.0) > 0 and sched(1.0) >= 0,
              "be positive (a schedule may end at 0)")
        object.__setattr__(self, "learning_rate", sched)
        check("optimizer", self.optimizer, self.optimizer in ("rmsprop", "adam"),
              "be 'rmsprop' or 'adam'")
        check("rms_alpha", self.rms_alpha, 0 < self.rms_alpha < 1, "be in (0, 1)")
        check("eps", self.eps, self.eps > 0, "be > 0")
        check("max_grad_norm", self.max_grad_norm,
              self.max_grad_norm is None or self.max_grad_norm > 0, "be None or > 0")
        for name in ("ent_coef", "vf_coef"):
            check(name, getattr(self, name), getattr(self, name) >= 0, "be >= 0")


def a2c_loss(log_prob: torch.Tensor, entropy: torch.Tensor, values: torch.Tensor,
             batch: PolicyBatch, *, ent_coef: float, vf_coef: float, normalize_advantage: bool
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The actor-critic loss on ``(B,)`` tensors and its detached diagnostics."""
    adv = batch.advantages
    if normalize_advantage and adv.numel() > 1:
        adv = normalize_advantages(adv)
    policy_loss = -(adv * log_prob).mean()
    value_loss = F.mse_loss(values, batch.returns)
    entropy_mean = entropy.mean()
    loss = policy_loss + vf_coef * value_loss
    if ent_coef > 0:
        loss = loss - ent_coef * entropy_mean
    return loss, {"policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(),
                  "entropy": entropy_mean.detach()}


class A2C:
    """A2C agent; arguments as :class:`~autolearn.rl.PPO` (seeded, CSV log, device,
    save/load)."""

    algo = "a2c"

    def __init__(self, env: EnvLike | None, config: A2CConfig | None = None, *,
                 seed: SeedLike = None, log_path: str | os.PathLike[str] | None = None,
                 spec: SpaceSpec | None = None, device: str | torch.device = "cpu") -> None:
        self.config = cfg = config if config is not None else A2CConfig()
        self.generator, self._env_seed, self.rng = seed_streams(seed)
        self.env, self.spec = setup_env(env, cfg.n_envs, cfg.vectorization, spec, lean=True)
        self.device = resolve_device(device)
        self.policy = build_actor_critic(self.spec, cfg, self.generator, self.device)
        lr = as_schedule(cfg.learning_rate, "learning_rate")(0.0)
        if cfg.optimizer == "rmsprop":
            self.optimizer: FlatAdam | FlatRMSprop = FlatRMSprop(
                self.policy.parameters(), lr=lr, alpha=cfg.rms_alpha, eps=cfg.eps)
        else:
            self.optimizer = FlatAdam(self.policy.parameters(), lr=lr, eps=cfg.eps)
        # CPU MLP without gSDE: the loss gradient in numpy (a fraction of autograd's cost)
        self._np_grad = (ActorCriticGrad(self.policy, self.optimizer.trainable_params())
                         if ActorCriticGrad.supports(self.policy) else None)
        self.logger = CSVLogger(log_path) if log_path is not None else None
        self.history: list[dict[str, Any]] = []
        self.num_timesteps = 0
        self._state: RolloutState | None = None
        self._buffer: RolloutBuffer | None = None

    @learn_method
    def learn(self, total_timesteps: int, callback: Callback | list[Callback] | None = None
              ) -> A2C:
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
                                      sde_sample_freq=cfg.sde_sample_freq, rng=self.rng,
                                      owner="A2C")
            r, v, d, last = rollout.return_inputs()
            if cfg.gae_lambda == 1.0:
                returns = nstep_returns(r, d, last, cfg.gamma)
                advantages = returns - v
            else:
                advantages, returns = gae(r, v, d, last, cfg.gamma, cfg.gae_lambda)
            batch = flatten(rollout, torch.as_tensor(advantages), torch.as_tensor(returns))
            if self._np_grad is not None:
                adv = batch.advantages
                if cfg.normalize_advantage and adv.numel() > 1:
                    adv = normalize_advantages(adv)
                stats = self._np_grad(
                    batch.obs.numpy(), batch.actions.numpy(),
                    None if batch.masks is None else batch.masks.numpy(),
                    partial(a2c_loss_grad, advantages=adv.numpy(),
                            returns=batch.returns.numpy(), ent_coef=cfg.ent_coef,
                            vf_coef=cfg.vf_coef), self.optimizer.numpy_grad_views())
            else:
                log_prob, entropy, values = self.policy.evaluate(
                    batch.obs, batch.actions, batch.masks, entropy_grad=cfg.ent_coef > 0)
                loss, stats = a2c_loss(log_prob, entropy, values, batch,
                                       ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef,
                                       normalize_advantage=cfg.normalize_advantage)
                self.optimizer.zero_grad()
                loss.backward()
            if cfg.max_grad_norm is not None:
                grad_norm = float(self.optimizer.clip_grad_norm_(cfg.max_grad_norm))
            else:
                grad_norm = self.optimizer.grad_norm()
            check_gradient(grad_norm, "A2C", self.num_timesteps)
            self.optimizer.flat_step()
            self.num_timesteps += cfg.n_steps * env.num_envs
            ep_return, ep_length = mean_episode_stats(state.episodes)
            row: dict[str, Any] = {
                "timesteps": self.num_timesteps, "ep_return_mean": ep_return,
                "ep_length_mean": ep_length, "episodes": state.n_episodes,
                "learning_rate": lr,
                **{k: float(v) for k, v in stats.items()},
                "explained_variance": explained_variance(batch.old_values, batch.returns),
                "grad_norm": grad_norm,
            }
            keep_going = record_update(callback, self, row)
            if not keep_going:
                break
        return self

    set_env = set_env_method()
    _restart = drop_rollouts

    def predict(self, obs: Any, deterministic: bool = True, mask: Any = None) -> np.ndarray:
        """Actions for a batch of observations (or one observation)."""
        return predict(self.policy, self.spec, obs, deterministic=deterministic,
                       generator=self.generator, mask=mask)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write config JSON, spaces and policy/optimizer state dicts to one file."""
        save_checkpoint(path, algo=self.algo, config=self.config, spec=self.spec,
                        modules={"policy": self.policy, "optimizer": self.optimizer},
                        extra={"num_timesteps": self.num_timesteps})

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: EnvLike | None = None, *,
             seed: SeedLike = None, device: str | torch.device = "cpu") -> A2C:
        """An agent from :meth:`save` (on ``device``); pass ``env`` to continue training."""
        agent, _ = restore_agent(cls, path, env, config_cls=A2CConfig, seed=seed,
                                 device=device)
        return agent
