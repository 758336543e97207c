"""Trials as the objective sees them: define-by-run suggestions, reports, pruning."""

from __future__ import annotations

import abc
import datetime as _dt
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autolearn._records import FrozenTrial, TrialState
from autolearn.exceptions import ConfigError, SearchSpaceError, TrialStateError
from autolearn.space import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_compatible,
)
from autolearn.storages._base import FIXED_PARAMS_KEY

if TYPE_CHECKING:
    from autolearn.study._study import Study

__all__ = ["BaseTrial", "FixedTrial", "Trial"]


class BaseTrial(abc.ABC):
    """What an objective function receives: suggest parameters, report progress."""

    @abc.abstractmethod
    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        """Value of parameter ``name`` drawn from ``distribution``.

        Suggesting a name again in the same trial returns the same value; doing so with a
        different distribution raises :class:`~autolearn.exceptions.SearchSpaceError`.
        """

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """A float in ``[low, high]`` (log scale if ``log``; multiples of ``step`` from low)."""
        return self.suggest(name, FloatDistribution(low, high, log=log, step=step))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """An int in ``[low, high]`` (log scale if ``log``; every ``step``-th value)."""
        return self.suggest(name, IntDistribution(low, high, log=log, step=step))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices`` (JSON-serialisable values)."""
        return self.suggest(name, CategoricalDistribution(choices))

    @abc.abstractmethod
    def report(self, value: float, step: int) -> None:
        """Record an intermediate objective value (e.g. validation loss after an epoch)."""

    @abc.abstractmethod
    def should_prune(self) -> bool:
        """Whether the study's pruner wants this trial stopped (raise TrialPruned then)."""

    @abc.abstractmethod
    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable attribute to the trial."""

    @property
    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """Parameters suggested so far."""

    @property
    @abc.abstractmethod
    def number(self) -> int:
        """The trial's number in its study."""


def _check_report(value: Any, step: Any) -> tuple[float, int]:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ConfigError(f"`step` must be a non-negative int, but got step={step!r}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"a reported value must be a real number, but got {value!r}")
    return float(value), int(step)


class Trial(BaseTrial):
    """A running trial of a study (created by :meth:`Study.ask` or ``optimize``)."""

    def __init__(self, study: Study, frozen: FrozenTrial) -> None:
        self.study = study
        self._storage = study._storage
        self._trial_id = frozen.trial_id
        self._number = frozen.number
        self._datetime_start = frozen.datetime_start
        self._params: dict[str, Any] = dict(frozen.params)
        self._distributions: dict[str, BaseDistribution] = dict(frozen.distributions)
        self._user_attrs: dict[str, Any] = dict(frozen.user_attrs)
        self._system_attrs: dict[str, Any] = dict(frozen.system_attrs)
        self._intermediate: dict[int, float] = dict(frozen.intermediate_values)
        self._fixed: dict[str, Any] = dict(frozen.system_attrs.get(FIXED_PARAMS_KEY) or {})
        self._finished = False
        sampler = study.sampler
        self._relative_space = sampler.infer_relative_search_space(study, frozen)
        self._relative_params: dict[str, Any] = {}
        if self._relative_space:
            self._relative_params = sampler.sample_relative(
                study, self._snapshot(), self._relative_space
            )

    # ---- identity -------------------------------------------------------------------------
    @property
    def number(self) -> int:
        return self._number

    @property
    def trial_id(self) -> int:
        return self._trial_id

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._system_attrs)

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    @property
    def datetime_start(self) -> _dt.datetime | None:
        return self._datetime_start

    def _snapshot(
        self,
        state: TrialState = TrialState.RUNNING,
        values: tuple[float, ...] | None = None,
        datetime_complete: _dt.datetime | None = None,
    ) -> FrozenTrial:
        return FrozenTrial._trusted(
            self._number, self._trial_id, state, values, dict(self._params),
            dict(self._distributions), dict(self._user_attrs), dict(self._system_attrs),
            dict(self._intermediate), self._datetime_start, datetime_complete,
        )

    def _check_running(self, what: str) -> None:
        if self._finished:
            raise TrialStateError(
                f"trial {self._number} has already finished; cannot {what} any more"
            )

    # ---- suggestions ------------------------------------------------------------------------
    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if not isinstance(name, str) or not name:
            raise SearchSpaceError(f"parameter names must be non-empty strings, got {name!r}")
        if not isinstance(distribution, BaseDistribution):
            raise SearchSpaceError(f"expected a distribution, but got {distribution!r}")
        if name in self._params:
            check_compatible(name, self._distributions[name], distribution)
            return self._params[name]
        self._check_running("suggest parameters")
        if name in self._fixed:
            value = self._fixed[name]
            try:
                internal = distribution.to_internal(value)
            except SearchSpaceError as exc:
                raise SearchSpaceError(
                    f"the enqueued value {value!r} of parameter {name!r} does not fit the "
                    f"suggested distribution: {exc}"
                ) from None
        else:
            if distribution.is_single():
                value = (
                    distribution.choices[0]
                    if isinstance(distribution, CategoricalDistribution)
                    else distribution.low  # type: ignore[attr-defined]
                )
            elif name in self._relative_params and _fits(distribution,
                                                          self._relative_params[name]):
                # A joint proposal is used whenever the suggested distribution admits it
                # (e.g. a grid given as a value list, suggested with suggest_int).
                value = self._relative_params[name]
            else:
                value = self.study.sampler.sample_independent(
                    self.study, self._snapshot(), name, distribution
                )
            internal = distribution.to_internal(value)
        self._storage.set_trial_param(self._trial_id, name, internal, distribution)
        external = distribution.to_external(internal)
        self._params[name] = external
        self._distributions[name] = distribution
        return external

    # ---- progress -----------------------------------------------------------------------------
    def report(self, value: float, step: int) -> None:
        self._check_running("report values")
        value, step = _check_report(value, step)
        if len(self.study.directions) > 1:
            raise ConfigError(
                "report() is for single-objective studies; intermediate values of a "
                "multi-objective study cannot be compared by pruners"
            )
        if step in self._intermediate:
            raise ConfigError(
                f"step {step} was already reported for trial {self._number} (value "
                f"{self._intermediate[step]}); report each step once"
            )
        self._storage.set_trial_intermediate_value(self._trial_id, step, value)
        self._intermediate[step] = value

    def should_prune(self) -> bool:
        self._check_running("ask about pruning")
        if len(self.study.directions) > 1:
            raise ConfigError("pruning is not supported for multi-objective studies")
        return bool(self.study.pruner.prune(self.study, self._snapshot()))

    def set_user_attr(self, key: str, value: Any) -> None:
        self._check_running("set attributes")
        self._storage.set_trial_attr(self._trial_id, key, value)
        self._user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        """Attach an attribute for autolearn's own components (samplers, pruners)."""
        self._storage.set_trial_attr(self._trial_id, key, value, system=True)
        self._system_attrs[key] = value

    def __repr__(self) -> str:
        return f"Trial(number={self._number}, params={self._params})"


class FixedTrial(BaseTrial):
    """A trial with given parameters, to rerun an objective outside any study.

    Args:
        params: Value of every parameter the objective suggests.
        number: Reported as ``trial.number``.

    Example:
        >>> from autolearn import FixedTrial
        >>> def objective(trial):
        ...     return trial.suggest_float("x", -10, 10) ** 2
        >>> objective(FixedTrial({"x": 3.0}))
        9.0
    """

    def __init__(self, params: Mapping[str, Any], *, number: int = 0) -> None:
        self._given = dict(params)
        self._params: dict[str, Any] = {}
        self._distributions: dict[str, BaseDistribution] = {}
        self._number = number
        self.user_attrs: dict[str, Any] = {}
        self.intermediate_values: dict[int, float] = {}

    @property
    def number(self) -> int:
        return self._number

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if name in self._params:
            check_compatible(name, self._distributions[name], distribution)
            return self._params[name]
        if name not in self._given:
            raise SearchSpaceError(
                f"FixedTrial has no value for parameter {name!r}; given: {sorted(self._given)}"
            )
        value = distribution.to_external(distribution.to_internal(self._given[name]))
        self._params[name] = value
        self._distributions[name] = distribution
        return value

    def report(self, value: float, step: int) -> None:
        value, step = _check_report(value, step)
        if step in self.intermediate_values:
            raise ConfigError(f"step {step} was already reported; report each step once")
        self.intermediate_values[step] = value

    def should_prune(self) -> bool:
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value


def _fits(distribution: BaseDistribution, value: Any) -> bool:
    try:
        distribution.to_internal(value)
    except SearchSpaceError:
        return False
    return True
