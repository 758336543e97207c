"""A search space written once, translated to each library's own format.

A problem's space is a tuple of :class:`Float`, :class:`Int` and :class:`Categorical`
(flat: the benchmark has no conditional parameters). Each ``to_*`` function builds the
equivalent space for one library; ``suggest_all`` samples it through a define-by-run
trial (autolearn and Optuna share that API).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Categorical",
    "Float",
    "Int",
    "Param",
    "suggest_all",
    "to_configspace",
    "to_hyperopt",
    "to_skopt",
]


@dataclass(frozen=True)
class Float:
    name: str
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Int:
    """An integer range; the tabular problems use it for ordinal grids (an index)."""

    name: str
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    name: str
    choices: tuple[Any, ...]


Param = Float | Int | Categorical


def suggest_all(trial: Any, space: tuple[Param, ...]) -> dict[str, Any]:
    """Sample every parameter through ``trial.suggest_*`` (autolearn and Optuna)."""
    params: dict[str, Any] = {}
    for p in space:
        if isinstance(p, Float):
            params[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            params[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        else:
            params[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return params


def to_hyperopt(space: tuple[Param, ...]) -> dict[str, Any]:
    """Hyperopt ``hp`` expressions; integers come back as floats (see :func:`from_hyperopt`)."""
    from hyperopt import hp

    out: dict[str, Any] = {}
    for p in space:
        if isinstance(p, Float):
            out[p.name] = (hp.loguniform(p.name, math.log(p.low), math.log(p.high)) if p.log
                           else hp.uniform(p.name, p.low, p.high))
        elif isinstance(p, Int):
            # Quantised draws over [low - 0.5, high + 0.5] give every integer equal mass.
            out[p.name] = (hp.qloguniform(p.name, math.log(max(p.low - 0.5, 0.5)),
                                          math.log(p.high + 0.5), 1) if p.log
                           else hp.uniformint(p.name, p.low, p.high))
        else:
            out[p.name] = hp.choice(p.name, list(p.choices))
    return out


def from_hyperopt(space: tuple[Param, ...], params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for p in space:
        if isinstance(p, Int):
            out[p.name] = int(min(max(round(out[p.name]), p.low), p.high))
    return out


def to_skopt(space: tuple[Param, ...]) -> list[Any]:
    from skopt.space import Categorical as SkCat
    from skopt.space import Integer, Real

    dims: list[Any] = []
    for p in space:
        if isinstance(p, Float):
            dims.append(Real(p.low, p.high, prior="log-uniform" if p.log else "uniform",
                             name=p.name))
        elif isinstance(p, Int):
            dims.append(Integer(p.low, p.high, prior="log-uniform" if p.log else "uniform",
                                name=p.name))
        else:
            dims.append(SkCat(list(p.choices), name=p.name))
    return dims


def to_configspace(space: tuple[Param, ...], seed: int) -> Any:
    from ConfigSpace import Categorical as CsCat
    from ConfigSpace import ConfigurationSpace
    from ConfigSpace import Float as CsFloat
    from ConfigSpace import Integer as CsInt

    cs = ConfigurationSpace(seed=seed)
    for p in space:
        if isinstance(p, Float):
            cs.add(CsFloat(p.name, (p.low, p.high), log=p.log))
        elif isinstance(p, Int):
            cs.add(CsInt(p.name, (p.low, p.high), log=p.log))
        else:
            cs.add(CsCat(p.name, list(p.choices)))
    return cs
