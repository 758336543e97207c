"""Parameter distributions.

A distribution maps between a parameter's *external* value (what the objective sees:
a float, an int, or any JSON-serialisable categorical choice) and its *internal* value
(a float stored in the study: the value itself for numbers, the choice's index for
categoricals).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autolearn.exceptions import SearchSpaceError

__all__ = [
    "BaseDistribution",
    "CategoricalChoice",
    "CategoricalDistribution",
    "FloatDistribution",
    "IntDistribution",
    "check_compatible",
    "distribution_from_json",
    "distribution_to_json",
]

CategoricalChoice = None | bool | int | float | str | list | dict


class BaseDistribution(ABC):
    """A one-dimensional parameter distribution (immutable, hashable, JSON-serialisable)."""

    @abstractmethod
    def to_internal(self, value: Any) -> float:
        """Internal float representation of an external ``value`` (validated)."""

    @abstractmethod
    def to_external(self, internal: float) -> Any:
        """External value for an internal float."""

    @abstractmethod
    def contains(self, internal: float) -> bool:
        """Whether ``internal`` is a valid internal value of this distribution."""

    @abstractmethod
    def is_single(self) -> bool:
        """Whether the distribution has exactly one value."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Constructor keyword arguments; the inverse of ``type(self)(**d)``."""


def _as_float(name: str, value: Any) -> float:
    """``float(value)``, or a :class:`SearchSpaceError` naming the bound that is not a
    number (``"a"``, ``None``, a list...)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SearchSpaceError(f"`{name}` must be a number, but got {name}={value!r}") from None


def _check_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise SearchSpaceError(f"`{name}` must be finite, but got {name}={value}")


@dataclass(frozen=True)
class FloatDistribution(BaseDistribution):
    """Floats in ``[low, high]``, optionally on a log scale or a grid of ``step``.

    Args:
        low: Lower bound (inclusive).
        high: Upper bound (inclusive).
        log: Sample uniformly in log space; requires ``low > 0``.
        step: Discretisation step; values are ``low + k * step``. Exclusive with ``log``.
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _as_float("low", self.low))
        object.__setattr__(self, "high", _as_float("high", self.high))
        _check_finite("low", self.low)
        _check_finite("high", self.high)
        if self.log and self.step is not None:
            raise SearchSpaceError(
                "`step` and `log` cannot be used together, but got "
                f"step={self.step}, log=True; drop one of them"
            )
        if self.low > self.high:
            raise SearchSpaceError(
                f"`low <= high` must hold, but got low={self.low}, high={self.high}"
            )
        if self.log and self.low <= 0.0:
            raise SearchSpaceError(
                f"`low > 0` must hold for a log distribution, but got low={self.low}"
            )
        if self.step is not None:
            step = _as_float("step", self.step)
            _check_finite("step", step)
            if step <= 0:
                raise SearchSpaceError(f"`step > 0` must hold, but got step={step}")
            object.__setattr__(self, "step", step)
            # Shrink high onto the grid so that every reachable value is a grid point.
            n = math.floor((self.high - self.low) / step + 1e-9)
            object.__setattr__(self, "high", _round_step(self.low + n * step, step))

    def to_internal(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                import numpy as np

                if isinstance(value, np.integer | np.floating):
                    value = float(value)
                else:
                    raise TypeError
            except TypeError:
                raise SearchSpaceError(
                    f"expected a float in [{self.low}, {self.high}], but got {value!r}"
                ) from None
        value = float(value)
        if not self.contains(value):
            raise SearchSpaceError(f"{value} is not in {self}")
        return value

    def to_external(self, internal: float) -> float:
        return float(internal)

    def contains(self, internal: float) -> bool:
        if not (self.low <= internal <= self.high):
            return False
        if self.step is not None:
            k = (internal - self.low) / self.step
            return abs(k - round(k)) < 1e-8
        return True

    def is_single(self) -> bool:
        if self.step is not None:
            return self.high - self.low < self.step
        return self.low == self.high

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


def _round_step(value: float, step: float) -> float:
    """Round away floating-point noise from ``low + k * step``."""
    digits = max(0, -math.floor(math.log10(step)) + 10)
    return round(value, digits)


@dataclass(frozen=True)
class IntDistribution(BaseDistribution):
    """Integers in ``[low, high]`` with ``step``, optionally on a log scale.

    Args:
        low: Lower bound (inclusive).
        high: Upper bound (inclusive; shrunk onto the ``step`` grid).
        log: Sample uniformly in log space; requires ``low >= 1`` and ``step == 1``.
        step: Spacing between values.
    """

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            v = getattr(self, name)
            if isinstance(v, bool) or not _as_float(name, v).is_integer():
                raise SearchSpaceError(f"`{name}` must be an integer, but got {name}={v!r}")
            object.__setattr__(self, name, int(v))
        if self.step <= 0:
            raise SearchSpaceError(f"`step > 0` must hold, but got step={self.step}")
        if self.log and self.step != 1:
            raise SearchSpaceError(
                f"`step == 1` must hold for a log distribution, but got step={self.step}"
            )
        if self.low > self.high:
            raise SearchSpaceError(
                f"`low <= high` must hold, but got low={self.low}, high={self.high}"
            )
        if self.log and self.low < 1:
            raise SearchSpaceError(
                f"`low >= 1` must hold for a log distribution, but got low={self.low}"
            )
        object.__setattr__(
            self, "high", self.low + (self.high - self.low) // self.step * self.step
        )

    def to_internal(self, value: Any) -> float:
        if isinstance(value, bool):
            raise SearchSpaceError(
                f"expected an int in [{self.low}, {self.high}], but got {value!r}"
            )
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise SearchSpaceError(
                f"expected an int in [{self.low}, {self.high}], but got {value!r}"
            ) from None
        if not self.contains(f):
            raise SearchSpaceError(f"{value!r} is not in {self}")
        return f

    def to_external(self, internal: float) -> int:
        return int(round(internal))

    def contains(self, internal: float) -> bool:
        if not (self.low <= internal <= self.high) or not float(internal).is_integer():
            return False
        return (int(internal) - self.low) % self.step == 0

    def is_single(self) -> bool:
        return self.low == self.high

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


@dataclass(frozen=True)
class CategoricalDistribution(BaseDistribution):
    """One of a finite tuple of JSON-serialisable ``choices``; stored as the choice's index."""

    choices: tuple[Any, ...]
    _keys: dict[str, int] = field(init=False, repr=False, compare=False)

    def __init__(self, choices: Sequence[Any]) -> None:
        if isinstance(choices, str | bytes) or not isinstance(choices, Sequence):
            raise SearchSpaceError(
                f"`choices` must be a sequence (list or tuple), but got {choices!r}"
            )
        choices = tuple(choices)
        if len(choices) == 0:
            raise SearchSpaceError("`choices` must contain at least one element, but got ()")
        for c in choices:
            try:
                json.dumps(c)
            except (TypeError, ValueError):
                raise SearchSpaceError(
                    f"every choice must be JSON-serialisable (None, bool, int, float, str, "
                    f"or lists/dicts of those), but got {c!r} of type {type(c).__name__}"
                ) from None
        keys = [json.dumps(c, sort_keys=True) for c in choices]
        if len(set(keys)) != len(keys):
            raise SearchSpaceError(f"`choices` must be distinct, but got {choices!r}")
        object.__setattr__(self, "choices", choices)
        object.__setattr__(self, "_keys", {k: i for i, k in enumerate(keys)})

    def __hash__(self) -> int:
        return hash(tuple(self._keys))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CategoricalDistribution) and list(self._keys) == list(other._keys)

    def __repr__(self) -> str:
        return f"CategoricalDistribution(choices={self.choices!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (CategoricalDistribution, (self.choices,))

    def to_internal(self, value: Any) -> float:
        try:
            key = json.dumps(value, sort_keys=True)
        except (TypeError, ValueError):
            key = None
        idx = self._keys.get(key) if key is not None else None
        if idx is None:
            # Accept 1 for 1.0 and numpy scalars by value equality as a fallback.
            for i, c in enumerate(self.choices):
                if type(c) is not bool and type(value) is not bool and c == value:
                    return float(i)
            raise SearchSpaceError(f"{value!r} is not one of the choices {self.choices!r}")
        return float(idx)

    def to_external(self, internal: float) -> Any:
        return self.choices[int(internal)]

    def contains(self, internal: float) -> bool:
        return float(internal).is_integer() and 0 <= internal < len(self.choices)

    def is_single(self) -> bool:
        return len(self.choices) == 1

    def to_dict(self) -> dict[str, Any]:
        return {"choices": list(self.choices)}


_BY_NAME: dict[str, type[BaseDistribution]] = {
    "float": FloatDistribution,
    "int": IntDistribution,
    "categorical": CategoricalDistribution,
}
_NAME_OF = {v: k for k, v in _BY_NAME.items()}


def distribution_to_json(dist: BaseDistribution) -> str:
    """Serialise ``dist`` to a JSON string."""
    return json.dumps({"type": _NAME_OF[type(dist)], **dist.to_dict()}, sort_keys=True)


def distribution_from_json(text: str | dict[str, Any]) -> BaseDistribution:
    """Inverse of :func:`distribution_to_json` (also accepts the decoded dict)."""
    try:
        d = dict(json.loads(text)) if isinstance(text, str) else dict(text)
        cls = _BY_NAME[d.pop("type")]
    except (ValueError, KeyError, TypeError):
        raise SearchSpaceError(
            f"not a serialised distribution: {text!r}; expected a JSON object with a "
            f"'type' of {sorted(_BY_NAME)}"
        ) from None
    if cls is CategoricalDistribution:
        return CategoricalDistribution(d["choices"])
    return cls(**d)


def check_compatible(name: str, old: BaseDistribution, new: BaseDistribution) -> None:
    """Raise if parameter ``name`` was suggested as ``old`` and is now asked as ``new``."""
    if old != new:
        raise SearchSpaceError(
            f"parameter {name!r} was already suggested in this trial as {old}, and cannot be "
            f"suggested again as {new}; use a different name for a different range"
        )
