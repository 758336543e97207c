"""Declarative, tree-structured search spaces.

A :class:`SearchSpace` is an ordered mapping from parameter names to distributions,
where a parameter may be *conditional*: active only when a parent parameter takes one
of some values. Samplers can enumerate it (grid search), sample it, or reason about it
(which parameters are active together), and an objective can draw from it inside a
trial with :meth:`SearchSpace.suggest`.

Example:
    >>> from autolearn.space import SearchSpace, Conditional, FloatDistribution, \\
    ...     CategoricalDistribution
    >>> space = SearchSpace({
    ...     "model": CategoricalDistribution(["svm", "tree"]),
    ...     "C": Conditional(FloatDistribution(1e-3, 1e3, log=True), parent="model",
    ...                      values=["svm"]),
    ...     "depth": Conditional(CategoricalDistribution([2, 4, 8]), parent="model",
    ...                          values=["tree"]),
    ... })
    >>> sorted(space.active_names({"model": "tree"}))
    ['depth', 'model']
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import SearchSpaceError
from autolearn.space._distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    _round_step,
    distribution_from_json,
    distribution_to_json,
)

if TYPE_CHECKING:
    import numpy as np

    from autolearn.study._trial import BaseTrial

__all__ = ["Conditional", "SearchSpace", "sample_distribution"]


@dataclass(frozen=True)
class Conditional:
    """A distribution active only when ``parent`` takes one of ``values``.

    Args:
        distribution: The parameter's distribution when active.
        parent: Name of the parent parameter (declared earlier in the space).
        values: The parent values that activate this parameter.
    """

    distribution: BaseDistribution
    parent: str
    values: tuple[Any, ...]

    def __init__(self, distribution: BaseDistribution, *, parent: str, values: Sequence[Any]):
        if not isinstance(distribution, BaseDistribution):
            raise SearchSpaceError(
                f"`distribution` must be a distribution, but got {distribution!r}"
            )
        if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
            raise SearchSpaceError(
                f"`values` must be a non-empty list of parent values, but got {values!r}"
            )
        object.__setattr__(self, "distribution", distribution)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "values", tuple(values))


class SearchSpace(Mapping[str, BaseDistribution]):
    """An ordered, possibly conditional, search space (parents before children).

    Mapping access (``space[name]``) returns the distribution; :meth:`condition` returns
    the activating condition or None.
    """

    def __init__(self, params: Mapping[str, BaseDistribution | Conditional]) -> None:
        self._dists: dict[str, BaseDistribution] = {}
        self._conds: dict[str, Conditional] = {}
        for name, spec in params.items():
            if not isinstance(name, str) or not name:
                raise SearchSpaceError(f"parameter names must be non-empty strings, got {name!r}")
            if isinstance(spec, Conditional):
                if spec.parent not in self._dists:
                    raise SearchSpaceError(
                        f"parameter {name!r} depends on {spec.parent!r}, which must be declared "
                        f"before it; declared so far: {list(self._dists)}"
                    )
                parent = self._dists[spec.parent]
                for v in spec.values:
                    try:
                        parent.to_internal(v)
                    except SearchSpaceError:
                        raise SearchSpaceError(
                            f"parameter {name!r} is conditioned on {spec.parent}={v!r}, "
                            f"which {spec.parent!r} ({parent}) can never take"
                        ) from None
                self._dists[name] = spec.distribution
                self._conds[name] = spec
            elif isinstance(spec, BaseDistribution):
                self._dists[name] = spec
            else:
                raise SearchSpaceError(
                    f"parameter {name!r} must map to a distribution or a Conditional, "
                    f"but got {spec!r}"
                )

    # Mapping protocol -------------------------------------------------------------
    def __getitem__(self, name: str) -> BaseDistribution:
        return self._dists[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dists)

    def __len__(self) -> int:
        return len(self._dists)

    def __repr__(self) -> str:
        return f"SearchSpace({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    # Structure ---------------------------------------------------------------------
    def condition(self, name: str) -> Conditional | None:
        """The condition that activates ``name``, or None if it is always active."""
        return self._conds.get(name)

    @property
    def is_conditional(self) -> bool:
        """Whether any parameter is conditional."""
        return bool(self._conds)

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active given (a partial assignment of) its ancestors."""
        cond = self._conds.get(name)
        while cond is not None:
            if cond.parent not in params:
                return False
            pdist = self._dists[cond.parent]
            want = {pdist.to_internal(v) for v in cond.values}
            try:
                if pdist.to_internal(params[cond.parent]) not in want:
                    return False
            except SearchSpaceError:
                return False
            name = cond.parent
            cond = self._conds.get(name)
        return True

    def active_names(self, params: Mapping[str, Any]) -> list[str]:
        """Names active under ``params`` (in declaration order)."""
        return [n for n in self._dists if self.is_active(n, params)]

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise if ``params`` is not a complete, valid assignment of the active parameters."""
        active = self.active_names(params)
        missing = [n for n in active if n not in params]
        extra = [n for n in params if n not in active]
        if missing or extra:
            raise SearchSpaceError(
                f"parameters do not match the active space: missing {missing}, "
                f"inactive or unknown {extra}"
            )
        for n in active:
            self._dists[n].to_internal(params[n])

    # Enumeration and sampling ------------------------------------------------------
    def grid(self) -> Iterator[dict[str, Any]]:
        """Every assignment of the active parameters, each exactly once.

        Requires finite distributions: categoricals, ints, and floats with a ``step``.
        """
        yield from self._grid(0, {})

    def grid_size(self) -> int:
        """Number of assignments :meth:`grid` yields."""
        return sum(1 for _ in self.grid())

    def _grid(self, i: int, partial: dict[str, Any]) -> Iterator[dict[str, Any]]:
        names = list(self._dists)
        while i < len(names) and not self.is_active(names[i], partial):
            i += 1
        if i == len(names):
            yield dict(partial)
            return
        name = names[i]
        for v in enumerate_values(name, self._dists[name]):
            partial[name] = v
            yield from self._grid(i + 1, partial)
            del partial[name]

    def sample(self, seed: SeedLike = None) -> dict[str, Any]:
        """One uniform (log-uniform where ``log``) draw of the active parameters."""
        rng = as_generator(seed)
        params: dict[str, Any] = {}
        for name, dist in self._dists.items():
            if self.is_active(name, params):
                params[name] = sample_distribution(dist, rng)
        return params

    def suggest(self, trial: BaseTrial) -> dict[str, Any]:
        """Suggest every active parameter through ``trial`` (define-by-run bridge)."""
        params: dict[str, Any] = {}
        for name, dist in self._dists.items():
            if self.is_active(name, params):
                params[name] = trial.suggest(name, dist)
        return params

    # Serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, dist in self._dists.items():
            entry: dict[str, Any] = {"distribution": json.loads(distribution_to_json(dist))}
            cond = self._conds.get(name)
            if cond is not None:
                entry["parent"] = cond.parent
                entry["values"] = list(cond.values)
            out[name] = entry
        return out

    def to_json(self) -> str:
        """JSON text; :meth:`from_json` restores an equal space."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> SearchSpace:
        data = json.loads(text) if isinstance(text, str) else text
        if not isinstance(data, dict):
            raise SearchSpaceError(f"a serialised SearchSpace is a JSON object, got {text!r}")
        params: dict[str, BaseDistribution | Conditional] = {}
        for name, entry in data.items():
            dist = distribution_from_json(entry["distribution"])
            if "parent" in entry:
                params[name] = Conditional(dist, parent=entry["parent"], values=entry["values"])
            else:
                params[name] = dist
        return cls(params)


def enumerate_values(name: str, dist: BaseDistribution) -> list[Any]:
    """All values of a finite distribution, in order; raises for continuous floats."""
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        return list(range(dist.low, dist.high + 1, dist.step))
    if isinstance(dist, FloatDistribution):
        if dist.step is None:
            if dist.low == dist.high:
                return [dist.low]
            raise SearchSpaceError(
                f"parameter {name!r} is a continuous float ({dist}) and cannot be enumerated; "
                "give it a `step` or list its values as a categorical"
            )
        n = int(round((dist.high - dist.low) / dist.step))
        return [_round_step(dist.low + k * dist.step, dist.step) for k in range(n + 1)]
    raise SearchSpaceError(f"cannot enumerate {dist!r}")


def sample_distribution(dist: BaseDistribution, rng: np.random.Generator | random.Random) -> Any:
    """One uniform draw from ``dist`` (log-uniform when ``log``), as an external value.

    ``rng`` is a numpy Generator or a :class:`random.Random` (cheaper to create per trial).
    """
    randrange: Callable[[int], int]
    uniform: Callable[[float, float], float]
    if isinstance(rng, random.Random):
        randrange, uniform = rng.randrange, rng.uniform
    else:
        gen = rng

        def randrange(n: int) -> int:
            return int(gen.integers(n))

        def uniform(a: float, b: float) -> float:
            return float(gen.uniform(a, b))

    if isinstance(dist, CategoricalDistribution):
        return dist.choices[randrange(len(dist.choices))]
    if isinstance(dist, IntDistribution):
        if dist.log:
            lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            v = int(round(math.exp(uniform(lo, hi))))
            return min(max(v, dist.low), dist.high)
        n = (dist.high - dist.low) // dist.step
        return dist.low + randrange(n + 1) * dist.step
    if isinstance(dist, FloatDistribution):
        if dist.step is not None:
            n = int(round((dist.high - dist.low) / dist.step))
            return _round_step(dist.low + randrange(n + 1) * dist.step, dist.step)
        if dist.log:
            x = math.exp(uniform(math.log(dist.low), math.log(dist.high)))
        else:
            x = uniform(dist.low, dist.high)
        return min(max(x, dist.low), dist.high)
    raise SearchSpaceError(f"cannot sample {dist!r}")
