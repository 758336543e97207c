"""Asynchronous advantage actor-critic, A3C (Mnih et al. 2016), Hogwild-style on CPU cores.

``n_workers`` actor-learners run in parallel, each with its own copy of the environment
(``n_envs`` sub-envs), its own seed and a local copy ``theta'`` of the network. Each
repeatedly (Algorithm S3 of the paper): copies the shared parameters ``theta' <- theta``;
acts for ``t_max = n_steps`` steps; computes bootstrapped n-step returns ``R_t`` and the
gradient of

    L = -log pi(a_t|s_t; theta') (R_t - V(s_t)) + c_v (R_t - V(s_t))^2 - beta H[pi(.|s_t)]

clips its global norm, and applies it to the shared ``theta`` with the paper's *shared*
RMSProp (the running mean of squared gradients ``g`` is shared too), without locks.

Processes, not threads. On the shared 2-core machine, tiny nets (CartPole, 64x64, t_max
5, one env per worker), env steps per second over 6 s after a 1 s warm-up (load average
5-7 from other jobs; absolute numbers are low, the ratios are what matter)::

    workers     1      2      4
    threads   330    401    422     (torch releases the GIL inside ops, but for a 64-unit
    processes 307    605    601      net the Python around them dominates and serialises)

So workers are ``torch.multiprocessing`` processes (``fork``) whose parameters and RMSProp
statistics live in shared memory (``share_memory_()``). The calling process is worker 0
and the coordinator: between its own updates it reads the other workers' diagnostics
rows from a queue, logs them and runs the callbacks (which see the live shared network,
trained on ``num_timesteps`` steps: the other workers wait while callbacks run).
Workers are forked, so env factories may be closures; use ``n_workers=1`` where ``fork``
is unavailable (Windows).

Not bit-reproducible: the interleaving of asynchronous updates depends on OS scheduling,
so even with a fixed ``seed`` two runs differ (each worker's env and sampling seeds are
still derived from ``seed``). With ``n_workers=1`` it is reproducible.

Example:
    >>> from autolearn.rl import A3C, A3CConfig
    >>> agent = A3C("CartPole-v1", A3CConfig(n_workers=2), seed=0).learn(2_000)
    >>> agent.num_timesteps >= 2_000
    True

References:
    Mnih, Badia, Mirza, Graves, Lillicrap, Harley, Silver, Kavukcuoglu. Asynchronous Methods
    for Deep Reinforcement Learning. ICML 2016.
    Recht, Re, Wright, Niu. Hogwild!: A Lock-Free Approach to Parallelizing Stochastic
    Gradient Descent. NIPS 2011.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from gymnasium.vector import VectorEnv

from autolearn._rng import SeedLike
from autolearn.exceptions import ConfigError
from autolearn.rl.a2c import a2c_loss
from autolearn.rl.common.agent import (
    CSVLogger,
    build_actor_critic,
    check,
    check_network,
    check_sde,
    explained_variance,
    is_int,
    learn_method,
    mean_episode_stats,
    predict,
    predict_inputs,
    resolve_device,
    restore_agent,
    save_checkpoint,
    seed_streams,
    setup_env,
    start_learning,
)
from autolearn.rl.common.buffers import flatten
from autolearn.rl.common.callbacks import Callback, record_update
from autolearn.rl.common.env import EnvLike, SharedNormalizer, SpaceSpec
from autolearn.rl.common.extractors import FeaturesConfig
from autolearn.rl.common.finite import check_gradient, clipped_norm
from autolearn.rl.common.hogwild import check_worker_env, learn_async, set_worker_env_method
from autolearn.rl.common.npbackward import ActorCriticGrad, a2c_loss_grad
from autolearn.rl.common.optim import flat_views, flatten_parameters
from autolearn.rl.common.returns import nstep_returns
from autolearn.rl.common.rollout import RolloutBuffer, collect_rollout, start_rollouts
from autolearn.rl.common.schedules import Schedule, as_schedule

__all__ = ["A3C", "A3CConfig", "SharedRMSprop"]


@dataclass(frozen=True)
class A3CConfig(FeaturesConfig):
    """A3C hyperparameters (the paper's: t_max 5, shared RMSProp alpha 0.99, beta 0.01).

    ``normalize_obs`` / ``normalize_reward``: running observation / reward normalisation
    (as :class:`~autolearn.rl.NormalizeObservation` / :class:`~autolearn.rl.NormalizeReward`,
    clip 10, reward statistics of the ``gamma``-discounted return) with one set of
    statistics in shared memory that every worker updates and uses
    (:class:`~autolearn.rl.common.SharedNormalizer`); saved with the agent, and
    :meth:`A3C.predict` normalises the observations it is given with them.

    ``use_sde`` / ``sde_sample_freq`` / ``full_std`` / ``use_expln``: gSDE exploration for
    Box actions, as :class:`~autolearn.rl.A2CConfig`'s (each worker draws its own noise
    matrices; the learned log-std is shared with the other parameters).

    ``rows_per_message``: the forked workers send their diagnostics rows to the calling
    process (which logs them and runs the callbacks) in lists of this many updates, so
    their rows reach the log and the callbacks up to that many of their updates late (all
    of them by the end of :meth:`A3C.learn`); worker 0's rows are logged at once. One
    message per update cost 4-5% of the CPU per env step on Acrobot-v1 with 2 workers x 4
    envs; 1 sends every row at once. What is learned does not depend on it.
    """

    n_workers: int = 2
    n_envs: int = 1
    n_steps: int = 5
    gamma: float = 0.99
    learning_rate: float | Schedule = 7e-4
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float | None = 0.5
    rms_alpha: float = 0.99
    eps: float = 1e-5
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
    normalize_obs: bool = False
    normalize_reward: bool = False
    rows_per_message: int = 10

    def __post_init__(self) -> None:
        check_network(self)
        check_sde(self)
        for name in ("n_workers", "rows_per_message"):
            check(name, getattr(self, name), is_int(getattr(self, name)), "be an int >= 1")
        for name in ("normalize_obs", "normalize_reward"):
            check(name, getattr(self, name), isinstance(getattr(self, name), bool),
                  "be True or False")
        check("n_steps", self.n_steps, is_int(self.n_steps), "be an int >= 1")
        check("gamma", self.gamma, 0 < self.gamma <= 1, "be in (0, 1]")
        sched = as_schedule(self.learning_rate, "learning_rate")
        check("learning_rate", self.learning_rate, sched(0.0) > 0 and sched(1.0) >= 0,
              "be positive (a schedule may end at 0)")
        object.__setattr__(self, "learning_rate", sched)
        check("rms_alpha", self.rms_alpha, 0 < self.rms_alpha < 1, "be in (0, 1)")
        check("eps", self.eps, self.eps > 0, "be > 0")
        check("max_grad_norm", self.max_grad_norm,
              self.max_grad_norm is None or self.max_grad_norm > 0, "be None or > 0")
        for name in ("ent_coef", "vf_coef"):
            check(name, getattr(self, name), getattr(self, name) >= 0, "be >= 0")


class SharedRMSprop:
    """The paper's shared RMSProp: ``g <- alpha g + (1 - alpha) grad^2``,
    ``theta <- theta - lr grad / sqrt(g + eps)``, with ``g`` in shared memory.

    The parameters become views into one flat tensor (``flat``; as the flat optimisers of
    :mod:`~autolearn.rl.common.optim`) and ``g`` is one flat tensor too, so a worker
    copies ``theta`` and applies a flat gradient (:meth:`step_flat`) with a handful of
    numpy operations, whatever the number of layers. Build it before anything takes numpy
    views of the parameters, and call :meth:`share_memory` (after the module's) before
    forking.
    """

    def __init__(self, params: list[torch.Tensor], *, alpha: float, eps: float) -> None:
        self.params, self.alpha, self.eps = params, alpha, eps
        self.flat = flatten_parameters(params)
        self._square_avg = torch.zeros_like(self.flat)
        self.square_avg = flat_views(self._square_avg, params)

    def share_memory(self) -> None:
        self.flat.share_memory_()  # in place: the parameters' views follow
        self._square_avg.share_memory_()

    def step(self, grads: list[torch.Tensor], lr: float) -> None:
        """Apply local per-parameter ``grads`` to the shared parameters (Hogwild: no lock)."""
        with torch.no_grad():
            torch._foreach_mul_(self.square_avg, self.alpha)
            torch._foreach_addcmul_(self.square_avg, grads, grads, value=1 - self.alpha)
            denom = torch._foreach_add(torch._foreach_sqrt(self.square_avg), self.eps)
            torch._foreach_addcdiv_(self.params, grads, denom, value=-lr)

    def step_flat(self, grad: np.ndarray, lr: float) -> None:
        """:meth:`step` with the gradient as one flat array in the parameters' order."""
        sq, theta = self._square_avg.numpy(), self.flat.numpy()
        tmp = np.multiply(grad, grad)
        tmp *= 1 - self.alpha
        sq *= self.alpha
        sq += tmp
        np.sqrt(sq, out=tmp)
        tmp += self.eps
        np.divide(grad, tmp, out=tmp)
        tmp *= lr
        theta -= tmp

    def state_dict(self) -> dict[str, Any]:
        return {"square_avg": [g.clone() for g in self.square_avg]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for g, saved in zip(self.square_avg, state["square_avg"], strict=True):
            g.copy_(saved)


class _ActorLearner:
    """One worker: its env copy, random streams, local network theta' and rollout buffer.

    It acts in numpy on views of theta' (sampling from its own numpy generator) and
    computes the loss gradient in numpy into one flat local buffer
    (:class:`~autolearn.rl.common.npbackward.ActorCriticGrad`), which the global-norm clip
    scales and the shared RMSProp applies in a few flat numpy operations.
    """

    def __init__(self, agent: A3C, env: VectorEnv, seed: np.random.Generator) -> None:
        self.cfg, self.env = agent.config, env
        self.generator, env_seed, self.rng = seed_streams(seed)
        self.local = build_actor_critic(agent.spec, self.cfg, self.generator)
        self.local_params: list[torch.Tensor] = [
            p for p in self.local.parameters() if p.requires_grad]
        self._local_flat = flatten_parameters(self.local_params)  # theta', as the shared
        self._local_np = self._local_flat.numpy()
        self._np_grad: ActorCriticGrad | None = None
        if ActorCriticGrad.supports(self.local):
            self._np_grad = ActorCriticGrad(self.local, self.local_params)
            self._flat_grad = np.zeros(sum(p.numel() for p in self.local_params),
                                       self.local_params[0].detach().numpy().dtype)
            sizes = np.cumsum([0, *(p.numel() for p in self.local_params)])
            self._grad_arrays = [self._flat_grad[a:b].reshape(p.shape) for a, b, p in
                                 zip(sizes[:-1], sizes[1:], self.local_params, strict=True)]
        self.optimizer = agent.optimizer
        self.buffer = RolloutBuffer(self.cfg.n_steps, env.num_envs, agent.spec)
        self.state = start_rollouts(env, env_seed)
        self._episodes_key: tuple[int, int | None] = (0, None)
        self._episodes_mean = (float("nan"), float("nan"))
        self.steps_per_update = self.cfg.n_steps * env.num_envs
        self.steps_done = 0  # this worker's env steps trained on (for error messages)

    def update(self, lr: float, progress: float = 0.0) -> dict[str, Any]:
        """One t_max segment and one asynchronous shared update; its diagnostics."""
        cfg = self.cfg
        np.copyto(self._local_np, self.optimizer.flat.numpy())  # theta' <- theta
        rollout = collect_rollout(self.env, self.local, self.buffer, self.state,
                                  gamma=cfg.gamma, generator=self.generator, rng=self.rng,
                                  sde_sample_freq=cfg.sde_sample_freq, owner="A3C")
        r, v, d, last = rollout.return_inputs()
        returns = nstep_returns(r, d, last, cfg.gamma).reshape(-1)
        values = v.reshape(-1)
        if self._np_grad is not None:  # numpy views of the rollout, (T * N, ...)
            masks = rollout.masks
            stats: dict[str, Any] = self._np_grad(
                rollout.obs.numpy().reshape(returns.shape[0], -1),
                rollout.actions.numpy().reshape(returns.shape[0], *rollout.actions.shape[2:]),
                None if masks is None else masks.numpy().reshape(returns.shape[0], -1),
                partial(a2c_loss_grad, advantages=returns - values, returns=returns,
                        ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef), self._grad_arrays)
            grad_norm = math.sqrt(float(np.dot(self._flat_grad, self._flat_grad)))
            check_gradient(grad_norm, "A3C", self.steps_done)
            if cfg.max_grad_norm is not None:  # as clip_grad_norm_, on the flat gradient
                coef = cfg.max_grad_norm / (grad_norm + 1e-6)
                if coef < 1.0:
                    self._flat_grad *= coef
            self.optimizer.step_flat(self._flat_grad, lr)
        else:
            batch = flatten(rollout, torch.from_numpy(returns - values).view_as(rollout.values),
                            torch.from_numpy(returns).view_as(rollout.values))
            log_prob, entropy, values_t = self.local.evaluate(
                batch.obs, batch.actions, batch.masks, entropy_grad=cfg.ent_coef > 0)
            loss, stats = a2c_loss(log_prob, entropy, values_t, batch, ent_coef=cfg.ent_coef,
                                   vf_coef=cfg.vf_coef, normalize_advantage=False)
            for p in self.local_params:
                p.grad = None
            loss.backward()
            grad_norm = clipped_norm(self.local_params, cfg.max_grad_norm)
            check_gradient(grad_norm, "A3C", self.steps_done)
            self.optimizer.step([p.grad for p in self.local_params], lr)  # type: ignore[misc]
        self.steps_done += self.steps_per_update
        ep_return, ep_length = self._episode_stats()
        return {"ep_return_mean": ep_return, "ep_length_mean": ep_length,
                "episodes": self.state.n_episodes, "learning_rate": lr,
                **{k: float(v) for k, v in stats.items()},
                "explained_variance": explained_variance(values, returns),
                "grad_norm": grad_norm}

    def _episode_stats(self) -> tuple[float, float]:
        """:func:`mean_episode_stats` of the recent episodes, recomputed only when one ended."""
        episodes = self.state.episodes
        key = (len(episodes), id(episodes[-1]) if episodes else None)
        if key != self._episodes_key:
            self._episodes_key, self._episodes_mean = key, mean_episode_stats(episodes)
        return self._episodes_mean


class A3C:
    """A3C agent; arguments as :class:`~autolearn.rl.A2C` (seeded envs, CSV log, save/load).

    ``env`` is worker 0's vector env (in the calling process); other workers fork and
    build their own copies from the same id or factory. Hogwild updates go through shared
    CPU memory, so ``device`` must resolve to the CPU (``"cpu"`` or ``"auto"``, which
    picks the CPU for A3C).
    """

    algo = "a3c"

    def __init__(self, env: EnvLike | None, config: A3CConfig | None = None, *,
                 seed: SeedLike = None, log_path: str | os.PathLike[str] | None = None,
                 spec: SpaceSpec | None = None, device: str | torch.device = "cpu") -> None:
        self.config = cfg = config if config is not None else A3CConfig()
        check_worker_env(env, cfg.n_workers, "A3C")
        self.device = torch.device("cpu") if device == "auto" else resolve_device(device)
        if self.device.type != "cpu":
            raise ConfigError(f"`device` must be 'cpu' or 'auto' for A3C (workers share "
                              f"parameters through CPU shared memory), but got device={device!r}")
        self.generator, _, self.rng = seed_streams(seed)
        self._env_fn = env
        self.env, self.spec = setup_env(env, cfg.n_envs, cfg.vectorization, spec, lean=True)
        # statistics shared by every worker (built before they fork), saved with the agent
        self.normalizer = (SharedNormalizer(self.spec.obs_shape, obs=cfg.normalize_obs,
                                            reward=cfg.normalize_reward, gamma=cfg.gamma)
                           if cfg.normalize_obs or cfg.normalize_reward else None)
        if self.env is not None and self.normalizer is not None:
            self.env = self.normalizer.wrap(self.env)
        self.policy = build_actor_critic(self.spec, cfg, self.generator)  # shared theta
        self.optimizer = SharedRMSprop([p for p in self.policy.parameters() if p.requires_grad],
                                       alpha=cfg.rms_alpha, eps=cfg.eps)
        self.worker_seeds = self.rng.spawn(cfg.n_workers)
        self.logger = CSVLogger(log_path) if log_path is not None else None
        self.history: list[dict[str, Any]] = []
        self.num_timesteps = 0
        self._worker0: _ActorLearner | None = None

    @property
    def _buffer(self) -> RolloutBuffer | None:
        return None if self._worker0 is None else self._worker0.buffer

    @learn_method
    def learn(self, total_timesteps: int, callback: Callback | list[Callback] | None = None
              ) -> A3C:
        """Train for about ``total_timesteps`` env steps over all workers.

        Workers stop at the first update that reaches the budget, so it is overshot by at
        most one segment per worker. Rows are logged (and callbacks run) as they reach the
        calling process, nearly but not exactly in timestep order. With a ``callback``,
        the other workers pause before their next update while the calling process logs
        and runs it (they finish the update in progress), so an evaluating callback sees
        the shared network as trained on ``num_timesteps`` steps: the global step count
        when the row is logged (every worker's steps applied so far, at least the row's
        own ``timesteps``), where it stays when a callback stops training.
        """
        env = start_learning(total_timesteps, self.env)
        if self._worker0 is None:
            self._worker0 = _ActorLearner(self, env, self.worker_seeds[0])
        # fresh streams for the forked workers at every call (they restart their envs)
        seeds = [self.worker_seeds[0], *(s.spawn(1)[0] for s in self.worker_seeds[1:])]
        assert self._env_fn is not None  # else there is no env and start_learning raised
        keep_going, steps = learn_async(
            learner0=self._worker0, make_learner=self._make_learner, env_fn=self._env_fn,
            config=self.config, spec=self.spec, seeds=seeds, start=self.num_timesteps,
            total=total_timesteps, log=lambda row, steps: self._log(row, steps, callback),
            share=self._share, name="A3C", pause_while_logging=callback is not None,
            rows_per_message=self.config.rows_per_message)
        if keep_going:  # every worker's steps, including rows that arrived out of order
            self.num_timesteps = steps
        return self

    def _make_learner(self, env: VectorEnv, rank: int, seed: np.random.Generator
                      ) -> _ActorLearner:
        if self.normalizer is not None:
            env = self.normalizer.wrap(env)
        return _ActorLearner(self, env, seed)

    def _share(self) -> None:
        self.policy.share_memory()
        self.optimizer.share_memory()

    def _log(self, row: dict[str, Any], steps: int,
             callback: Callback | list[Callback] | None) -> bool:
        self.num_timesteps = steps
        keep_going = record_update(callback, self, row)
        return keep_going

    set_env = set_worker_env_method("A3C")

    def _restart(self) -> None:
        """Drop worker 0's rollout state: the next ``learn`` resets the envs."""
        self._worker0 = None

    def predict(self, obs: Any, deterministic: bool = True, mask: Any = None) -> np.ndarray:
        """Actions of the shared network for a batch of observations (or one observation);
        with ``normalize_obs``, raw observations, normalised here with the training
        statistics (not updated)."""
        x, m, single = predict_inputs(self.spec, obs, mask)
        if self.normalizer is not None:
            x = self.normalizer.normalize(x)
        out = predict(self.policy, self.spec, x, deterministic=deterministic,
                      generator=self.generator, mask=m)
        return out[0] if single else out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write config JSON, spaces, the shared network, RMSProp statistics and the
        normalisation statistics (if any) to one file."""
        modules: dict[str, Any] = {"policy": self.policy, "optimizer": self.optimizer}
        if self.normalizer is not None:
            modules["normalizer"] = self.normalizer
        save_checkpoint(path, algo=self.algo, config=self.config, spec=self.spec,
                        modules=modules, extra={"num_timesteps": self.num_timesteps})

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: EnvLike | None = None, *,
             seed: SeedLike = None, device: str | torch.device = "cpu") -> A3C:
        """An agent from :meth:`save` (on ``device``); pass ``env`` to continue training."""
        agent, _ = restore_agent(cls, path, env, config_cls=A3CConfig, seed=seed,
                                 device=device)
        return agent
