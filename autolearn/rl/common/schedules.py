"""Schedules for learning rates and clip ranges, as functions of training progress.

``progress`` is the fraction of ``total_timesteps`` already done, in ``[0, 1]``. Schedules
are frozen dataclasses so that configs holding them stay hashable and round-trip to JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from autolearn.exceptions import ConfigError

__all__ = ["Constant", "Linear", "Schedule", "as_schedule", "schedule_from_dict"]


@dataclass(frozen=True)
class Constant:
    """The same ``value`` throughout training."""

    value: float

    def __call__(self, progress: float) -> float:
        return self.value

    def to_dict(self) -> dict[str, Any]:
        return {"type": "constant", "value": self.value}


@dataclass(frozen=True)
class Linear:
    """From ``start`` at progress 0 to ``end`` at progress 1, linearly (RL Zoo's ``lin_``)."""

    start: float
    end: float = 0.0

    def __call__(self, progress: float) -> float:
        p = min(max(progress, 0.0), 1.0)
        return self.start + (self.end - self.start) * p

    def to_dict(self) -> dict[str, Any]:
        return {"type": "linear", "start": self.start, "end": self.end}


Schedule = Constant | Linear


def as_schedule(value: float | Schedule, name: str) -> Schedule:
    """A number becomes :class:`Constant`; schedules pass through; anything else, or a NaN
    or infinite value, is an error."""
    if isinstance(value, Constant | Linear):
        schedule = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        schedule = Constant(float(value))
    else:
        raise ConfigError(f"`{name}` must be a number or a Constant/Linear schedule, but got "
                          f"{value!r}")
    ends = ((schedule.value,) if isinstance(schedule, Constant)
            else (schedule.start, schedule.end))
    if not all(math.isfinite(v) for v in ends):
        raise ConfigError(f"`{name}` must be finite, but got {value!r}")
    return schedule


def schedule_from_dict(d: dict[str, Any]) -> Schedule:
    """Inverse of ``to_dict``."""
    kind = d.get("type")
    if kind == "constant":
        return Constant(float(d["value"]))
    if kind == "linear":
        return Linear(float(d["start"]), float(d["end"]))
    raise ConfigError(f"unknown schedule type {kind!r}; expected 'constant' or 'linear'")
