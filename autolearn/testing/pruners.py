"""Conformance suite every pruner passes.

Subclass :class:`PrunerConformance` and provide ``make_pruner()``::

    class TestMyPruner(PrunerConformance):
        @staticmethod
        def make_pruner():
            return MyPruner()
"""

from __future__ import annotations

import math

import autolearn
from autolearn import TrialState, create_trial
from autolearn.pruners import BasePruner
from autolearn.samplers import RandomSampler

__all__ = ["PrunerConformance"]


def _curve(trial: autolearn.Trial, n_steps: int = 9) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    value = 0.0
    for step in range(n_steps):
        value = x + 1.0 / (step + 1)
        autolearn.pruners.report_and_prune(trial, value, step)
    return value


class PrunerConformance:
    """Behaviour shared by every :class:`~autolearn.pruners.BasePruner`."""

    @staticmethod
    def make_pruner() -> BasePruner:  # pragma: no cover - overridden
        raise NotImplementedError

    def _study(self, **kw: object) -> autolearn.Study:
        return autolearn.create_study(sampler=RandomSampler(seed=0),
                                      pruner=self.make_pruner(), **kw)  # type: ignore[arg-type]

    def test_is_a_pruner(self) -> None:
        assert isinstance(self.make_pruner(), BasePruner)

    def test_no_report_no_prune(self) -> None:
        study = self._study()
        trial = study.ask()
        assert trial.should_prune() is False
        study.tell(trial, 1.0)

    def test_decisions_are_bools_and_study_runs(self) -> None:
        for direction in ("minimize", "maximize"):
            study = self._study(direction=direction)
            study.optimize(_curve, n_trials=30, catch=())
            states = {t.state for t in study.trials}
            assert states <= {TrialState.COMPLETE, TrialState.PRUNED}
            assert TrialState.COMPLETE in states
            for t in study.trials:
                if t.state == TrialState.PRUNED:
                    last = t.last_step
                    assert last is not None
                    assert t.values == (t.intermediate_values[last],)

    def test_nan_report_does_not_crash(self) -> None:
        study = self._study()
        study.optimize(_curve, n_trials=5, catch=())
        trial = study.ask()
        trial.report(math.nan, 0)
        assert isinstance(trial.should_prune(), bool)
        study.tell(trial, state=TrialState.PRUNED)

    def test_history_with_failed_and_waiting_trials(self) -> None:
        study = self._study()
        study.add_trial(create_trial(state=TrialState.FAIL))
        study.enqueue_trial({"x": 0.5})
        study.add_trial(create_trial(value=1.0, intermediate_values={0: 2.0, 3: 1.0}))
        study.optimize(_curve, n_trials=8, catch=())
        assert len(study.trials) == 10

    def test_with_worker_processes(self) -> None:
        study = self._study()
        study.optimize(_curve, n_trials=16, n_jobs=2, catch=())
        assert len(study.trials) == 16
        assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
