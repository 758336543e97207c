"""Plumbing every agent shares, as plain functions: configs to JSON, checkpoints, predict,
explained variance and a CSV diagnostics log. Agents call these; nothing is inherited.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import inspect
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import numpy as np
import torch
from gymnasium.vector import VectorEnv

from autolearn._files import atomic_write
from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError
from autolearn.rl.common.env import (
    EncodeObservation,
    EnvLike,
    SpaceSpec,
    encode_observations,
    make_vec_env,
    obs_encoding,
    space_info,
)
from autolearn.rl.common.extractors import (
    EXTRACTORS,
    FeaturesConfig,
    build_extractor,
    is_import_path,
)
from autolearn.rl.common.npbackward import mean1d
from autolearn.rl.common.policies import ActorCritic
from autolearn.rl.common.schedules import Constant, Linear, schedule_from_dict

__all__ = [
    "CSVLogger",
    "adam",
    "blas_threads",
    "blas_like_torch",
    "build_actor_critic",
    "check",
    "check_features",
    "check_network",
    "check_sde",
    "is_int",
    "learn_method",
    "seed_streams",
    "setup_env",
    "config_from_json",
    "config_to_json",
    "explained_variance",
    "load_checkpoint",
    "policy_input",
    "predict",
    "resolve_device",
    "save_checkpoint",
]

E = TypeVar("E")
C = TypeVar("C")


def config_to_json(config: Any) -> str:
    """A frozen dataclass config as JSON (schedules become tagged dicts)."""
    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        out[f.name] = v.to_dict() if isinstance(v, Constant | Linear) else v
    return json.dumps(out, sort_keys=True)


def config_from_json(cls: type[C], text: str) -> C:
    """Inverse of :func:`config_to_json` (lists become tuples again)."""
    raw = json.loads(text)
    kwargs = {}
    for k, v in raw.items():
        if isinstance(v, dict) and "type" in v:
            v = schedule_from_dict(v)
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[k] = v
    return cls(**kwargs)


def save_checkpoint(path: str | os.PathLike[str], *, algo: str, config: Any, spec: SpaceSpec,
                    modules: dict[str, Any], extra: dict[str, Any] | None = None
                    ) -> None:
    """One ``torch.save`` file: the algorithm name, config JSON, space spec, state dicts;
    written atomically (:func:`~autolearn._files.atomic_write`: a crash during the write
    leaves the previous file at ``path``)."""
    payload = {
        "algo": algo,
        "config": config_to_json(config),
        "spec": json.dumps(spec.to_dict()),
        "extra": json.dumps(extra or {}),
        "state": {name: m.state_dict() for name, m in modules.items()},
    }
    atomic_write(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: str | os.PathLike[str], algo: str, config_cls: type[C]
                    ) -> tuple[C, SpaceSpec, dict[str, Any], dict[str, Any]]:
    """``(config, spec, state dicts, extra)`` from a file written by :func:`save_checkpoint`."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch's unpickling errors are of many types
        raise ConfigError(f"{path} is not an autolearn agent file (written by an agent's "
                          f"save): torch.load failed with {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if not isinstance(payload, dict) or not {"algo", "config", "spec", "state"} <= set(payload):
        raise ConfigError(f"{path} is not an autolearn agent file (written by an agent's "
                          "save): it lacks the algo / config / spec / state entries")
    if payload.get("algo") != algo:
        raise ConfigError(f"{path} holds a {payload.get('algo')!r} agent, not {algo!r}")
    config = config_from_json(config_cls, payload["config"])
    spec = SpaceSpec.from_dict(json.loads(payload["spec"]))
    return config, spec, payload["state"], json.loads(payload["extra"])


def restore_agent(cls: Any, path: str | os.PathLike[str], env: Any, *, config_cls: type[Any],
                  seed: Any, device: Any) -> tuple[Any, dict[str, Any]]:
    """``(agent, extra)`` from a file written by :func:`save_checkpoint`: the agent is built
    by ``cls(env, config, seed=, spec=, device=)``, every saved module (its attribute of the
    same name) gets its state dict back, and ``num_timesteps`` is restored."""
    config, spec, state, extra = load_checkpoint(path, cls.algo, config_cls)
    agent = cls(env, config, seed=seed, spec=spec, device=device)
    for name, module_state in state.items():
        getattr(agent, name).load_state_dict(module_state)
    agent.num_timesteps = int(extra.get("num_timesteps", 0))
    return agent, extra


def predict_inputs(spec: SpaceSpec, obs: Any, mask: Any = None
                   ) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """``(x, mask, single)`` for a ``predict`` call: ``x`` the ``(B, *obs_shape)`` float32
    batch (:func:`policy_input`; one observation becomes a batch of one, ``single``),
    ``mask`` as ``(B, K)`` booleans (``K`` choices per action). A shape that fits neither
    raises ``ConfigError`` (instead of a matrix-size error deep in the network)."""
    x = policy_input(spec, obs)
    shape = spec.obs_shape
    single = x.shape == shape
    if single:
        x = x[None]
    elif x.shape[1:] != shape or x.ndim != len(shape) + 1:
        raise ConfigError(f"`obs` must be one observation of shape {shape} or a batch of "
                          f"shape (B, {', '.join(map(str, shape))}) for this agent, but got "
                          f"shape {x.shape}")
    if mask is None:
        return x, None, single
    k = spec.n_actions if spec.n_actions is not None else (
        None if spec.action_nvec is None else sum(spec.action_nvec))
    if k is None:
        raise ConfigError("`mask` needs discrete actions (Discrete, MultiDiscrete or "
                          "MultiBinary), but this agent's actions are continuous")
    m = np.asarray(mask, dtype=bool)
    if m.size != x.shape[0] * k:
        raise ConfigError(f"`mask` must hold {k} booleans per observation ({x.shape[0]} "
                          f"observation(s)), but got shape {m.shape}")
    return x, m.reshape(x.shape[0], k), single


def predict(policy: ActorCritic, spec: SpaceSpec, obs: Any, *, deterministic: bool,
            generator: torch.Generator, mask: Any = None,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> np.ndarray:
    """Actions for a batch ``(B, *obs_shape)`` (or one observation ``obs_shape``) as numpy
    (:func:`predict_inputs` checks the shapes).

    Continuous actions are clipped to the action bounds, as sent to the env.
    """
    device = policy.log_std.device
    xs, ms, single = predict_inputs(spec, obs, mask)
    x = torch.as_tensor(xs, device=device)
    m = None if ms is None else torch.as_tensor(ms, device=device)
    with torch.inference_mode():
        if transform is not None:
            x = transform(x)
        actions, _, _ = policy.act(x, m, generator, deterministic=deterministic)
    out = actions.cpu().numpy()
    if spec.low is not None:
        out = np.clip(out, np.asarray(spec.low, np.float32), np.asarray(spec.high, np.float32))
    elif spec.action_start is not None:  # MultiDiscrete indices -> the space's values
        out = out + np.asarray(spec.action_start, np.int64)
    return out[0] if single else out


def explained_variance(y_pred: torch.Tensor | np.ndarray, y_true: torch.Tensor | np.ndarray
                       ) -> float:
    """``1 - Var[y - y_pred] / Var[y]`` over ``(B,)`` tensors or numpy arrays: 1 is
    perfect, 0 no better than a constant (nan when ``y`` is constant)."""
    if isinstance(y_true, np.ndarray):  # by dot products: microseconds on a short rollout
        if y_true.shape[0] < 2:
            return float("nan")
        dy, de = y_true - mean1d(y_true), y_true - y_pred
        de = de - mean1d(de)
        var_y = float(np.dot(dy, dy))
        return float("nan") if var_y == 0 else 1.0 - float(np.dot(de, de)) / var_y
    var_y = float(y_true.var())
    return float("nan") if var_y == 0 else 1.0 - float((y_true - y_pred).var()) / var_y


class CSVLogger:
    """Appends one row of diagnostics per update to a CSV file (header from the first row)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fields: list[str] | None = None

    def write(self, row: dict[str, Any]) -> None:
        new = self._fields is None
        fields = self._fields = list(row) if self._fields is None else self._fields
        with open(self.path, "w" if new else "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


def mean_episode_stats(episodes: Iterable[tuple[float, int]]) -> tuple[float, float]:
    """Mean return and length of recent episodes (nan when none finished yet)."""
    eps = list(episodes)
    if not eps:
        return float("nan"), float("nan")
    return float(np.mean([r for r, _ in eps])), float(np.mean([n for _, n in eps]))


def check(name: str, value: Any, ok: bool, rule: str) -> None:
    """Raise ``ConfigError("`name` must <rule>, but got name=value")`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"`{name}` must {rule}, but got {name}={value!r}")


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """numpy's BLAS limited to ``n`` threads inside the block, its setting restored after."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


_F = TypeVar("_F", bound=Callable[..., Any])


def blas_like_torch(learn: _F) -> _F:
    """Decorator for ``learn``: numpy's BLAS gets ``torch.get_num_threads()`` threads.

    The CPU paths do their matrix products in numpy on tiny networks; OpenBLAS splits a
    product over 262,144 multiply-adds (a 256-row batch through a 64x64 layer) across
    all cores, and its second thread spins on a core the environment or another process
    needs: PPO on CartPole-v1 (256-row batches) cost 3.5x more CPU per env step with one
    other busy process on a 2-core machine. Tied to torch's setting, so a user who allows
    torch several threads allows numpy as many.
    """

    @functools.wraps(learn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with blas_threads(torch.get_num_threads()):
            return learn(*args, **kwargs)

    return cast(_F, wrapper)


def learn_method(learn: _F) -> _F:
    """Decorator for every agent's ``learn(total_timesteps, callback=None)``: numpy's BLAS
    limited as torch (:func:`blas_like_torch`), and two keywords of SB3's:

    * ``progress_bar=False``: ``True`` adds a :class:`~autolearn.rl.ProgressBar` for this
      call's steps to the callbacks (last, so it shows what the others logged) and closes
      it when ``learn`` returns or raises;
    * ``reset_num_timesteps=False``: ``True`` sets ``num_timesteps`` back to 0 and starts
      fresh episodes (the agent's ``_restart()``: envs reset with the agent's env seed)
      before training; networks, optimiser state, normalisation statistics and DQN's
      replay buffer are kept. ``False`` (the default here; SB3's is ``True``) continues the
      count and the episodes in progress.
    """
    inner = blas_like_torch(learn)

    @functools.wraps(learn)
    def wrapper(self: Any, total_timesteps: int, callback: Any = None, *,
                progress_bar: bool = False, reset_num_timesteps: bool = False) -> Any:
        for name, value in (("progress_bar", progress_bar),
                            ("reset_num_timesteps", reset_num_timesteps)):
            check(name, value, isinstance(value, bool), "be True or False")
        if reset_num_timesteps:
            self.num_timesteps = 0
            self._restart()
        if not progress_bar:
            return inner(self, total_timesteps, callback)
        from autolearn.rl.common.loggers import ProgressBar

        bar = ProgressBar(total_timesteps, start=self.num_timesteps)
        callbacks = [] if callback is None else [callback] if callable(callback) else list(
            callback)
        try:
            return inner(self, total_timesteps, [*callbacks, bar])
        finally:
            bar.close()

    sig = inspect.signature(learn)
    wrapper.__signature__ = sig.replace(parameters=[  # type: ignore[attr-defined]
        *sig.parameters.values(),
        inspect.Parameter("progress_bar", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation="bool"),
        inspect.Parameter("reset_num_timesteps", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation="bool")])
    return cast(_F, wrapper)


def start_learning(total_timesteps: Any, env: E | None) -> E:
    """Validate a ``learn()`` call: a positive step count and an env to train in."""
    check("total_timesteps", total_timesteps, is_int(total_timesteps), "be an int >= 1")
    if env is None:
        raise ConfigError("this agent has no env: pass `env` to load() to continue training")
    return env


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Apply a scheduled learning rate to every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def is_int(value: Any, low: int = 1) -> bool:
    return bool(isinstance(value, int | np.integer) and not isinstance(value, bool)
                and value >= low)


def seed_streams(seed: SeedLike) -> tuple[torch.Generator, int | None, np.random.Generator]:
    """``(torch generator, env reset seed, numpy generator)`` all derived from ``seed``.

    With ``seed=None`` everything is drawn from OS entropy (not reproducible).
    """
    rng = as_generator(seed)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    env_seed = int(rng.integers(2**31 - 1)) if seed is not None else None
    return gen, env_seed, rng


def setup_env(env: EnvLike | None, n_envs: int, vectorization: str,
              spec: SpaceSpec | None, *, lean: bool = False
              ) -> tuple[VectorEnv | None, SpaceSpec]:
    """The agent's vector env (``None`` for a loaded agent without one) and its spec;
    ``Discrete`` / ``MultiDiscrete`` / ``MultiBinary`` / ``Dict`` / ``Tuple`` observations
    arrive encoded
    (:class:`~autolearn.rl.common.env.EncodeObservation`, recorded in ``spec.encoding``);
    ``lean``: as :func:`~autolearn.rl.common.env.make_vec_env`'s."""
    if env is None:
        if spec is None:
            raise ConfigError("`env` is required (only a loaded agent may be built without one)")
        return None, spec
    if isinstance(env, VectorEnv) and env.num_envs != n_envs:  # the config would be wrong
        raise ConfigError(f"the vector env steps {env.num_envs} sub-envs, but the config's "
                          f"n_envs is {n_envs}: set n_envs={env.num_envs} (or pass an id or a "
                          "factory, and the agent builds n_envs copies)")
    venv = make_vec_env(env, n_envs, vectorization=vectorization, lean=lean)
    if obs_encoding(venv.single_observation_space) is not None:
        venv = EncodeObservation(venv)  # Discrete & co: one-hot / 0-1 float vectors
    found = space_info(venv)
    if spec is not None and found != spec:
        if not isinstance(env, VectorEnv):  # built here: not the caller's to keep
            venv.close()
        raise ConfigError(f"the env's spaces differ from the agent's "
                          f"({_differences(spec, found)}): pass an env with the spaces the "
                          "agent was built for")
    return venv, found


def _differences(agent: SpaceSpec, env: SpaceSpec) -> str:
    """What differs between two specs, e.g. ``"obs_shape: the agent's (4,), the env's (6,)"``."""
    return "; ".join(f"{f.name}: the agent's {getattr(agent, f.name)!r}, the env's "
                     f"{getattr(env, f.name)!r}" for f in dataclasses.fields(SpaceSpec)
                     if getattr(agent, f.name) != getattr(env, f.name))


def set_env_method(*, lean: bool = True) -> Callable[[Any, EnvLike], None]:
    """An agent's ``set_env`` (SB3's name), for ``set_env = set_env_method()`` in the class:
    :func:`attach_env` (``lean``: as :func:`~autolearn.rl.common.env.make_vec_env`'s)."""

    def set_env(self: Any, env: EnvLike) -> None:
        """Train in ``env`` from now on (SB3's ``set_env``; an id, a factory, an env or a
        vector env with this agent's spaces, else ``ConfigError``): the next ``learn``
        starts fresh episodes there. Networks, optimiser state and ``num_timesteps`` are
        kept."""
        attach_env(self, env, lean=lean)

    return set_env


def drop_rollouts(agent: Any) -> None:
    """The on-policy agents' ``_restart``: forget the rollout state and buffer, so the next
    ``learn`` resets the envs (with the agent's env seed) and starts a fresh rollout."""
    agent._state = None
    agent._buffer = None


def attach_env(agent: Any, env: EnvLike, *, lean: bool = True) -> None:
    """The body of an agent's ``set_env``: ``agent.env`` becomes ``env`` as a vector env of
    ``agent.config.n_envs`` copies (``ConfigError`` if its spaces are not the agent's), and
    the agent drops its rollout state (``agent._restart()``), so the next ``learn`` starts
    fresh episodes in it (reset with the agent's env seed)."""
    cfg = agent.config
    agent.env, _ = setup_env(env, cfg.n_envs, cfg.vectorization, agent.spec, lean=lean)
    agent._restart()


def policy_input(spec: SpaceSpec, obs: Any) -> np.ndarray:
    """``obs`` as the float32 array the networks take. For an agent whose env has encoded
    observations (``spec.encoding``), the env's raw ones get encoded here: integer (or
    bool) arrays, and dicts / tuples for a ``Dict`` / ``Tuple`` space; anything else is
    taken as already in the networks' form."""
    enc = spec.encoding
    if enc is not None and enc.kind in ("dict", "tuple"):
        if isinstance(obs, dict | tuple):
            return encode_observations(enc, obs)
        return np.asarray(obs, dtype=np.float32)
    x = np.asarray(obs)
    if enc is not None and x.dtype.kind in "iub":
        return encode_observations(enc, x)
    return np.asarray(x, dtype=np.float32)


def build_actor_critic(spec: SpaceSpec, config: Any, generator: torch.Generator,
                       device: torch.device | None = None) -> ActorCritic:
    """The MLP actor-critic described by ``config.hidden/shared/activation/log_std_init``
    (``hidden_vf``, ``use_sde/full_std/use_expln/ortho_init`` where the config has them),
    after the features extractor the config's ``features_extractor`` fields select (a CNN
    for image observations by default; see :mod:`~autolearn.rl.common.extractors`).

    Weights are drawn on the CPU from ``generator`` (so a seed gives the same network on
    every device), then moved to ``device``.
    """
    use_sde = bool(getattr(config, "use_sde", False))
    if use_sde and (spec.n_actions is not None or spec.action_nvec is not None):
        kind = (f"{spec.n_actions} discrete actions" if spec.n_actions is not None
                else f"MultiDiscrete actions {list(spec.action_nvec or ())}")
        raise ConfigError("`use_sde` (gSDE) needs a continuous (Box) action space, but got "
                          f"use_sde=True with {kind}: set use_sde=False")
    features = build_extractor(config, spec, generator)
    policy = ActorCritic(spec.obs_dim, spec.n_actions, spec.action_dim, hidden=config.hidden,
                         hidden_vf=getattr(config, "hidden_vf", None), shared=config.shared,
                         activation=config.activation,
                         log_std_init=config.log_std_init, use_sde=use_sde,
                         full_std=getattr(config, "full_std", True),
                         use_expln=getattr(config, "use_expln", False), generator=generator,
                         action_nvec=spec.action_nvec,
                         ortho_init=getattr(config, "ortho_init", True), features=features)
    return policy if device is None else policy.to(device)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The ``torch.device`` an agent runs on: ``"cpu"`` (the default), ``"cuda"``,
    ``"cuda:1"``, ``"mps"``, or ``"auto"`` (CUDA when available, else CPU).

    Raises:
        ConfigError: the name is not a device, or that device is not available here.
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"`device` must be 'cpu', 'cuda', 'cuda:<index>', 'mps' or 'auto', "
                          f"but got device={device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"`device` is {device!r}, but CUDA is not available to this "
                              "torch build (torch.cuda.is_available() is False); use "
                              "device='cpu' or device='auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"`device` is {device!r}, but only {torch.cuda.device_count()} "
                              "CUDA device(s) are visible")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(f"`device` is {device!r}, but MPS is not available here; use "
                              "device='cpu' or device='auto'")
    elif dev.type != "cpu":
        raise ConfigError(f"`device` must be 'cpu', 'cuda', 'cuda:<index>', 'mps' or 'auto', "
                          f"but got device={device!r}")
    return dev


def adam(params: Any, lr: float, eps: float = 1e-8) -> torch.optim.Optimizer:
    """Adam, fused into one kernel where this torch build supports it on CPU (torch >= 2.4)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, eps=eps, foreach=True)


def check_sde(config: Any) -> None:
    """Validate the gSDE fields ``use_sde``, ``sde_sample_freq``, ``full_std``, ``use_expln``
    (the action space is checked when the policy is built)."""
    for name in ("use_sde", "full_std", "use_expln"):
        check(name, getattr(config, name), isinstance(getattr(config, name), bool),
              "be True or False")
    freq = config.sde_sample_freq
    check("sde_sample_freq", freq, freq == -1 or is_int(freq),
          "be -1 (one noise matrix per rollout) or an int >= 1 (steps between draws)")


def check_network(config: Any) -> None:
    """Validate the network fields shared by every actor-critic config."""
    check("hidden", config.hidden, isinstance(config.hidden, tuple | list)
          and all(is_int(h) for h in config.hidden), "be a tuple of positive ints")
    check("activation", config.activation, config.activation in ("tanh", "relu"),
          "be 'tanh' or 'relu'")
    check("vectorization", config.vectorization, config.vectorization in ("sync", "async"),
          "be 'sync' or 'async'")
    check("n_envs", config.n_envs, is_int(config.n_envs), "be an int >= 1")
    if hasattr(config, "ortho_init"):
        check("ortho_init", config.ortho_init, isinstance(config.ortho_init, bool),
              "be True or False")
    if hasattr(config, "log_std_init"):  # configs with a Gaussian head
        check("log_std_init", config.log_std_init,
              isinstance(config.log_std_init, int | float) and not isinstance(
                  config.log_std_init, bool) and np.isfinite(config.log_std_init),
              "be a finite number")
    object.__setattr__(config, "hidden", tuple(config.hidden))
    vf = getattr(config, "hidden_vf", None)
    if vf is not None:  # actor-critic configs: the value network's own sizes
        check("hidden_vf", vf, isinstance(vf, tuple | list) and all(is_int(h) for h in vf),
              "be None (the policy's sizes, `hidden`) or a tuple of positive ints")
        object.__setattr__(config, "hidden_vf", tuple(vf))
        if config.shared and config.hidden_vf != config.hidden:
            raise ConfigError(f"`hidden_vf` must be None or equal `hidden` with shared=True (one "
                              f"trunk for both heads), but got hidden={config.hidden}, "
                              f"hidden_vf={config.hidden_vf}: set shared=False")
    if isinstance(config, FeaturesConfig):
        check_features(config)


def check_features(config: FeaturesConfig) -> None:
    """Validate (and normalise lists to tuples in) the features-extractor fields."""
    kind = config.features_extractor
    check("features_extractor", kind, isinstance(kind, str) and (
        kind in EXTRACTORS or is_import_path(kind)), "be 'auto', 'flatten', 'cnn' or "
          "'package.module:name' (a factory of your own torch module)")
    for name in ("cnn_channels", "cnn_kernels", "cnn_strides"):
        v = getattr(config, name)
        check(name, v, isinstance(v, tuple | list) and len(v) >= 1 and all(map(is_int, v)),
              "be a non-empty tuple of positive ints (one per convolution)")
        object.__setattr__(config, name, tuple(int(x) for x in v))
    if not len(config.cnn_channels) == len(config.cnn_kernels) == len(config.cnn_strides):
        raise ConfigError(f"`cnn_channels`, `cnn_kernels` and `cnn_strides` must have one entry "
                          f"per convolution (the same length), but got cnn_channels="
                          f"{list(config.cnn_channels)}, cnn_kernels={list(config.cnn_kernels)},"
                          f" cnn_strides={list(config.cnn_strides)}")
    check("features_dim", config.features_dim, is_int(config.features_dim), "be an int >= 1")
    check("normalize_images", config.normalize_images, isinstance(config.normalize_images, bool),
          "be True or False")
