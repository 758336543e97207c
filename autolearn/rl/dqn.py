"""Deep Q-network, DQN (Mnih et al. 2015), with Double DQN targets and a dueling head.

``n_envs`` environments act epsilon-greedily on ``Q(s, .)`` (one batched forward per
vector step) and every transition goes into a replay ring buffer. Every ``train_freq``
vector steps, once ``learning_starts`` env steps have been taken, ``gradient_steps``
minibatches of ``batch_size`` are drawn and ``Q`` is fitted by Adam on the Huber loss

    L = E[huber(Q(s, a) - y)],   y = r + gamma * (1 - terminated) * Q'(s', a*)

where ``Q'`` is the target network and ``a* = argmax_a Q(s', a)`` with Double DQN (van
Hasselt et al. 2016, the default) or ``argmax_a Q'(s', a)`` with the original DQN. Time
limits are truncations, not terminations: the target bootstraps from the true final
observation. The target network is copied from ``Q`` every ``target_update_interval`` env
steps (``tau = 1``, the paper's hard update) or moved ``tau`` of the way (Polyak averaging).
Epsilon falls linearly from ``exploration_initial_eps`` to ``exploration_final_eps`` over
the first ``exploration_fraction`` of each ``learn`` call. Discrete actions only; action
masks (``info["action_mask"]``) restrict both acting and the target's max.

Example:
    >>> from autolearn.rl import DQN, DQNConfig
    >>> agent = DQN("CartPole-v1", DQNConfig(learning_starts=100), seed=0).learn(1_000)
    >>> agent.history[-1]["timesteps"]
    1000

References:
    Mnih et al. Human-level control through deep reinforcement learning. Nature 2015.
    van Hasselt, Guez, Silver. Deep Reinforcement Learning with Double Q-learning. AAAI 2016.
    Wang et al. Dueling Network Architectures for Deep Reinforcement Learning. ICML 2016.
    Pardo, Tavakoli, Levdik, Kormushev. Time Limits in Reinforcement Learning. ICML 2018.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from autolearn._files import atomic_write
from autolearn._rng import SeedLike
from autolearn.exceptions import ConfigError
from autolearn.rl.common.agent import (
    CSVLogger,
    check,
    check_network,
    is_int,
    learn_method,
    mean_episode_stats,
    predict_inputs,
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
from autolearn.rl.common.extractors import FeaturesConfig, build_extractor
from autolearn.rl.common.finite import check_env_values, check_gradient
from autolearn.rl.common.optim import FlatAdam
from autolearn.rl.common.qnet import QNetwork, masked_q
from autolearn.rl.common.replay import ReplayBuffer
from autolearn.rl.common.rollout import RolloutState, start_rollouts
from autolearn.rl.common.schedules import Schedule, as_schedule

__all__ = ["DQN", "DQNConfig", "dqn_targets", "linear_epsilon"]

#: What a refused transition leaves (see :mod:`~autolearn.rl.common.finite`).
_NOT_STORED = ("they were not added to the replay buffer, and the networks and the optimiser "
               "state are unchanged")


@dataclass(frozen=True)
class DQNConfig(FeaturesConfig):
    """DQN hyperparameters (defaults: SB3's, except ``double_q=True``).

    ``train_freq`` counts vector steps (``train_freq * n_envs`` transitions per phase);
    ``learning_starts`` and ``target_update_interval`` count env steps.
    """

    n_envs: int = 1
    learning_rate: float | Schedule = 1e-4
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 32
    gamma: float = 0.99
    tau: float = 1.0
    target_update_interval: int = 10_000
    train_freq: int = 4
    gradient_steps: int = 1
    exploration_fraction: float = 0.1
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    max_grad_norm: float | None = 10.0
    double_q: bool = True
    dueling: bool = False
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    vectorization: str = "sync"

    def __post_init__(self) -> None:
        check_network(self)
        for name in ("buffer_size", "batch_size", "target_update_interval", "train_freq",
                     "gradient_steps"):
            check(name, getattr(self, name), is_int(getattr(self, name)), "be an int >= 1")
        check("learning_starts", self.learning_starts, is_int(self.learning_starts, 0),
              "be an int >= 0")
        check("gamma", self.gamma, 0 <= self.gamma <= 1, "be in [0, 1]")
        check("tau", self.tau, 0 < self.tau <= 1, "be in (0, 1]")
        sched = as_schedule(self.learning_rate, "learning_rate")
        check("learning_rate", self.learning_rate, sched(0.0) > 0 and sched(1.0) >= 0,
              "be positive (a schedule may end at 0)")
        object.__setattr__(self, "learning_rate", sched)
        check("exploration_fraction", self.exploration_fraction,
              0 < self.exploration_fraction <= 1, "be in (0, 1]")
        for name in ("exploration_initial_eps", "exploration_final_eps"):
            check(name, getattr(self, name), 0 <= getattr(self, name) <= 1, "be in [0, 1]")
        check("max_grad_norm", self.max_grad_norm,
              self.max_grad_norm is None or self.max_grad_norm > 0, "be None or > 0")
        check("buffer_size", self.buffer_size, self.buffer_size >= self.n_envs,
              f"be >= n_envs={self.n_envs}")


def linear_epsilon(progress: float, *, initial: float, final: float, fraction: float) -> float:
    """Epsilon after ``progress`` of training: linear to ``final`` at ``fraction``, then flat."""
    return initial + (final - initial) * min(max(progress, 0.0) / fraction, 1.0)


def dqn_targets(rewards: torch.Tensor, terminated: torch.Tensor, next_q_target: torch.Tensor,
                gamma: float, next_q_online: torch.Tensor | None = None,
                next_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``(B,)`` targets ``y = r + gamma * (1 - terminated) * Q'(s', a*)``.

    ``next_q_target``/``next_q_online``: ``(B, K)`` values of ``s'`` under the target and
    online networks. With ``next_q_online`` (Double DQN) ``a*`` is the online argmax, else
    the target network's own max. ``next_mask`` ``(B, K)`` excludes disallowed actions.
    """
    if next_q_online is None:
        next_v = masked_q(next_q_target, next_mask).max(dim=-1).values
    else:
        a_star = masked_q(next_q_online, next_mask).argmax(dim=-1, keepdim=True)
        next_v = next_q_target.gather(-1, a_star).squeeze(-1)
    next_v = torch.where(terminated > 0, torch.zeros_like(next_v), next_v)
    return rewards + gamma * next_v


class DQN:
    """DQN agent; arguments as :class:`~autolearn.rl.PPO` (seeded, CSV log, save/load).

    The replay buffer is not saved: a loaded agent refills it (after ``learning_starts``).
    On an accelerator ``device`` the networks and gradient steps run there; the replay
    buffer stays in CPU memory and each sampled minibatch is moved over.
    """

    algo = "dqn"

    def __init__(self, env: EnvLike | None, config: DQNConfig | None = None, *,
                 seed: SeedLike = None, log_path: str | os.PathLike[str] | None = None,
                 spec: SpaceSpec | None = None, device: str | torch.device = "cpu") -> None:
        self.config = cfg = config if config is not None else DQNConfig()
        self.generator, self._env_seed, self.rng = seed_streams(seed)
        self.env, self.spec = setup_env(env, cfg.n_envs, cfg.vectorization, spec, lean=True)
        if self.spec.n_actions is None:
            kind = "continuous" if self.spec.action_nvec is None else "MultiDiscrete"
            raise ConfigError(f"DQN needs a Discrete action space, but the env's actions are "
                              f"{kind}; use PPO or A2C for those")
        self._n_actions = self.spec.n_actions
        self.device = resolve_device(device)
        features = build_extractor(cfg, self.spec, self.generator)  # drawn first
        self.q_net = QNetwork(self.spec.obs_dim, self._n_actions, hidden=cfg.hidden,
                              dueling=cfg.dueling, activation=cfg.activation,
                              generator=self.generator, features=features).to(self.device)
        self.q_target = copy.deepcopy(self.q_net).requires_grad_(False)
        self.optimizer = FlatAdam(self.q_net.parameters(),
                                  lr=as_schedule(cfg.learning_rate, "learning_rate")(0.0))
        self.logger = CSVLogger(log_path) if log_path is not None else None
        self.history: list[dict[str, Any]] = []
        self.num_timesteps = 0
        self.exploration_rate = cfg.exploration_initial_eps
        self._state: RolloutState | None = None
        self._buffer: ReplayBuffer | None = None

    @property
    def _obs_dtype(self) -> Any:
        """The replay buffer's observation dtype: uint8 for image observations."""
        return np.uint8 if self.spec.image else np.float32

    def _act(self, obs: np.ndarray, mask: np.ndarray | None, eps: float) -> np.ndarray:
        """Epsilon-greedy ``(N,)`` actions; the forward is skipped when every env explores.

        On the CPU the greedy forward runs in numpy on views of the weights (see
        :mod:`~autolearn.rl.common.npforward`): a tenth of the torch calls' cost at batch 1.
        """
        n, k = obs.shape[0], self._n_actions
        explore = np.asarray(self.rng.random(n) < eps)
        random_a: np.ndarray
        if mask is None:
            random_a = np.asarray(self.rng.integers(0, k, size=n))
        else:  # uniform over the allowed actions
            random_a = (self.rng.random((n, k)) * mask).argmax(axis=-1)
        if explore.all():
            return random_a
        if self.device.type == "cpu":
            q = self.q_net.q_numpy(obs)
        else:
            with torch.inference_mode():
                q = self.q_net(torch.as_tensor(obs, device=self.device)).cpu().numpy()
        if mask is not None:  # a row with no allowed action is left unmasked
            q = np.where(mask | ~mask.any(axis=-1, keepdims=True), q, -np.inf)
        return np.where(explore, random_a, q.argmax(axis=-1))  # type: ignore[no-any-return]

    def _train(self, gradient_steps: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``gradient_steps`` Adam steps; returns the summed losses and mean ``Q(s, a)``.

        No env step (so no target update) happens between them: the target network is
        constant, so all ``gradient_steps * batch_size`` transitions are drawn at once (the
        same numbers, in the same order, as one draw per step) and ``Q'(s')`` of all of them
        is a few large forward passes instead of one per step. With Double DQN the online
        argmax moves with every step, so ``Q(s')`` stays per step; without it the targets
        ``y`` are computed once.
        """
        cfg = self.config
        assert self._buffer is not None
        G, B = gradient_steps, batch_size
        b = self._buffer.sample(G * B, self.rng)
        if self.device.type != "cpu":
            b = type(b)._make(None if x is None else x.to(self.device) for x in b)
        with torch.no_grad():  # in chunks: 8,192 rows at once are slower (cache misses)
            next_q_target = torch.cat([self.q_target(x) for x in b.next_obs.split(1024)])
            y_all = None if cfg.double_q else dqn_targets(
                b.rewards, b.terminated, next_q_target, cfg.gamma, None, b.next_masks)
        actions = b.actions.unsqueeze(-1)
        loss_sum = torch.zeros((), device=self.device)
        q_sum = torch.zeros((), device=self.device)
        for g in range(G):
            rows = slice(g * B, (g + 1) * B)
            if y_all is None:  # one forward over s and s' (half the kernel calls of two)
                q_all = self.q_net(torch.cat([b.obs[rows], b.next_obs[rows]]))
                q = q_all[:B]
                with torch.no_grad():
                    y = dqn_targets(b.rewards[rows], b.terminated[rows], next_q_target[rows],
                                    cfg.gamma, q_all[B:].detach(),
                                    None if b.next_masks is None else b.next_masks[rows])
            else:
                q, y = self.q_net(b.obs[rows]), y_all[rows]
            q_a = q.gather(-1, actions[rows]).squeeze(-1)
            loss = F.smooth_l1_loss(q_a, y)
            self.optimizer.zero_grad()
            loss.backward()
            if cfg.max_grad_norm is not None:
                grad_norm = float(self.optimizer.clip_grad_norm_(cfg.max_grad_norm))
            else:
                grad_norm = self.optimizer.grad_norm()
            check_gradient(grad_norm, "DQN", self.num_timesteps)
            self.optimizer.flat_step()
            loss_sum += loss.detach()
            q_sum += q_a.detach().mean()
        return loss_sum, q_sum

    def _update_target(self) -> None:
        with torch.no_grad():
            online: list[torch.Tensor] = list(self.q_net.parameters())
            target: list[torch.Tensor] = list(self.q_target.parameters())
            if self.config.tau == 1.0:
                torch._foreach_copy_(target, online)
            else:
                torch._foreach_lerp_(target, online, self.config.tau)

    @learn_method
    def learn(self, total_timesteps: int, callback: Callback | list[Callback] | None = None
              ) -> DQN:
        """Train for ``total_timesteps`` env steps (rounded up to whole ``train_freq`` phases)."""
        cfg = self.config
        env = start_learning(total_timesteps, self.env)
        if self._state is None:
            self._state = start_rollouts(env, self._env_seed)
        n_mask = None if self._state.mask is None else int(self._state.mask.shape[-1])
        if self._buffer is None:
            self._buffer = ReplayBuffer(cfg.buffer_size, self.spec.obs_shape, n_mask=n_mask,
                                        obs_dtype=self._obs_dtype)
        elif (self._buffer.masks is None) != (n_mask is None):  # a loaded buffer
            raise ConfigError("the replay buffer (loaded by load_replay_buffer) and the env "
                              "disagree about action masks: load one saved from this env")
        state, buffer, n = self._state, self._buffer, env.num_envs
        obs_np = state.obs.numpy()  # the acting loop runs on numpy arrays
        image = self.spec.image
        check_env_values("DQN", _NOT_STORED, ("sub-env",),
                         observations=None if image else obs_np)
        mask_np = None if state.mask is None else state.mask.numpy()
        lr_at = as_schedule(cfg.learning_rate, "learning_rate")
        start = self.num_timesteps
        while self.num_timesteps - start < total_timesteps:
            for _ in range(cfg.train_freq):
                progress = (self.num_timesteps - start) / total_timesteps
                eps = self.exploration_rate = linear_epsilon(
                    progress, initial=cfg.exploration_initial_eps,
                    final=cfg.exploration_final_eps, fraction=cfg.exploration_fraction)
                actions = self._act(obs_np, mask_np, eps)
                obs, rewards, terminated, truncated, info = env.step(actions)
                next_obs = np.array(obs, np.float32)  # a copy: the env reuses its array
                # the replay buffer takes only finite transitions (the observations acted
                # on next, reset ones included, are checked here too)
                check_env_values("DQN", _NOT_STORED, ("sub-env",), rewards=rewards,
                                 observations=None if image else next_obs)
                next_mask = (None if mask_np is None
                             else np.array(info["action_mask"], bool))
                real_next, real_mask = next_obs, next_mask
                dones = np.logical_or(terminated, truncated)
                state.ep_return += rewards
                state.ep_length += 1
                if dones.any():  # the env already reset: the true s' is in final_obs
                    real_next = next_obs.copy()
                    real_mask = None if next_mask is None else next_mask.copy()
                    final_info = info.get("final_info", {})
                    for i in np.flatnonzero(dones):
                        real_next[i] = info["final_obs"][i]
                        if real_mask is not None:
                            real_mask[i] = (final_info["action_mask"][i]
                                            if "action_mask" in final_info else True)
                        state.episodes.append((float(state.ep_return[i]),
                                               int(state.ep_length[i])))
                        state.n_episodes += 1
                        state.ep_return[i], state.ep_length[i] = 0.0, 0
                    if not image:  # (uint8 pixels are never NaN)
                        check_env_values("DQN", _NOT_STORED, ("sub-env",),
                                         final_observations=real_next)
                buffer.add(obs_np, actions, rewards, real_next, terminated,
                           masks=mask_np, next_masks=real_mask)
                obs_np, mask_np = next_obs, next_mask
                self.num_timesteps += n
                if self.num_timesteps // cfg.target_update_interval != \
                        (self.num_timesteps - n) // cfg.target_update_interval:
                    self._update_target()
            state.obs = torch.from_numpy(obs_np)
            state.mask = None if mask_np is None else torch.from_numpy(mask_np)
            lr = lr_at((self.num_timesteps - start) / total_timesteps)
            set_learning_rate(self.optimizer, lr)
            loss_sum = q_sum = torch.zeros(())
            n_updates = 0
            if self.num_timesteps >= cfg.learning_starts:
                loss_sum, q_sum = self._train(cfg.gradient_steps, cfg.batch_size)
                n_updates = cfg.gradient_steps
            ep_return, ep_length = mean_episode_stats(state.episodes)
            row: dict[str, Any] = {
                "timesteps": self.num_timesteps, "ep_return_mean": ep_return,
                "ep_length_mean": ep_length, "episodes": state.n_episodes,
                "learning_rate": lr, "epsilon": eps,
                "loss": float(loss_sum) / n_updates if n_updates else float("nan"),
                "q_mean": float(q_sum) / n_updates if n_updates else float("nan"),
                "n_updates": n_updates, "buffer_size": len(buffer),
            }
            keep_going = record_update(callback, self, row)
            if not keep_going:
                break
        return self

    set_env = set_env_method()

    def _restart(self) -> None:
        """Drop the rollout state: the next ``learn`` resets the env."""
        self._state = None  # the replay buffer stays

    def predict(self, obs: Any, deterministic: bool = True, mask: Any = None) -> np.ndarray:
        """Greedy actions for a batch of observations (or one); epsilon-greedy with
        the current exploration rate when ``deterministic=False``."""
        x, m, single = predict_inputs(self.spec, obs, mask)
        out = self._act(x, m, 0.0 if deterministic else self.exploration_rate)
        return out[0] if single else out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write config JSON, spaces, both networks and the optimizer state to one file."""
        save_checkpoint(path, algo=self.algo, config=self.config, spec=self.spec,
                        modules={"q_net": self.q_net, "q_target": self.q_target,
                                 "optimizer": self.optimizer},
                        extra={"num_timesteps": self.num_timesteps,
                               "exploration_rate": self.exploration_rate})

    def save_replay_buffer(self, path: str | os.PathLike[str]) -> None:
        """Write the replay buffer's transitions (oldest first) to ``path``, a numpy
        ``.npz`` file (no pickles), so training can go on from a saved agent with its
        experience (SB3's ``save_replay_buffer``). Empty before the first ``learn``."""
        arrays: dict[str, Any] = {} if self._buffer is None else self._buffer.arrays()
        # through a file object: the name is kept as given (np.savez would add .npz)
        atomic_write(path, lambda fh: np.savez(fh, **arrays))

    def load_replay_buffer(self, path: str | os.PathLike[str]) -> None:
        """Fill the replay buffer from :meth:`save_replay_buffer`'s file (keeping the
        newest ``buffer_size`` transitions); the next ``learn`` samples from them and adds
        to them. Raises ``ConfigError`` if the observations or action masks do not match
        this agent's."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        if not arrays:
            return
        if self._buffer is None:
            n_mask = arrays["masks"].shape[1] if "masks" in arrays else None
            self._buffer = ReplayBuffer(self.config.buffer_size, self.spec.obs_shape,
                                        n_mask=n_mask, obs_dtype=self._obs_dtype)
        self._buffer.load_arrays(arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: EnvLike | None = None, *,
             seed: SeedLike = None, device: str | torch.device = "cpu") -> DQN:
        """An agent from :meth:`save` (on ``device``); pass ``env`` to continue training."""
        agent, extra = restore_agent(cls, path, env, config_cls=DQNConfig, seed=seed,
                                     device=device)
        agent.exploration_rate = float(extra.get("exploration_rate", agent.exploration_rate))
        return agent
