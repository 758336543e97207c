"""Learning-curve tables: a finite configuration space, each configuration trained once.

A table holds, for every configuration of a Cartesian product of choices, the validation
accuracy after each of ``R`` epochs. The benchmark "trains" a configuration by reading its
row epoch by epoch, so a pruner sees real learning curves at the cost of a look-up.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DATA_DIR", "CurveTable", "load_table", "synthetic_table"]

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class CurveTable:
    """Validation curves of every configuration of a product space.

    Attributes:
        name: Problem name (the file is ``data/NAME.npz``).
        space: ``(parameter name, choices)`` pairs; configurations are
            ``itertools.product`` of the choices in this order.
        curves: ``(n_configs, R)`` validation accuracy after epoch ``1 .. R``.
        meta: How the table was made (data, splits, model, build time, versions).
    """

    name: str
    space: tuple[tuple[str, tuple[Any, ...]], ...]
    curves: np.ndarray
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        n = math.prod(len(c) for _, c in self.space)
        if self.curves.ndim != 2 or self.curves.shape[0] != n:
            raise ValueError(f"`curves` must have shape ({n}, R), got {self.curves.shape}")

    @property
    def n_epochs(self) -> int:
        return int(self.curves.shape[1])

    def configs(self) -> list[dict[str, Any]]:
        names = [n for n, _ in self.space]
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(c for _, c in self.space))]

    def index(self, params: dict[str, Any]) -> int:
        """Row of a configuration (mixed-radix number of its choice indices)."""
        i = 0
        for name, choices in self.space:
            i = i * len(choices) + choices.index(params[name])
        return i

    def save(self, directory: Path = DATA_DIR) -> Path:
        path = directory / f"{self.name}.npz"
        space = [[n, list(c)] for n, c in self.space]
        np.savez_compressed(path, curves=self.curves.astype(np.float32),
                            space=json.dumps(space), meta=json.dumps(self.meta))
        return path


def load_table(name: str, directory: Path = DATA_DIR) -> CurveTable:
    with np.load(directory / f"{name}.npz") as f:
        space = tuple((n, tuple(c)) for n, c in json.loads(str(f["space"])))
        return CurveTable(name=name, space=space, curves=np.asarray(f["curves"], dtype=float),
                          meta=json.loads(str(f["meta"])))


def synthetic_table(*, seed: int = 0, n_epochs: int = 9) -> CurveTable:
    """A small table of made-up saturating curves (for ``--quick`` and the smoke test).

    48 configurations; each curve rises as ``a * (1 - exp(-t / tau))`` with its own final
    level ``a`` and time constant ``tau`` (slow starters included), plus a little noise.
    """
    space: tuple[tuple[str, tuple[Any, ...]], ...] = (
        ("width", (8, 16, 32, 64)), ("act", ("relu", "tanh", "gelu")),
        ("lr", (1e-3, 1e-2, 1e-1, 1.0)))
    rng = np.random.default_rng(seed)
    n = math.prod(len(c) for _, c in space)
    level = rng.uniform(0.3, 0.95, size=(n, 1))
    tau = rng.uniform(0.5, 4.0, size=(n, 1))
    t = np.arange(1, n_epochs + 1)[None, :]
    curves = level * (1 - np.exp(-t / tau)) + rng.normal(0, 0.01, size=(n, n_epochs))
    return CurveTable("synthetic", space, np.clip(curves, 0, 1),
                      {"description": "synthetic saturating curves", "n_epochs": n_epochs})
