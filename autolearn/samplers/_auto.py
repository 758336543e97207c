"""The default sampler: picks a searcher from the shape of the problem."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from autolearn._records import TrialState
from autolearn._rng import SeedLike, as_generator
from autolearn.samplers._base import BaseSampler
from autolearn.space import CategoricalDistribution

if TYPE_CHECKING:
    from autolearn._records import FrozenTrial
    from autolearn.space import BaseDistribution
    from autolearn.study import Study

__all__ = ["AutoSampler"]

_logger = logging.getLogger(__name__)

_CHOICE_KEY = "auto_sampler"


class AutoSampler(BaseSampler):
    """What ``create_study()`` uses when no sampler is given.

    For each trial it looks at the study so far and hands the trial to one searcher:

    * several objectives: TPE (its multi-objective form);
    * a conditional space (parameters that appear in some trials only): TPE;
    * more than ``gp_max_dim`` parameters, or more than ``gp_max_onehot`` encoded
      dimensions (a categorical parameter counts one per choice): TPE;
    * otherwise (a fixed space within both limits, whatever its parameters' types:
      floats, integers, categoricals) GP-BO while the study has fewer than
      ``gp_max_trials`` complete trials, TPE after that (the GP's cost grows with n³).

    Where the rule comes from (``docs/samplers.md``, "The default: AutoSampler"): the
    sampler benchmark (``benchmarks/results/samplers.md``), with the spaces that are not all
    continuous piloted on seeds that are never reported (100-129): GP-BO against TPE on the
    5 HPOBench-MLP tables (5 integer parameters), the 2 HPOLib tables (6 integers and 3
    binary categoricals), NAS-Bench-201 (6 categoricals of 5 choices: 30 encoded
    dimensions) and SGDClassifier tuning on digits (4 floats, 1 integer, 3 categoricals: 17
    encoded dimensions). Spaces beyond those (more than 12 parameters or 32 encoded
    dimensions) are untested and stay with TPE, which costs less there; the benchmark has no
    conditional space and no parallel workers, so those branches are unmeasured.

    Each trial records the searcher that proposed it in
    ``trial.system_attrs["auto_sampler"]``. Reproducible from ``seed``.

    Args:
        seed: Seeds every underlying searcher.
        gp_max_dim: Most parameters handed to GP-BO.
        gp_max_onehot: Most encoded dimensions (one per float or integer, one per choice of
            a categorical) handed to GP-BO.
        gp_max_trials: Complete trials after which GP-BO hands over to TPE.
    """

    def __init__(self, *, seed: SeedLike = None, gp_max_dim: int = 12,
                 gp_max_onehot: int = 32, gp_max_trials: int = 250) -> None:
        from autolearn.exceptions import ConfigError

        for name, value in (("gp_max_dim", gp_max_dim), ("gp_max_onehot", gp_max_onehot),
                            ("gp_max_trials", gp_max_trials)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"`{name}` must be an int >= 0 (0: never GP-BO), but got "
                                  f"{value!r}")
        if isinstance(seed, int) and not isinstance(seed, bool):
            self._seed = seed
        else:
            self._seed = int(as_generator(seed).integers(2**62))
        self.gp_max_dim = gp_max_dim
        self.gp_max_onehot = gp_max_onehot
        self.gp_max_trials = gp_max_trials
        self._tpe: BaseSampler | None = None
        self._gp: BaseSampler | None = None
        self._choice: dict[int, BaseSampler] = {}

    def _get(self, name: str) -> BaseSampler:
        if name == "gp":
            if self._gp is None:
                from autolearn.samplers._gp import GPSampler

                self._gp = GPSampler(seed=self._seed)
            return self._gp
        if self._tpe is None:
            from autolearn.samplers.tpe import TPESampler

            self._tpe = TPESampler(seed=self._seed, multivariate=True, group=True,
                                   constant_liar=True)
        return self._tpe

    def choose(self, study: Study) -> str:
        """Name of the searcher (``"gp"`` or ``"tpe"``) for the next trial."""
        if study.is_multi_objective:
            return "tpe"
        complete = study.get_trials(states=(TrialState.COMPLETE,))
        if len(complete) >= self.gp_max_trials:
            return "tpe"
        names: set[str] = set()
        shared: set[str] | None = None
        dists: dict[str, BaseDistribution] = {}
        for t in complete:
            keys = set(t.params)
            names |= keys
            shared = keys if shared is None else shared & keys
            dists.update(t.distributions)
        if shared is not None and shared != names:
            return "tpe"  # conditional space
        onehot = sum(len(d.choices) if isinstance(d, CategoricalDistribution) else 1
                     for d in dists.values())
        if len(dists) > self.gp_max_dim or onehot > self.gp_max_onehot:
            return "tpe"
        return "gp"

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        name = self.choose(study)
        sampler = self._get(name)
        self._choice[trial.number] = sampler
        study._storage.set_trial_attr(trial.trial_id, _CHOICE_KEY, name, system=True)
        sampler.before_trial(study, trial)

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        sampler = self._choice.get(trial.number)
        if sampler is None:  # e.g. the trial started in another process
            sampler = self._get(trial.system_attrs.get(_CHOICE_KEY, "tpe"))
            self._choice[trial.number] = sampler
        return sampler

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: Any, values: Any) -> None:
        sampler = self._choice.pop(trial.number, None) or self._for(trial)
        sampler.after_trial(study, trial, state, values)
