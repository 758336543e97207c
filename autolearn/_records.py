"""Immutable trial records and the enums that describe them.

They sit below every other layer (storages return them, studies and samplers read them)
and are re-exported from :mod:`autolearn.study` and :mod:`autolearn`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from autolearn.exceptions import ConfigError, SearchSpaceError
from autolearn.space import BaseDistribution

__all__ = ["FrozenTrial", "StudyDirection", "TrialState", "create_trial"]


class TrialState(enum.IntEnum):
    """Life cycle of a trial: WAITING -> RUNNING -> COMPLETE | PRUNED | FAIL."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def is_finished(self) -> bool:
        """Whether the trial has ended (COMPLETE, PRUNED or FAIL)."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    def __repr__(self) -> str:
        return f"TrialState.{self.name}"

    def __str__(self) -> str:
        return self.name


class StudyDirection(enum.IntEnum):
    """Whether an objective is minimised or maximised."""

    MINIMIZE = 1
    MAXIMIZE = 2

    @classmethod
    def parse(cls, value: str | StudyDirection) -> StudyDirection:
        if isinstance(value, StudyDirection):
            return value
        if isinstance(value, str) and value.lower() in ("minimize", "maximize"):
            return cls[value.upper()]
        raise ConfigError(
            f"a direction must be 'minimize' or 'maximize', but got {value!r}"
        )

    def __repr__(self) -> str:
        return f"StudyDirection.{self.name}"

    def __str__(self) -> str:
        return self.name.lower()


def _ro(d: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    if isinstance(d, MappingProxyType):
        return d
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True, eq=False)
class FrozenTrial:
    """A read-only snapshot of a trial, as storages return and samplers receive it.

    Attributes:
        number: Position of the trial in its study (0, 1, ...), unique within the study.
        trial_id: Storage-wide id.
        state: The trial's :class:`TrialState`.
        values: Objective values (one per direction) or None if not complete.
        params: External parameter values by name.
        distributions: The distribution each parameter was drawn from.
        user_attrs: Attributes set by the user.
        system_attrs: Attributes set by autolearn (samplers, pruners, failure reasons).
        intermediate_values: Reported values by step.
        datetime_start: When the trial started running (None while WAITING).
        datetime_complete: When it finished (None until then).
    """

    number: int
    trial_id: int
    state: TrialState
    values: tuple[float, ...] | None
    params: Mapping[str, Any]
    distributions: Mapping[str, BaseDistribution]
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    intermediate_values: Mapping[int, float] = field(default_factory=dict)
    datetime_start: _dt.datetime | None = None
    datetime_complete: _dt.datetime | None = None

    def __post_init__(self) -> None:
        if type(self.state) is not TrialState:
            object.__setattr__(self, "state", TrialState(self.state))
        if self.values is not None:
            object.__setattr__(self, "values", tuple(map(float, self.values)))
        for name in ("params", "distributions", "user_attrs", "system_attrs",
                     "intermediate_values"):
            object.__setattr__(self, name, _ro(getattr(self, name)))

    @classmethod
    def _trusted(
        cls,
        number: int,
        trial_id: int,
        state: TrialState,
        values: tuple[float, ...] | None,
        params: dict[str, Any],
        distributions: dict[str, BaseDistribution],
        user_attrs: dict[str, Any],
        system_attrs: dict[str, Any],
        intermediate_values: dict[int, float],
        datetime_start: _dt.datetime | None,
        datetime_complete: _dt.datetime | None,
    ) -> FrozenTrial:
        """Fast constructor for autolearn's own code: arguments are already normalised
        (a TrialState, a tuple of floats) and the dicts are fresh copies nobody else holds."""
        self = object.__new__(cls)
        self.__dict__.update(
            number=number, trial_id=trial_id, state=state, values=values,
            params=MappingProxyType(params), distributions=MappingProxyType(distributions),
            user_attrs=MappingProxyType(user_attrs), system_attrs=MappingProxyType(system_attrs),
            intermediate_values=MappingProxyType(intermediate_values),
            datetime_start=datetime_start, datetime_complete=datetime_complete,
        )
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            FrozenTrial,
            (self.number, self.trial_id, self.state, self.values, dict(self.params),
             dict(self.distributions), dict(self.user_attrs), dict(self.system_attrs),
             dict(self.intermediate_values), self.datetime_start, self.datetime_complete),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrozenTrial) and self.__reduce__()[1] == other.__reduce__()[1]

    def __hash__(self) -> int:
        return hash((self.trial_id, self.number))

    @property
    def value(self) -> float | None:
        """The single objective value; raises for multi-objective trials."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise ConfigError(
                f"trial {self.number} has {len(self.values)} values; use `values` for "
                "multi-objective studies"
            )
        return self.values[0]

    @property
    def last_step(self) -> int | None:
        """Largest reported step, or None if nothing was reported."""
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def duration(self) -> _dt.timedelta | None:
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    def replace(self, **changes: Any) -> FrozenTrial:
        """A copy with ``changes`` applied (the record itself never changes)."""
        args = dict(zip(_FIELDS, self.__reduce__()[1], strict=True))
        args.update(changes)
        return FrozenTrial(**args)


_FIELDS = ("number", "trial_id", "state", "values", "params", "distributions", "user_attrs",
           "system_attrs", "intermediate_values", "datetime_start", "datetime_complete")


def create_trial(
    *,
    params: Mapping[str, Any] | None = None,
    distributions: Mapping[str, BaseDistribution] | None = None,
    value: float | None = None,
    values: Sequence[float] | None = None,
    state: TrialState = TrialState.COMPLETE,
    user_attrs: Mapping[str, Any] | None = None,
    system_attrs: Mapping[str, Any] | None = None,
    intermediate_values: Mapping[int, float] | None = None,
) -> FrozenTrial:
    """Build a finished (or WAITING) trial record for :meth:`Study.add_trial`.

    Raises:
        ConfigError: when the record is inconsistent (values on a non-complete trial,
            a parameter without distribution, a value outside its distribution).
    """
    if value is not None and values is not None:
        raise ConfigError("give either `value` or `values`, not both")
    vals = (value,) if value is not None else (tuple(values) if values is not None else None)
    state = TrialState(state)
    if state == TrialState.RUNNING:
        raise ConfigError("a trial added to a study cannot be RUNNING; use study.ask() instead")
    if state == TrialState.COMPLETE:
        if vals is None:
            raise ConfigError("a COMPLETE trial needs `value` or `values`")
        if any(not math.isfinite(float(v)) for v in vals):
            raise ConfigError(f"objective values must be finite, but got {vals}")
    elif vals is not None:
        raise ConfigError(f"only COMPLETE trials carry values, but state={state.name}")
    params = dict(params or {})
    distributions = dict(distributions or {})
    if set(params) != set(distributions):
        raise ConfigError(
            f"`params` and `distributions` must have the same keys, but got {sorted(params)} "
            f"and {sorted(distributions)}"
        )
    for name, v in params.items():
        try:
            distributions[name].to_internal(v)
        except SearchSpaceError as exc:
            raise ConfigError(f"parameter {name!r}: {exc}") from None
    now = _dt.datetime.now()
    return FrozenTrial(
        number=-1,
        trial_id=-1,
        state=state,
        values=vals,
        params=params,
        distributions=distributions,
        user_attrs=dict(user_attrs or {}),
        system_attrs=dict(system_attrs or {}),
        intermediate_values={int(k): float(v) for k, v in (intermediate_values or {}).items()},
        datetime_start=None if state == TrialState.WAITING else now,
        datetime_complete=now if state.is_finished() else None,
    )
