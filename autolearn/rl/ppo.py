"""Proximal Policy Optimization with the clipped surrogate objective (Schulman et al. 2017).

Each iteration collects ``n_steps x n_envs`` transitions with the current policy pi_old,
computes GAE(lambda) advantages, then runs ``n_epochs`` passes of minibatch Adam steps on

    L = -E[min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t)] + c1 * L_VF - c2 * H[pi],
    r_t = pi(a_t|s_t) / pi_old(a_t|s_t).

Diagnostics per iteration (the paper's and the implementation studies'): ``approx_kl``
(the ``(r - 1) - log r`` estimator), ``clip_fraction`` (share of samples with
``|r - 1| > eps``), ``explained_variance`` of the value targets, ``entropy``, losses.

Example:
    >>> from autolearn.rl import PPO, PPOConfig, Linear
    >>> cfg = PPOConfig(n_envs=8, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98,
    ...                 gae_lambda=0.8, learning_rate=Linear(1e-3), clip_range=Linear(0.2))
    >>> agent = PPO("CartPole-v1", cfg, seed=0).learn(2_000)
    >>> agent.predict(agent.env.reset(seed=0)[0]).shape
    (8,)

References:
    Schulman, Wolski, Dhariwal, Radford, Klimov. Proximal Policy Optimization Algorithms.
    arXiv:1707.06347, 2017.
    Schulman, Moritz, Levine, Jordan, Abbeel. High-Dimensional Continuous Control Using
    Generalized Advantage Estimation. ICLR 2016.
    Huang et al. The 37 Implementation Details of Proximal Policy Optimization. ICLR Blog 2022.
    Raffin, Kober, Stulp. Smooth Exploration for Robotic Reinforcement Learning. CoRL 2021
    (gSDE, ``use_sde``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
from autolearn.rl.common.buffers import PolicyBatch, flatten, minibatches, normalize_advantages
from autolearn.rl.common.callbacks import Callback, record_update
from autolearn.rl.common.env import EnvLike, SpaceSpec
from autolearn.rl.common.extractors import FeaturesConfig
from autolearn.rl.common.finite import check_gradient
from autolearn.rl.common.npbackward import ActorCriticGrad, ppo_loss_grad
from autolearn.rl.common.optim import FlatAdam
from autolearn.rl.common.returns import gae
from autolearn.rl.common.rollout import (
    RolloutBuffer,
    RolloutState,
    collect_rollout,
    start_rollouts,
)
from autolearn.rl.common.schedules import Schedule, as_schedule

__all__ = ["PPO", "PPOConfig", "ppo_loss", "ratio_diagnostics"]


@dataclass(frozen=True)
class PPOConfig(FeaturesConfig):
    """PPO hyperparameters (defaults: SB3's, i.e. the paper's MuJoCo settings, except
    ``recompute_advantages``).

    ``use_sde``: generalized state-dependent exploration (gSDE; Raffin, Kober & Stulp 2021)
    for continuous actions: noise ``z(s) @ W`` from the policy's last hidden layer ``z(s)``
    and a per-env matrix ``W`` redrawn every ``sde_sample_freq`` steps (``-1``: once per
    rollout), with learned log-std per (feature, action) (``full_std``; else per feature),
    initialised at ``log_std_init``, mapped by ``exp`` or ``expln`` (``use_expln``).

    ``recompute_advantages`` (default ``True``): before every epoch after the first,
    recompute the GAE advantages and value targets with the current value network
    (Andrychowicz et al. 2021, "What Matters in On-Policy RL?"); the rewards keep the
    truncation bootstrap computed at collection, value clipping keeps the collection-time
    values. SB3's PPO computes them once per rollout (``False`` here). On by default since
    a two-stage pilot on the RL Zoo's settings (``benchmarks/rl/ppo_pilot.py``): Acrobot-v1
    median steps to solve 16,384 vs 20,480 on 80 pilot seeds (p < 0.001), CartPole-v1
    14,080 vs 18,176, Pendulum-v1 unchanged.
    """

    n_envs: int = 1
    n_steps: int = 2048
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    learning_rate: float | Schedule = 3e-4
    clip_range: float | Schedule = 0.2
    clip_range_vf: float | None = None
    normalize_advantage: bool = True
    recompute_advantages: bool = True
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float | None = 0.5
    target_kl: float | None = None
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
        for name in ("n_steps", "batch_size", "n_epochs"):
            check(name, getattr(self, name), is_int(getattr(self, name)), "be an int >= 1")
        check("gamma", self.gamma, 0 < self.gamma <= 1, "be in (0, 1]")
        check("gae_lambda", self.gae_lambda, 0 <= self.gae_lambda <= 1, "be in [0, 1]")
        for name in ("learning_rate", "clip_range"):
            sched = as_schedule(getattr(self, name), name)
            check(name, getattr(self, name), sched(0.0) > 0 and sched(1.0) >= 0,
                  "be positive (a schedule may end at 0)")
            object.__setattr__(self, name, sched)
        for name in ("clip_range_vf", "max_grad_norm", "target_kl"):
            v = getattr(self, name)
            check(name, v, v is None or v > 0, "be None or > 0")
        for name in ("ent_coef", "vf_coef"):
            check(name, getattr(self, name), getattr(self, name) >= 0, "be >= 0")
        for name in ("normalize_advantage", "recompute_advantages"):
            check(name, getattr(self, name), isinstance(getattr(self, name), bool),
                  "be True or False")


def ppo_loss(log_prob: torch.Tensor, entropy: torch.Tensor, values: torch.Tensor,
             batch: PolicyBatch, *, clip_range: float, clip_range_vf: float | None,
             ent_coef: float, vf_coef: float, normalize_advantage: bool,
             ratio_stats: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The clipped PPO loss on one minibatch and its diagnostics (detached tensors).

    ``log_prob``, ``entropy``, ``values``: ``(B,)`` from the current policy on ``batch``.
    ``ratio_stats=False`` returns the detached ``log_ratio`` instead of ``approx_kl`` and
    ``clip_fraction``, for :func:`ratio_diagnostics` to compute once per update.
    """
    adv = batch.advantages
    if normalize_advantage and adv.numel() > 1:
        adv = normalize_advantages(adv)
    log_ratio = log_prob - batch.old_log_probs
    ratio = log_ratio.exp()
    policy_loss = -torch.min(adv * ratio,
                             adv * ratio.clamp(1 - clip_range, 1 + clip_range)).mean()
    if clip_range_vf is None:
        value_loss = F.mse_loss(values, batch.returns)
    else:  # the baselines/PPO2 pessimistic value clipping
        clipped = batch.old_values + (values - batch.old_values).clamp(-clip_range_vf,
                                                                        clip_range_vf)
        value_loss = torch.max((batch.returns - values).pow(2),
                               (batch.returns - clipped).pow(2)).mean()
    entropy_mean = entropy.mean()
    loss = policy_loss + vf_coef * value_loss
    if ent_coef > 0:
        loss = loss - ent_coef * entropy_mean
    stats = {"policy_loss": policy_loss.detach(), "value_loss": value_loss.detach(),
             "entropy": entropy_mean.detach()}
    if not ratio_stats:
        stats["log_ratio"] = log_ratio.detach()
        return loss, stats
    kl, clip_fraction = ratio_diagnostics([log_ratio.detach()], clip_range)
    return loss, {**stats, "approx_kl": kl, "clip_fraction": clip_fraction}


def ratio_diagnostics(log_ratios: list[torch.Tensor], clip_range: float
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over minibatches of ``approx_kl = mean(r - 1 - log r)`` (Schulman's unbiased
    low-variance estimator) and of the fraction of ``|r - 1| > clip_range``, from the
    minibatches' ``(B,)`` log-ratios ``log r``."""
    with torch.no_grad():
        if len({x.shape[0] for x in log_ratios}) == 1:  # equal sizes: one pass over all
            log_ratio = torch.stack(log_ratios)
            ratio_m1 = log_ratio.exp() - 1
            return ((ratio_m1 - log_ratio).mean(-1).mean(),
                    (ratio_m1.abs() > clip_range).float().mean(-1).mean())
        kls, fracs = [], []
        for log_ratio in log_ratios:
            ratio_m1 = log_ratio.exp() - 1
            kls.append((ratio_m1 - log_ratio).mean())
            fracs.append((ratio_m1.abs() > clip_range).float().mean())
        return torch.stack(kls).mean(), torch.stack(fracs).mean()


def _mean(values: list[Any]) -> float:
    """Mean of per-minibatch diagnostics (tensors: one stack; floats from the numpy path)."""
    if not values:
        return float("nan")
    if isinstance(values[0], torch.Tensor):
        return float(torch.stack(values).mean())
    return float(np.mean(values))


class PPO:
    """PPO agent over a gymnasium env with discrete or diagonal-Gaussian actions.

    Args:
        env: gymnasium id, env factory or vector env (``None`` only via :meth:`load`).
        config: hyperparameters; ``config.n_envs`` copies are made unless ``env`` is
            already a vector env.
        seed: fixes network init, env resets, actions and minibatch order: the same seed
            gives identical actions and losses on a rerun (single-threaded torch).
        log_path: CSV file receiving one diagnostics row per iteration.
        device: where the network and the update tensors live: ``"cpu"`` (default),
            ``"cuda"``, ``"cuda:<index>"``, ``"mps"`` or ``"auto"`` (CUDA when available).
            Observations move there once per vector step; the seed's random streams stay
            on the CPU, so a seed draws the same initial network on every device.
    """

    algo = "ppo"

    def __init__(self, env: EnvLike | None, config: PPOConfig | None = None, *,
                 seed: SeedLike = None, log_path: str | os.PathLike[str] | None = None,
                 spec: SpaceSpec | None = None, device: str | torch.device = "cpu") -> None:
        self.config = config if config is not None else PPOConfig()
        self.generator, self._env_seed, self.rng = seed_streams(seed)
        self.env, self.spec = setup_env(env, self.config.n_envs, self.config.vectorization, spec,
                                        lean=True)
        self.device = resolve_device(device)
        self.policy = build_actor_critic(self.spec, self.config, self.generator, self.device)
        lr0 = as_schedule(self.config.learning_rate, "learning_rate")(0.0)
        self.optimizer = FlatAdam(self.policy.parameters(), lr=lr0, eps=1e-5)
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
              ) -> PPO:
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
            progress = (self.num_timesteps - start) / total_timesteps
            lr, clip = lr_at(progress), as_schedule(cfg.clip_range, "clip_range")(progress)
            set_learning_rate(self.optimizer, lr)
            rollout = collect_rollout(env, self.policy, buffer, state,
                                      gamma=cfg.gamma, generator=self.generator,
                                      sde_sample_freq=cfg.sde_sample_freq, rng=self.rng,
                                      owner="PPO")
            self.num_timesteps += cfg.n_steps * env.num_envs
            r, v, d, last = rollout.return_inputs()
            advantages, returns = gae(r, v, d, last, cfg.gamma, cfg.gae_lambda)
            recompute = (partial(self._recompute, r, d, state.obs)
                         if cfg.recompute_advantages else None)
            row = self._update(flatten(rollout, torch.as_tensor(advantages),
                                       torch.as_tensor(returns)), clip, recompute)
            ep_return, ep_length = mean_episode_stats(state.episodes)
            row = {"timesteps": self.num_timesteps, "ep_return_mean": ep_return,
                   "ep_length_mean": ep_length, "episodes": state.n_episodes,
                   "learning_rate": lr, "clip_range": clip, **row}
            keep_going = record_update(callback, self, row)
            if not keep_going:
                break
        return self

    @torch.no_grad()
    def _recompute(self, rewards: Any, dones: Any, last_obs: torch.Tensor,
                   batch: PolicyBatch) -> PolicyBatch:
        """``batch`` with GAE advantages and returns from the current value network
        (``rewards`` and ``dones`` as :meth:`RolloutBatch.return_inputs` gives them: numpy
        on the CPU, tensors on another device)."""
        cfg = self.config
        values: Any
        last: Any
        if self.device.type == "cpu":  # the acting path's numpy forward
            values = self.policy.numpy_forward(batch.obs.numpy())[1]
            last = self.policy.numpy_forward(last_obs.numpy())[1]
        else:
            values, last = self.policy.value(batch.obs), self.policy.value(last_obs)
        adv, ret = gae(rewards, values.reshape(rewards.shape), dones, last,
                       cfg.gamma, cfg.gae_lambda)
        return batch._replace(advantages=torch.as_tensor(adv, device=batch.obs.device).reshape(-1),
                              returns=torch.as_tensor(ret, device=batch.obs.device).reshape(-1))

    def _update(self, batch: PolicyBatch, clip: float,
                recompute: Callable[[PolicyBatch], PolicyBatch] | None = None
                ) -> dict[str, Any]:
        cfg = self.config
        stats: list[dict[str, Any]] = []
        stopped_early = False
        # one minibatch = the whole batch in every epoch: normalise its advantages once per
        # computation of them (here, and after each recomputation), not per minibatch
        whole = cfg.normalize_advantage and cfg.batch_size >= batch.obs.shape[0] > 1
        normalize = cfg.normalize_advantage and not whole

        def prepared(b: PolicyBatch) -> PolicyBatch:
            return b._replace(advantages=normalize_advantages(b.advantages)) if whole else b

        collected = batch  # explained variance: of the collection-time targets
        batch = prepared(batch)
        target_kl = cfg.target_kl
        early_stop = target_kl is not None  # needs approx_kl after every minibatch
        log_ratios: list[torch.Tensor] = []
        for epoch in range(cfg.n_epochs):
            if recompute is not None and epoch > 0:
                batch = prepared(recompute(batch))
            for mb in minibatches(batch, cfg.batch_size, self.generator,
                                  normalize_advantage=normalize):
                mb_stats: dict[str, Any]
                if self._np_grad is not None:  # the gradient lands in the flat buffer
                    mb_stats = self._np_grad(
                        mb.obs.numpy(), mb.actions.numpy(),
                        None if mb.masks is None else mb.masks.numpy(),
                        partial(ppo_loss_grad, old_log_prob=mb.old_log_probs.numpy(),
                                old_values=mb.old_values.numpy(),
                                advantages=mb.advantages.numpy(), returns=mb.returns.numpy(),
                                clip_range=clip, clip_range_vf=cfg.clip_range_vf,
                                ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef),
                        self.optimizer.numpy_grad_views())
                    mb_stats["log_ratio"] = torch.from_numpy(mb_stats["log_ratio"])
                    if early_stop:
                        mb_stats["approx_kl"], mb_stats["clip_fraction"] = ratio_diagnostics(
                            [mb_stats.pop("log_ratio")], clip)
                else:
                    log_prob, entropy, values = self.policy.evaluate(
                        mb.obs, mb.actions, mb.masks, entropy_grad=cfg.ent_coef > 0)
                    loss, mb_stats = ppo_loss(
                        log_prob, entropy, values, mb, clip_range=clip,
                        clip_range_vf=cfg.clip_range_vf, ent_coef=cfg.ent_coef,
                        vf_coef=cfg.vf_coef, normalize_advantage=False,
                        ratio_stats=early_stop)
                if target_kl is not None and float(mb_stats["approx_kl"]) > 1.5 * target_kl:
                    stopped_early = True
                    break
                if self._np_grad is None:
                    self.optimizer.zero_grad()
                    loss.backward()
                if cfg.max_grad_norm is not None:
                    grad_norm = float(self.optimizer.clip_grad_norm_(cfg.max_grad_norm))
                else:
                    grad_norm = self.optimizer.grad_norm()
                check_gradient(grad_norm, "PPO", self.num_timesteps)
                self.optimizer.flat_step()
                if not early_stop:
                    log_ratios.append(mb_stats.pop("log_ratio"))
                stats.append(mb_stats)
            if stopped_early:
                break
        keys = ("policy_loss", "value_loss", "entropy") + (
            () if log_ratios else ("approx_kl", "clip_fraction"))  # else: from the log-ratios
        row: dict[str, Any] = {k: _mean([s[k] for s in stats]) for k in keys}
        if log_ratios:
            kl, clip_fraction = ratio_diagnostics(log_ratios, clip)
            row["approx_kl"], row["clip_fraction"] = float(kl), float(clip_fraction)
        row["explained_variance"] = explained_variance(collected.old_values, collected.returns)
        row["n_updates"] = len(stats)
        row["stopped_early"] = stopped_early
        return row

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
             seed: SeedLike = None, device: str | torch.device = "cpu") -> PPO:
        """An agent from :meth:`save` (on ``device``); pass ``env`` to continue training."""
        agent, _ = restore_agent(cls, path, env, config_cls=PPOConfig, seed=seed,
                                 device=device)
        return agent
