"""Run configurations: an algorithm's config dataclass built from files and ``key=value`` text.

What ``autolearn rl train`` uses, and usable from Python. A *run* is an algorithm, an
environment id, a training budget, an observation/reward normalisation choice and the
algorithm's config dataclass (:class:`~autolearn.rl.PPOConfig`, ...). Its values come
from, in increasing priority:

1. the dataclass defaults;
2. the tuned default file shipped for ``(algo, env)``, if there is one
   (``autolearn/rl/hyperparams/<algo>/<env>.yaml``; see :func:`list_default_files`);
3. the user's file (``.yaml``/``.yml`` or ``.toml``): one flat mapping of keys to values;
4. ``key=value`` overrides (the CLI's ``--set``).

Keys are the config dataclass's field names plus four run keys: ``algo`` and ``env``
(what the file is for), ``n_timesteps`` (the budget) and ``normalize`` (``none``,
``obs``, ``reward`` or ``both``; ``true`` means ``both``, ``false`` ``none``). Values are
converted by the field's type, so ``"1e-3"``, ``"64,64"`` or ``"true"`` work from the
command line as well as in a file:

* ints and floats: ``5``, ``1e5`` (an int field takes a float with no fractional part),
  ``100_000``;
* booleans: ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``;
* optional values: ``none`` or ``null``;
* tuples (``hidden``): ``[64, 64]`` in a file, ``64,64`` on the command line, ``[]`` for
  none;
* schedules (``learning_rate``, ``clip_range``): a number for a constant, or the RL Zoo's
  ``lin_<start>`` for a linear decay from ``start`` to 0 over the ``learn`` call, or a
  mapping ``{type: linear, start: 1e-3, end: 1e-5}``.

An unknown key or a value that does not fit raises :class:`~autolearn.exceptions.ConfigError`
naming the key (for an unknown key, with the valid ones).

Example:
    >>> from autolearn.rl.configs import build_agent, resolve
    >>> spec = resolve("ppo", "CartPole-v1", overrides=["n_epochs=5", "learning_rate=lin_3e-4"])
    >>> spec.config.n_envs, spec.config.n_epochs, spec.config.learning_rate
    (8, 5, Linear(start=0.0003, end=0.0))
    >>> agent = build_agent(spec, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import math
import os
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from autolearn.exceptions import ConfigError
from autolearn.rl.common.schedules import Constant, Linear, schedule_from_dict

__all__ = [
    "ALGORITHMS",
    "HYPERPARAMS_DIR",
    "NORMALIZE_CHOICES",
    "RUN_KEYS",
    "RunSpec",
    "algorithm_classes",
    "build_agent",
    "checkpoint_algo",
    "default_file",
    "dump_yaml",
    "list_default_files",
    "make_eval_env",
    "make_train_env",
    "normalization_state",
    "parse_overrides",
    "read_config_file",
    "resolve",
]

#: Algorithm name -> (module, agent class, config class).
ALGORITHMS: dict[str, tuple[str, str, str]] = {
    "ppo": ("autolearn.rl.ppo", "PPO", "PPOConfig"),
    "a2c": ("autolearn.rl.a2c", "A2C", "A2CConfig"),
    "a3c": ("autolearn.rl.a3c", "A3C", "A3CConfig"),
    "dqn": ("autolearn.rl.dqn", "DQN", "DQNConfig"),
    "reinforce": ("autolearn.rl.reinforce", "REINFORCE", "REINFORCEConfig"),
    "async_q": ("autolearn.rl.async_q", "AsyncQ", "AsyncQConfig"),
}
#: Keys of a run that are not fields of the algorithm's config.
RUN_KEYS = ("algo", "env", "n_timesteps", "normalize")
NORMALIZE_CHOICES = ("none", "obs", "reward", "both")
#: Where the tuned default files live: ``<algo>/<env id>.yaml``.
HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"



@dataclasses.dataclass(frozen=True)
class RunSpec:
    """A resolved run: what to train, for how long, and with which config.

    Attributes:
        algo: algorithm name, a key of :data:`ALGORITHMS`.
        env: gymnasium environment id.
        config: the algorithm's config dataclass instance.
        n_timesteps: training budget in env steps (``None`` when no source gave one).
        normalize: ``"none"``, ``"obs"``, ``"reward"`` or ``"both"``: which running
            normalisation wrappers (:class:`~autolearn.rl.NormalizeObservation`,
            :class:`~autolearn.rl.NormalizeReward`) go around the training env.
        sources: the files and overrides the values came from, lowest priority first.
    """

    algo: str
    env: str
    config: Any
    n_timesteps: int | None = None
    normalize: str = "none"
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, numbers, strings) that :func:`resolve` reads back unchanged."""
        out: dict[str, Any] = {"algo": self.algo, "env": self.env,
                               "n_timesteps": self.n_timesteps, "normalize": self.normalize}
        fields = dataclasses.fields(self.config)
        # the agent's own fields first, the features-extractor ones (inherited, so first in
        # the dataclass) after them
        from autolearn.rl.common.extractors import FeaturesConfig

        shared = {f.name for f in dataclasses.fields(FeaturesConfig)}
        for f in sorted(fields, key=lambda f: f.name in shared):
            out[f.name] = _plain(getattr(self.config, f.name))
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Constant):
        return value.value
    if isinstance(value, Linear):
        return f"lin_{value.start!r}" if value.end == 0 else value.to_dict()
    if isinstance(value, tuple):
        return list(value)
    return value


def algorithm_classes(algo: str) -> tuple[Any, Any]:
    """``(agent class, config class)`` of ``algo`` (imports torch)."""
    if algo not in ALGORITHMS:
        raise ConfigError(f"`algo` must be one of {', '.join(ALGORITHMS)}, but got algo={algo!r}")
    module, agent, config = ALGORITHMS[algo]
    mod = importlib.import_module(module)
    return getattr(mod, agent), getattr(mod, config)


# ---- files ----------------------------------------------------------------------------------
def default_file(algo: str, env: str) -> Path | None:
    """The tuned default file shipped for ``(algo, env)``, or ``None``."""
    path = HYPERPARAMS_DIR / algo / f"{env}.yaml"
    return path if path.is_file() else None


def list_default_files(algo: str | None = None, env: str | None = None
                       ) -> list[tuple[str, str, Path]]:
    """``(algo, env, path)`` of every shipped default file, optionally filtered."""
    out = []
    for path in sorted(HYPERPARAMS_DIR.glob("*/*.yaml")):
        a, e = path.parent.name, path.stem
        if (algo is None or a == algo) and (env is None or e == env):
            out.append((a, e, path))
    return out


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The flat mapping in a ``.yaml``/``.yml`` or ``.toml`` file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise ConfigError(f"config file {str(path)!r} must end in .yaml, .yml or .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start}): save it as UTF-8 YAML or TOML") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    if suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid YAML: "
                              f"{str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of keys to values, "
                          f"but holds a {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


def dump_yaml(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as block-style YAML (keys in the given order), after ``# header`` lines."""
    import yaml

    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    body = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=None)
    return "\n".join(lines) + ("\n" if lines else "") + body


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` as a dict (later items win); the value stays text."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"an override must look like key=value, but got {item!r}")
        out[key.strip()] = value.strip()
    return out


# ---- values ---------------------------------------------------------------------------------
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("none", "null", "~")


def _bad(name: str, value: Any, what: str) -> ConfigError:
    return ConfigError(f"`{name}` must be {what}, but got {name}={value!r}")


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number: Any = value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise _bad(name, value, "an int") from None
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return int(number)
    raise _bad(name, value, "an int")


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace("_", ""))
        except ValueError:
            pass
    raise _bad(name, value, "a number")


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(name, value, "a boolean (true/false)")


def _to_schedule(name: str, value: Any) -> Constant | Linear | None:
    """A schedule from ``lin_<start>`` or a ``{type: ...}`` mapping; ``None`` if neither."""
    if isinstance(value, Mapping):
        d = dict(value)
        if d.get("type") == "linear":
            d.setdefault("end", 0.0)
        try:
            return schedule_from_dict(d)
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(name, value, "a number, lin_<start> or {type: linear, start: ..., "
                       "end: ...}") from exc
    if isinstance(value, str) and value.strip().lower().startswith("lin_"):
        return Linear(_to_float(name, value.strip()[4:]))
    return None


def _convert(name: str, value: Any, hint: Any) -> Any:
    """``value`` (from a file or the command line) as the type ``hint`` of field ``name``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (
                isinstance(value, str) and value.strip().lower() in _NONE)):
            return None
        if Linear in args or Constant in args:
            sched = _to_schedule(name, value)
            if sched is not None:
                return sched
        rest = [a for a in args if a not in (type(None), Linear, Constant)]
        return _convert(name, value, rest[0]) if len(rest) == 1 else value
    if hint is bool:
        return _to_bool(name, value)
    if hint is int:
        return _to_int(name, value)
    if hint is float:
        return _to_float(name, value)
    if hint is str:
        if isinstance(value, str):
            return value.strip()
        raise _bad(name, value, "a string")
    if origin is tuple:
        if isinstance(value, str):
            text = value.strip().strip("[]()").strip()
            value = [] if not text else [part for part in text.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise _bad(name, value, "a list such as [64, 64] (or 64,64 on the command line)")
        item = args[0] if args else Any
        if item is Any:
            return tuple(value)
        return tuple(_convert(name, v, item) for v in value)
    return value


def _run_value(name: str, value: Any) -> Any:
    if name in ("algo", "env"):
        return _convert(name, value, str)
    if name == "n_timesteps":
        if value is None:
            return None
        n = _to_int(name, value)
        if n < 1:
            raise _bad(name, value, "an int >= 1")
        return n
    # normalize
    if isinstance(value, bool):
        return "both" if value else "none"
    text = str(value).strip().lower()
    if text in _TRUE:
        return "both"
    if text in _FALSE or text in _NONE:
        return "none"
    if text not in NORMALIZE_CHOICES:
        raise _bad(name, value, "one of none, obs, reward, both (or true/false)")
    return text


# ---- resolve --------------------------------------------------------------------------------
def resolve(algo: str | None = None, env: str | None = None, *,
            path: str | os.PathLike[str] | None = None,
            overrides: Mapping[str, Any] | Iterable[str] = (),
            n_timesteps: int | None = None, use_defaults: bool = True) -> RunSpec:
    """Build a :class:`RunSpec` from the layered sources (see the module docstring).

    Args:
        algo, env: what to train; taken from the user's file when not given here (a
            different ``algo`` in the file is an error; ``env`` given here wins).
        path: the user's ``.yaml``/``.yml``/``.toml`` file.
        overrides: ``{key: value}`` or ``["key=value", ...]``, applied last.
        n_timesteps: the budget; wins over every source (the CLI's ``--steps``).
        use_defaults: read the tuned default file for ``(algo, env)`` if one is shipped.

    Raises:
        ConfigError: unknown algorithm or key, a value that does not fit its field, or a
            rule of the config dataclass broken (the message names the field).
    """
    user = read_config_file(path) if path is not None else {}
    if isinstance(overrides, Mapping):
        over = dict(overrides)
    else:
        over = parse_overrides(overrides)
    file_algo = user.get("algo")
    for key, given in (("algo", algo), ("env", env)):  # --set algo=... beside --algo ...
        if given is not None and key in over and _run_value(key, over[key]) != _run_value(
                key, given):
            raise ConfigError(f"{key}={over[key]!r} (an override) contradicts {key}="
                              f"{given!r}: give it once")
    if algo is None:
        algo = over.get("algo", file_algo)
    if algo is None:
        raise ConfigError("no algorithm given: pass `algo` (--algo) or put `algo:` in the "
                          "config file")
    algo = _run_value("algo", algo)
    if file_algo is not None and _run_value("algo", file_algo) != algo:
        raise ConfigError(f"the config file {str(path)!r} is for algo={file_algo!r}, "
                          f"but algo={algo!r} was asked for")
    if env is None:
        env = over.get("env", user.get("env"))
    if env is None:
        raise ConfigError("no environment given: pass `env` (--env) or put `env:` in the "
                          "config file")
    env = _run_value("env", env)
    _, config_cls = algorithm_classes(algo)
    layers: list[tuple[str, dict[str, Any]]] = []
    default = default_file(algo, env) if use_defaults else None
    if default is not None:
        layers.append((str(default), read_config_file(default)))
    if path is not None:
        layers.append((str(path), user))
    if over:
        layers.append(("overrides", over))
    hints = typing.get_type_hints(config_cls)
    fields = [f.name for f in dataclasses.fields(config_cls)]
    run: dict[str, Any] = {"n_timesteps": None, "normalize": "none"}
    values: dict[str, Any] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if key in RUN_KEYS:
                if key not in ("algo", "env"):
                    run[key] = _run_value(key, value)
            elif key in hints and key in fields:
                values[key] = _convert(key, value, hints[key])
            else:
                near = difflib.get_close_matches(key, [*fields, *RUN_KEYS], n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ConfigError(
                    f"unknown key {key!r} in {source} for {algo}{hint}; valid keys: "
                    f"{', '.join([*RUN_KEYS, *fields])}")
    if n_timesteps is not None:
        run["n_timesteps"] = _run_value("n_timesteps", n_timesteps)
    config = config_cls(**values)
    return RunSpec(algo, env, config, run["n_timesteps"], run["normalize"],
                   tuple(source for source, _ in layers))


# ---- building -------------------------------------------------------------------------------
def make_train_env(spec: RunSpec) -> Any:
    """The env to hand the agent: the id itself, or a normalised vector env."""
    if spec.normalize == "none":
        return spec.env
    if spec.algo == "a3c":
        raise ConfigError(f"`normalize` must be 'none' for a3c (each worker builds its own env "
                          f"copy), but got normalize={spec.normalize!r}; set A3C's own fields "
                          "normalize_obs / normalize_reward instead (statistics shared by the "
                          "workers, e.g. --set normalize_obs=true --set normalize_reward=true)")
    if spec.algo == "async_q":
        raise ConfigError(f"`normalize` must be 'none' for {spec.algo} (each worker builds "
                          f"its own env copy), but got normalize={spec.normalize!r}")
    from autolearn.rl.common.env import (
        NormalizeObservation,
        NormalizeReward,
        make_vec_env,
        obs_encoding,
    )

    cfg = spec.config
    venv = make_vec_env(spec.env, cfg.n_envs, vectorization=cfg.vectorization)
    obs_space = venv.single_observation_space
    if spec.normalize in ("obs", "both") and obs_encoding(obs_space) is not None:
        raise ConfigError(f"`normalize` must be 'none' or 'reward' for {spec.env}, whose "
                          f"observations ({obs_space}) the agents encode as one-hot / 0-1 "
                          f"vectors (nothing to normalise), but got normalize={spec.normalize!r}")
    if spec.normalize in ("obs", "both"):
        venv = NormalizeObservation(venv)
    if spec.normalize in ("reward", "both"):
        venv = NormalizeReward(venv, gamma=cfg.gamma)
    return venv


def normalization_state(train_env: Any) -> dict[str, Any] | None:
    """The running statistics of a :func:`make_train_env` env (JSON-able), or ``None``."""
    from autolearn.rl.common.env import NormalizeObservation, NormalizeReward, find_wrapper

    out = {}
    for key, cls in (("obs", NormalizeObservation), ("reward", NormalizeReward)):
        wrapper = find_wrapper(train_env, cls)
        if wrapper is not None:
            out[key] = wrapper.state_dict()
    return out or None


def make_eval_env(spec: RunSpec, n_episodes: int, *, train_env: Any = None,
                  state: Mapping[str, Any] | None = None) -> Any:
    """An env for :func:`~autolearn.rl.evaluate` that sees what the agent was trained on.

    Without observation normalisation that is the env id. With it, a vector env of
    ``n_episodes`` copies behind a frozen :class:`~autolearn.rl.NormalizeObservation`
    that shares the live statistics of ``train_env`` (during training) or holds the saved
    ``state`` (from :func:`normalization_state`). Rewards are never normalised here, so
    returns are the environment's own.
    """
    if spec.normalize not in ("obs", "both"):
        return spec.env
    from autolearn.rl.common.env import NormalizeObservation, find_wrapper, frozen_normalized

    source = find_wrapper(train_env, NormalizeObservation) if train_env is not None else None
    if source is not None:  # the same object: evaluations use the current statistics
        return frozen_normalized(spec.env, n_episodes, source.rms)
    if state is None or "obs" not in state:
        raise ConfigError("this run normalises observations: pass the training env or the "
                          "saved normalisation statistics to evaluate it")
    venv = frozen_normalized(spec.env, n_episodes)
    venv.load_state_dict(state["obs"])
    return venv


def build_agent(spec: RunSpec, *, seed: Any = None, device: Any = "cpu",
                log_path: str | os.PathLike[str] | None = None) -> Any:
    """The agent ``spec`` describes, on its training env (see :func:`make_train_env`)."""
    agent_cls, _ = algorithm_classes(spec.algo)
    return agent_cls(make_train_env(spec), spec.config, seed=seed, log_path=log_path,
                     device=device)


def checkpoint_algo(path: str | os.PathLike[str]) -> str:
    """The algorithm name stored in a file written by an agent's ``save``."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ConfigError(f"{os.fspath(path)!r} is not an autolearn agent file: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                          ) from None
    algo = payload.get("algo") if isinstance(payload, dict) else None
    if algo not in ALGORITHMS:
        raise ConfigError(f"{os.fspath(path)!r} is not an autolearn agent file")
    return str(algo)
