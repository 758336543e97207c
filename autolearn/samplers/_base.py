"""The sampler contract: every searcher in autolearn is a sampler."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autolearn.space import BaseDistribution
    from autolearn.study import FrozenTrial, Study, TrialState

__all__ = ["BaseSampler", "IndependentSampler"]


class BaseSampler(abc.ABC):
    """Proposes parameter values for trials.

    Call order for one trial:

    1. ``before_trial(study, trial)`` right after the trial was created;
    2. ``infer_relative_search_space(study, trial)`` and, if it is not empty,
       ``sample_relative(study, trial, space)`` once, before the objective runs: joint
       proposals for the parameters of that space (model-based samplers, grid search);
    3. ``sample_independent(study, trial, name, distribution)`` for every parameter the
       objective suggests that ``sample_relative`` did not cover (define-by-run);
    4. ``after_trial(study, trial, state, values)`` once the trial has finished.

    ``trial`` is a read-only :class:`~autolearn.study.FrozenTrial` snapshot; samplers must
    not mutate the study except through ``study`` methods meant for it (``stop()``, trial
    system attributes via ``study._storage.set_trial_attr(..., system=True)``). With several
    worker processes each process holds its own copy of the sampler: shared state belongs
    in the storage, not in the sampler object.
    """

    @abc.abstractmethod
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The parameters this sampler proposes jointly for ``trial`` (may be empty)."""

    @abc.abstractmethod
    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Joint proposal (external values) for the parameters in ``search_space``."""

    @abc.abstractmethod
    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        """Proposal (external value) for one parameter not covered by ``sample_relative``."""

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Hook called when a trial starts (default: nothing)."""

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Hook called when a trial has finished (default: nothing)."""

    def is_exhausted(self, study: Study) -> bool:
        """Whether the sampler has nothing left to propose (finite searches); default False."""
        return False


class IndependentSampler(BaseSampler):
    """A sampler that decides every parameter on its own, in the order the objective asks
    (random search, evolution, the RL controller): no joint proposals, so only
    :meth:`sample_independent` (and the hooks) are left to implement."""

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}
