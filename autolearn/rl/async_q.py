"""Asynchronous one-step and n-step Q-learning (Mnih et al. 2016, Algorithms 1 and S2).

``n_workers`` actor-learners (Hogwild-style processes, as :class:`~autolearn.rl.A3C`)
each own an env copy (``n_envs`` sub-envs), a seed, a local copy ``theta'`` of the
Q-network and an exploration rate. Each repeatedly: copies ``theta' <- theta``; acts
epsilon-greedily on ``Q(s, .; theta')`` for ``t_max = n_steps`` vector steps; computes
targets from the shared *target* network ``theta^-``:

* ``method="one_step"`` (Algorithm 1): ``y_t = r_t + gamma * max_a Q(s_{t+1}, a; theta^-)``
  for every step (``r_t`` alone at a terminal state);
* ``method="n_step"`` (Algorithm S2): ``R_t = r_t + gamma * R_{t+1}`` backwards from
  ``R_T = max_a Q(s_T, a; theta^-)`` (0 past a terminal state), so each state looks
  ahead to the end of the segment;

accumulates the gradient of ``sum_t (y_t - Q(s_t, a_t; theta'))^2`` over the segment
(averaged; ``loss="huber"`` for the Huber loss instead), clips its global norm, and
applies it to the shared ``theta`` with the paper's shared RMSProp, without locks.
``theta^- <- theta`` whenever the global step counter ``T`` crosses a multiple of
``target_update_interval``. Time limits are truncations: their target bootstraps from the
true final observation.

Exploration as in the paper: each learner draws its final epsilon from
``final_epsilons`` (0.1, 0.01, 0.5) with probabilities ``final_epsilon_probs``
(0.4, 0.3, 0.3) and anneals linearly from ``exploration_initial_eps`` to it over the first
``exploration_fraction`` of each ``learn`` call (counted in global steps ``T``).

Not bit-reproducible: the interleaving of asynchronous updates depends on OS scheduling,
so even with a fixed ``seed`` two runs differ (each learner's env, exploration and
sampling seeds are still derived from ``seed``). With ``n_workers=1`` it is reproducible.

Example:
    >>> from autolearn.rl import AsyncQ, AsyncQConfig
    >>> agent = AsyncQ("CartPole-v1", AsyncQConfig(n_workers=2), seed=0).learn(2_000)
    >>> agent.num_timesteps >= 2_000
    True

References:
    Mnih, Badia, Mirza, Graves, Lillicrap, Harley, Silver, Kavukcuoglu. Asynchronous Methods
    for Deep Reinforcement Learning. ICML 2016 (Algorithm 1; supplement, Algorithm S2).
    Watkins, Dayan. Q-learning. Machine Learning 1992.
    Peng, Williams. Incremental multi-step Q-learning. Machine Learning 1996.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium.vector import VectorEnv
from torch.nn import functional as F

from autolearn._rng import SeedLike
from autolearn.exceptions import ConfigError
from autolearn.rl.a3c import SharedRMSprop
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
    setup_env,
    start_learning,
)
from autolearn.rl.common.callbacks import Callback, record_update
from autolearn.rl.common.env import EnvLike, SpaceSpec
from autolearn.rl.common.extractors import FeaturesConfig, build_extractor
from autolearn.rl.common.finite import check_gradient, clipped_norm
from autolearn.rl.common.hogwild import check_worker_env, learn_async, set_worker_env_method
from autolearn.rl.common.qnet import QNetwork, masked_q
from autolearn.rl.common.returns import nstep_returns
from autolearn.rl.common.rollout import (
    RolloutBuffer,
    RolloutState,
    check_rollout,
    final_observations,
    start_rollouts,
    step_envs,
)
from autolearn.rl.common.schedules import Schedule, as_schedule
from autolearn.rl.dqn import linear_epsilon

__all__ = ["AsyncQ", "AsyncQConfig", "one_step_targets"]


@dataclass(frozen=True)
class AsyncQConfig(FeaturesConfig):
    """Asynchronous Q-learning hyperparameters (the paper's t_max 5, shared RMSProp,
    squared loss and per-learner final epsilons; learning rate and target interval picked
    on CartPole-v1, seed 0: 3e-3 and 500 solved it in 54k steps, 1e-3 did not in 100k).

    ``rows_per_message``: the forked learners send their diagnostics rows to the calling
    process in lists of this many updates (as :class:`~autolearn.rl.A3CConfig`'s), so they
    reach the log and the callbacks up to that many of their updates late; 1: at once."""

    method: str = "n_step"
    n_workers: int = 2
    n_envs: int = 1
    n_steps: int = 5
    gamma: float = 0.99
    learning_rate: float | Schedule = 3e-3
    target_update_interval: int = 500
    exploration_fraction: float = 0.2
    exploration_initial_eps: float = 1.0
    final_epsilons: tuple[float, ...] = (0.1, 0.01, 0.5)
    final_epsilon_probs: tuple[float, ...] = (0.4, 0.3, 0.3)
    loss: str = "mse"
    max_grad_norm: float | None = 10.0
    rms_alpha: float = 0.99
    eps: float = 1e-5
    hidden: tuple[int, ...] = (64, 64)
    dueling: bool = False
    activation: str = "relu"
    vectorization: str = "sync"
    rows_per_message: int = 10

    def __post_init__(self) -> None:
        check_network(self)
        check("method", self.method, self.method in ("one_step", "n_step"),
              "be 'one_step' or 'n_step'")
        check("loss", self.loss, self.loss in ("mse", "huber"), "be 'mse' or 'huber'")
        for name in ("n_workers", "n_steps", "target_update_interval", "rows_per_message"):
            check(name, getattr(self, name), is_int(getattr(self, name)), "be an int >= 1")
        check("gamma", self.gamma, 0 <= self.gamma <= 1, "be in [0, 1]")
        sched = as_schedule(self.learning_rate, "learning_rate")
        check("learning_rate", self.learning_rate, sched(0.0) > 0 and sched(1.0) >= 0,
              "be positive (a schedule may end at 0)")
        object.__setattr__(self, "learning_rate", sched)
        check("exploration_fraction", self.exploration_fraction,
              0 < self.exploration_fraction <= 1, "be in (0, 1]")
        check("exploration_initial_eps", self.exploration_initial_eps,
              0 <= self.exploration_initial_eps <= 1, "be in [0, 1]")
        eps, probs = tuple(self.final_epsilons), tuple(self.final_epsilon_probs)
        check("final_epsilons", self.final_epsilons,
              len(eps) >= 1 and all(0 <= e <= 1 for e in eps), "be values in [0, 1]")
        check("final_epsilon_probs", self.final_epsilon_probs,
              len(probs) == len(eps) and all(p >= 0 for p in probs)
              and abs(sum(probs) - 1) < 1e-6,
              f"be {len(eps)} non-negative probabilities summing to 1 (one per final epsilon)")
        object.__setattr__(self, "final_epsilons", eps)
        object.__setattr__(self, "final_epsilon_probs", probs)
        check("max_grad_norm", self.max_grad_norm,
              self.max_grad_norm is None or self.max_grad_norm > 0, "be None or > 0")
        check("rms_alpha", self.rms_alpha, 0 < self.rms_alpha < 1, "be in (0, 1)")
        check("eps", self.eps, self.eps > 0, "be > 0")


def one_step_targets(rewards: torch.Tensor, dones: torch.Tensor, next_q_target: torch.Tensor,
                     gamma: float) -> torch.Tensor:
    """``(T, N)`` Q-learning targets ``y_t = r_t + gamma * (1 - d_t) * max_a Q'(s_{t+1}, a)``.

    ``next_q_target``: ``(T, N)`` already-maximised target values of ``s_{t+1}``.
    """
    return rewards + gamma * (1.0 - dones) * next_q_target


class _QLearner:
    """One actor-learner: env copy, generators, local ``theta'``, epsilon and a segment buffer."""

    def __init__(self, agent: AsyncQ, env: VectorEnv, seed: np.random.Generator) -> None:
        self.cfg = cfg = agent.config
        self.env = env
        self.generator, env_seed, self.rng = seed_streams(seed)
        self.final_eps = float(self.rng.choice(cfg.final_epsilons, p=cfg.final_epsilon_probs))
        self.epsilon = cfg.exploration_initial_eps
        self.local = copy.deepcopy(agent.q_net)
        self.local_params: list[torch.Tensor] = list(self.local.parameters())
        self.target_params: list[torch.Tensor] = list(agent.q_target.parameters())
        self.shared_params = agent.optimizer.params
        self.q_target, self.optimizer = agent.q_target, agent.optimizer
        self.n_actions = int(agent.spec.n_actions)  # type: ignore[arg-type]
        self.buffer = RolloutBuffer(cfg.n_steps, env.num_envs, agent.spec)
        self.state: RolloutState = start_rollouts(env, env_seed)
        self.steps_per_update = cfg.n_steps * env.num_envs
        self.steps_done = 0  # this learner's env steps trained on (for error messages)

    def on_counted(self, before: int, after: int) -> None:
        every = self.cfg.target_update_interval
        if before // every != after // every:  # theta^- <- theta
            with torch.no_grad():
                torch._foreach_copy_(self.target_params, self.shared_params)

    def _act(self, obs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        n = obs.shape[0]
        explore = torch.from_numpy(self.rng.random(n) < self.epsilon)
        if mask is None:
            random_a = torch.from_numpy(self.rng.integers(0, self.n_actions, size=n))
        else:
            random_a = (torch.from_numpy(self.rng.random((n, self.n_actions))) * mask).argmax(-1)
        if bool(explore.all()):
            return random_a
        greedy = masked_q(self.local(obs), mask).argmax(dim=-1)
        return torch.where(explore, random_a, greedy)

    def _collect(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fill the buffer with ``n_steps`` vector steps; ``(rewards, dones, max Q'(s_T))``.

        Truncated steps get ``gamma * max_a Q'(final_obs, a)`` folded into their reward.
        """
        buf, state, gamma = self.buffer, self.state, self.cfg.gamma
        if state.mask is not None and buf.masks is None:
            buf.masks = torch.ones((buf.n_steps, buf.n_envs, state.mask.shape[-1]),
                                   dtype=torch.bool)
        with torch.inference_mode():
            for t in range(buf.n_steps):
                buf.obs[t] = state.obs
                if state.mask is not None:
                    buf.masks[t] = state.mask  # type: ignore[index]
                actions = self._act(state.obs, state.mask)
                buf.actions[t] = actions
                obs, rewards, dones, cut, info = step_envs(self.env, actions.numpy(), state)
                if cut.size:
                    final = torch.as_tensor(final_observations(info, cut, "AsyncQ"))
                    rewards = rewards.copy()
                    rewards[cut] += gamma * self.q_target(final).max(-1).values.numpy()
                buf.rewards[t] = rewards
                buf.dones[t] = dones
                state.obs = torch.tensor(np.asarray(obs, np.float32))
                if state.mask is not None:
                    state.mask = torch.as_tensor(np.asarray(info["action_mask"], bool))
            last = masked_q(self.q_target(state.obs), state.mask).max(-1).values
        check_rollout("AsyncQ", buf.obs, buf.rewards, state.obs)
        return torch.from_numpy(buf.rewards), torch.from_numpy(buf.dones), last.clone()

    def update(self, lr: float, progress: float) -> dict[str, Any]:
        """One ``t_max`` segment and one asynchronous shared update; its diagnostics."""
        cfg, buf = self.cfg, self.buffer
        self.epsilon = linear_epsilon(progress, initial=cfg.exploration_initial_eps,
                                      final=self.final_eps, fraction=cfg.exploration_fraction)
        with torch.no_grad():
            torch._foreach_copy_(self.local_params, self.shared_params)  # theta' <- theta
        rewards, dones, last = self._collect()
        if cfg.method == "n_step":
            targets = nstep_returns(rewards, dones, last, cfg.gamma)
        else:
            with torch.no_grad():
                q_next = self.q_target(buf.obs[1:].flatten(0, 1)).reshape(
                    buf.n_steps - 1, buf.n_envs, -1)
                if buf.masks is not None:
                    q_next = masked_q(q_next, buf.masks[1:])
                next_max = torch.cat([q_next.max(-1).values, last[None]])
            targets = one_step_targets(rewards, dones, next_max, cfg.gamma)
        q = self.local(buf.obs.flatten(0, 1))
        q_a = q.gather(-1, buf.actions.reshape(-1, 1)).squeeze(-1)
        loss_fn = F.mse_loss if cfg.loss == "mse" else F.smooth_l1_loss
        loss = loss_fn(q_a, targets.reshape(-1))
        for p in self.local_params:
            p.grad = None
        loss.backward()
        grad_norm = clipped_norm(self.local_params, cfg.max_grad_norm)
        check_gradient(grad_norm, "AsyncQ", self.steps_done)
        self.optimizer.step([p.grad for p in self.local_params], lr)  # type: ignore[misc]
        self.steps_done += self.steps_per_update
        ep_return, ep_length = mean_episode_stats(self.state.episodes)
        return {"ep_return_mean": ep_return, "ep_length_mean": ep_length,
                "episodes": self.state.n_episodes, "learning_rate": lr,
                "epsilon": self.epsilon, "loss": float(loss.detach()),
                "q_mean": float(q_a.detach().mean()),
                "grad_norm": grad_norm}


class AsyncQ:
    """Asynchronous Q-learning agent; arguments as :class:`~autolearn.rl.A3C`.

    ``env`` is learner 0's vector env (in the calling process); other learners fork and
    build their own copies from the same id or factory. Discrete actions only; action
    masks (``info["action_mask"]``) restrict acting and the targets' max. ``device`` must
    be the CPU (parameters are shared through CPU shared memory).
    """

    algo = "async_q"

    def __init__(self, env: EnvLike | None, config: AsyncQConfig | None = None, *,
                 seed: SeedLike = None, log_path: str | os.PathLike[str] | None = None,
                 spec: SpaceSpec | None = None, device: str | torch.device = "cpu") -> None:
        self.config = cfg = config if config is not None else AsyncQConfig()
        check_worker_env(env, cfg.n_workers, "AsyncQ")
        self.device = torch.device("cpu") if device == "auto" else resolve_device(device)
        if self.device.type != "cpu":
            raise ConfigError(f"`device` must be 'cpu' or 'auto' for AsyncQ (learners share "
                              f"parameters through CPU shared memory), but got device={device!r}")
        self.generator, _, self.rng = seed_streams(seed)
        self._env_fn = env
        self.env, self.spec = setup_env(env, cfg.n_envs, cfg.vectorization, spec, lean=True)
        if self.spec.n_actions is None:
            kind = "continuous" if self.spec.action_nvec is None else "MultiDiscrete"
            raise ConfigError(f"AsyncQ needs a Discrete action space, but the env's actions are "
                              f"{kind}; use A3C or PPO for those")
        features = build_extractor(cfg, self.spec, self.generator)  # drawn first
        self.q_net = QNetwork(self.spec.obs_dim, self.spec.n_actions, hidden=cfg.hidden,
                              dueling=cfg.dueling, activation=cfg.activation,
                              generator=self.generator, features=features)  # shared theta
        self.q_target = copy.deepcopy(self.q_net).requires_grad_(False)  # shared theta^-
        self.optimizer = SharedRMSprop(list(self.q_net.parameters()), alpha=cfg.rms_alpha,
                                       eps=cfg.eps)
        self.worker_seeds = self.rng.spawn(cfg.n_workers)
        self.logger = CSVLogger(log_path) if log_path is not None else None
        self.history: list[dict[str, Any]] = []
        self.num_timesteps = 0
        self._learner0: _QLearner | None = None

    @property
    def exploration_rate(self) -> float:
        """Learner 0's current epsilon."""
        return self.config.exploration_initial_eps if self._learner0 is None \
            else self._learner0.epsilon

    @property
    def _buffer(self) -> RolloutBuffer | None:
        return None if self._learner0 is None else self._learner0.buffer

    def _make_learner(self, env: VectorEnv, rank: int, seed: np.random.Generator) -> _QLearner:
        return _QLearner(self, env, seed)

    def _share(self) -> None:
        self.q_net.share_memory()
        self.q_target.share_memory()
        self.optimizer.share_memory()

    @learn_method
    def learn(self, total_timesteps: int, callback: Callback | list[Callback] | None = None
              ) -> AsyncQ:
        """Train for about ``total_timesteps`` env steps over all learners.

        As :meth:`A3C.learn <autolearn.rl.A3C.learn>`: overshoots by at most one segment
        per learner; rows arrive nearly in timestep order; the other learners pause while
        a callback runs, which sees the global step count in ``num_timesteps``.
        """
        env = start_learning(total_timesteps, self.env)
        if self._learner0 is None:
            self._learner0 = _QLearner(self, env, self.worker_seeds[0])
        # fresh streams for the forked learners at every call (they restart their envs)
        seeds = [self.worker_seeds[0], *(s.spawn(1)[0] for s in self.worker_seeds[1:])]

        def log(row: dict[str, Any], steps: int) -> bool:
            self.num_timesteps = steps
            keep_going = record_update(callback, self, row)
            return keep_going

        assert self._env_fn is not None  # else there is no env and start_learning raised
        keep_going, steps = learn_async(
            learner0=self._learner0, make_learner=self._make_learner, env_fn=self._env_fn,
            config=self.config, spec=self.spec, seeds=seeds, start=self.num_timesteps,
            total=total_timesteps, log=log, share=self._share, name="AsyncQ",
            pause_while_logging=callback is not None,
            rows_per_message=self.config.rows_per_message)
        if keep_going:  # every learner's steps, including rows that arrived out of order
            self.num_timesteps = steps
        return self

    set_env = set_worker_env_method("AsyncQ")

    def _restart(self) -> None:
        """Drop worker 0's rollout state: the next ``learn`` resets the envs."""
        self._learner0 = None

    def predict(self, obs: Any, deterministic: bool = True, mask: Any = None) -> np.ndarray:
        """Greedy actions of the shared network for a batch of observations (or one);
        epsilon-greedy with learner 0's current epsilon when ``deterministic=False``."""
        xs, ms, single = predict_inputs(self.spec, obs, mask)
        x, m = torch.as_tensor(xs), None if ms is None else torch.as_tensor(ms)
        with torch.inference_mode():
            actions = masked_q(self.q_net(x), m).argmax(dim=-1)
        if not deterministic:
            n, k = x.shape[0], int(self.spec.n_actions)  # type: ignore[arg-type]
            explore = torch.from_numpy(self.rng.random(n) < self.exploration_rate)
            u = torch.from_numpy(self.rng.random((n, k)))
            random_a = (u if m is None else u * m).argmax(dim=-1)
            actions = torch.where(explore, random_a, actions)
        out = actions.numpy()
        return out[0] if single else out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write config JSON, spaces, the shared and target networks and RMSProp statistics."""
        save_checkpoint(path, algo=self.algo, config=self.config, spec=self.spec,
                        modules={"q_net": self.q_net, "q_target": self.q_target,
                                 "optimizer": self.optimizer},
                        extra={"num_timesteps": self.num_timesteps})

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: EnvLike | None = None, *,
             seed: SeedLike = None, device: str | torch.device = "cpu") -> AsyncQ:
        """An agent from :meth:`save`; pass ``env`` to continue training."""
        agent, _ = restore_agent(cls, path, env, config_cls=AsyncQConfig, seed=seed,
                                 device=device)
        return agent
