"""Conversion between parameter dicts and points of the unit cube.

Model-based samplers (GP-BO, random forests) work on ``x in [0, 1]^D``: floats and ints
map to one coordinate each (log-scaled where the distribution is ``log``), categoricals
to one-hot blocks. Decoding rounds ints and stepped floats onto their grid and takes the
arg-max of each one-hot block, so a decoded point is always valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from autolearn.exceptions import SearchSpaceError
from autolearn.space._distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    _round_step,
)

__all__ = ["UnitCubeTransform"]


class UnitCubeTransform:
    """Encode/decode parameter dicts of a fixed (non-conditional) search space.

    Args:
        space: Mapping from parameter name to distribution.

    Attributes:
        dim: Number of coordinates ``D``.
        slices: Per parameter, the coordinates it occupies.
        categorical_mask: ``(D,)`` bool, True on one-hot coordinates.
    """

    def __init__(self, space: Mapping[str, BaseDistribution]) -> None:
        self.space = dict(space)
        self.slices: dict[str, slice] = {}
        d = 0
        for name, dist in self.space.items():
            width = len(dist.choices) if isinstance(dist, CategoricalDistribution) else 1
            self.slices[name] = slice(d, d + width)
            d += width
        self.dim = d
        self.categorical_mask = np.zeros(d, dtype=bool)
        for name, dist in self.space.items():
            if isinstance(dist, CategoricalDistribution):
                self.categorical_mask[self.slices[name]] = True

    @staticmethod
    def _bounds(dist: FloatDistribution | IntDistribution) -> tuple[float, float]:
        if dist.log:
            lo, hi = float(dist.low), float(dist.high)
            if isinstance(dist, IntDistribution):
                lo, hi = lo - 0.5, hi + 0.5
            return math.log(lo), math.log(hi)
        half = 0.5 * dist.step if dist.step is not None else 0.0
        return dist.low - half, dist.high + half

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """``(D,)`` point for a complete assignment ``params`` (external values)."""
        x = np.zeros(self.dim)
        for name, dist in self.space.items():
            if name not in params:
                raise SearchSpaceError(f"parameter {name!r} is missing from {dict(params)}")
            sl = self.slices[name]
            if isinstance(dist, CategoricalDistribution):
                x[sl.start + int(dist.to_internal(params[name]))] = 1.0
                continue
            assert isinstance(dist, FloatDistribution | IntDistribution)
            v = float(params[name])
            lo, hi = self._bounds(dist)
            if dist.log:
                v = math.log(v)
            x[sl.start] = 0.5 if hi == lo else (v - lo) / (hi - lo)
        return x

    def encode_many(self, params_list: list[Mapping[str, Any]]) -> np.ndarray:
        """``(n, D)`` points."""
        if not params_list:
            return np.zeros((0, self.dim))
        return np.stack([self.encode(p) for p in params_list])

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """A valid parameter dict for any ``(D,)`` point (clipped to the cube)."""
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        out: dict[str, Any] = {}
        for name, dist in self.space.items():
            sl = self.slices[name]
            if isinstance(dist, CategoricalDistribution):
                out[name] = dist.choices[int(np.argmax(x[sl]))]
                continue
            assert isinstance(dist, FloatDistribution | IntDistribution)
            lo, hi = self._bounds(dist)
            v = lo + float(x[sl.start]) * (hi - lo)
            if dist.log:
                v = math.exp(v)
            if isinstance(dist, IntDistribution):
                k = round((v - dist.low) / dist.step)
                out[name] = int(min(max(dist.low + k * dist.step, dist.low), dist.high))
            elif dist.step is not None:
                k = round((v - dist.low) / dist.step)
                v = _round_step(dist.low + k * dist.step, dist.step)
                out[name] = float(min(max(v, dist.low), dist.high))
            else:
                out[name] = float(min(max(v, dist.low), dist.high))
        return out

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Move ``(m, D)`` points onto the nearest valid encodings (vectorised).

        Clips to the cube, rounds int and stepped-float coordinates to the encoding of
        their nearest value, and turns each one-hot block into an exact one-hot vector
        (its arg-max), so that ``snap(X)[i] == encode(decode(X[i]))``.
        """
        X = np.clip(np.array(X, dtype=float, ndmin=2), 0.0, 1.0)
        for name, dist in self.space.items():
            sl = self.slices[name]
            if isinstance(dist, CategoricalDistribution):
                winner = np.argmax(X[:, sl], axis=1)
                X[:, sl] = 0.0
                X[np.arange(len(X)), sl.start + winner] = 1.0
                continue
            assert isinstance(dist, FloatDistribution | IntDistribution)
            step = dist.step
            if step is None:
                continue
            lo, hi = self._bounds(dist)
            if hi == lo:
                X[:, sl.start] = 0.5
                continue
            v = lo + X[:, sl.start] * (hi - lo)
            if dist.log:
                v = np.exp(v)
            k = np.clip(np.round((v - dist.low) / step), 0, round((dist.high - dist.low) / step))
            v = dist.low + k * step
            if dist.log:
                v = np.log(v)
            X[:, sl.start] = (v - lo) / (hi - lo)
        return X
