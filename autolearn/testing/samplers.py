"""Conformance suite every sampler passes.

Subclass :class:`SamplerConformance` and provide ``make_sampler(space, seed)``::

    class TestMySampler(SamplerConformance):
        @staticmethod
        def make_sampler(space, seed):
            return MySampler(seed=seed)

``space`` is the :class:`~autolearn.space.SearchSpace` the test's objective will suggest
(grid-like samplers build their grid from it). Set ``finite_only = True`` for samplers
that only handle finite spaces; continuous floats are then left out.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import autolearn
from autolearn.samplers import BaseSampler
from autolearn.space import (
    CategoricalDistribution,
    Conditional,
    FloatDistribution,
    IntDistribution,
    SearchSpace,
)
from autolearn.study import TrialState

__all__ = ["SamplerConformance"]

_FINITE = SearchSpace({
    "i": IntDistribution(-3, 3),
    "istep": IntDistribution(0, 8, step=4),
    "ilog": IntDistribution(1, 64, log=True),
    "fstep": FloatDistribution(0.0, 1.0, step=0.25),
    "c": CategoricalDistribution(["a", 1, None, 2.5, [1, 2]]),
})
_CONT = SearchSpace({
    "f": FloatDistribution(-2.0, 3.0),
    "flog": FloatDistribution(1e-5, 1e2, log=True),
    **{k: _FINITE[k] for k in _FINITE},
})
_COND = SearchSpace({
    "model": CategoricalDistribution(["svm", "tree"]),
    "svm_kernel": Conditional(CategoricalDistribution(["rbf", "poly"]), parent="model",
                              values=["svm"]),
    "degree": Conditional(IntDistribution(2, 4), parent="svm_kernel", values=["poly"]),
    "depth": Conditional(IntDistribution(1, 3), parent="model", values=["tree"]),
})


def _objective(space: SearchSpace):  # type: ignore[no-untyped-def]
    def objective(trial: autolearn.Trial) -> float:
        params = space.suggest(trial)
        total = 0.0
        for v in params.values():
            if isinstance(v, int | float) and not isinstance(v, bool):
                total += float(v) ** 2
        return total

    return objective


class SamplerConformance:
    """Behaviour shared by every :class:`~autolearn.samplers.BaseSampler`."""

    finite_only: ClassVar[bool] = False
    n_trials: ClassVar[int] = 12

    @staticmethod
    def make_sampler(space: SearchSpace, seed: int | None) -> BaseSampler:  # pragma: no cover
        raise NotImplementedError

    def _space(self) -> SearchSpace:
        return _FINITE if self.finite_only else _CONT

    def _study(self, space: SearchSpace, seed: int | None = 0, **kw: Any) -> autolearn.Study:
        return autolearn.create_study(sampler=self.make_sampler(space, seed), **kw)

    def test_is_a_sampler(self) -> None:
        assert isinstance(self.make_sampler(self._space(), 0), BaseSampler)

    def test_values_lie_in_their_distributions(self) -> None:
        space = self._space()
        study = self._study(space)
        study.optimize(_objective(space), n_trials=self.n_trials, catch=())
        trials = study.get_trials(states=(TrialState.COMPLETE,))
        assert trials
        for t in trials:
            for name, value in t.params.items():
                dist = space[name]
                assert dist.contains(dist.to_internal(value)), (name, value)
                if isinstance(dist, IntDistribution):
                    assert type(value) is int
                if isinstance(dist, FloatDistribution):
                    assert isinstance(value, float)

    def test_reproducible_from_seed(self) -> None:
        space = self._space()
        runs = []
        for _ in range(2):
            study = self._study(space, seed=7)
            study.optimize(_objective(space), n_trials=self.n_trials, catch=())
            runs.append([dict(t.params) for t in study.trials])
        assert runs[0] == runs[1]

    def test_conditional_space(self) -> None:
        study = self._study(_COND)
        study.optimize(_objective(_COND), n_trials=self.n_trials, catch=())
        for t in study.trials:
            assert t.state == TrialState.COMPLETE
            _COND.validate(t.params)

    def test_history_with_failed_and_pruned_trials(self) -> None:
        space = self._space()
        study = self._study(space)
        inner = _objective(space)

        def objective(trial: autolearn.Trial) -> float:
            value = inner(trial)
            if trial.number % 3 == 1:
                trial.report(value, 0)
                raise autolearn.TrialPruned()
            if trial.number % 3 == 2:
                raise RuntimeError("boom")
            return value

        study.optimize(objective, n_trials=self.n_trials)
        states = {t.state for t in study.trials}
        assert states == {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}

    def test_multi_objective(self) -> None:
        space = self._space()
        study = self._study(space, directions=["minimize", "maximize"])
        inner = _objective(space)
        study.optimize(lambda t: (inner(t), -inner(t)), n_trials=self.n_trials, catch=())
        assert all(t.state == TrialState.COMPLETE for t in study.trials)
        assert study.best_trials

    def test_ask_tell_and_enqueue(self) -> None:
        space = self._space()
        study = self._study(space)
        fixed = {name: space[name].to_external(space[name].to_internal(v))
                 for name, v in next(iter(_first_points(space))).items()}
        study.enqueue_trial(fixed)
        t = study.ask()
        params = space.suggest(t)
        assert params == fixed
        study.tell(t, 1.0)
        for _ in range(3):
            t = study.ask()
            space.suggest(t)
            study.tell(t, 0.5)
        assert [x.state for x in study.trials] == [TrialState.COMPLETE] * 4

    def test_parallel_workers(self) -> None:
        space = self._space()
        study = self._study(space)
        study.optimize(_objective(space), n_trials=8, n_jobs=2, catch=())
        trials = study.trials
        assert len(trials) == 8
        assert all(t.state == TrialState.COMPLETE for t in trials)
        assert sorted(t.number for t in trials) == list(range(len(trials)))

    def test_single_value_distributions(self) -> None:
        space = SearchSpace({
            "a": FloatDistribution(1.5, 1.5),
            "b": IntDistribution(2, 2),
            "c": CategoricalDistribution(["only"]),
        })
        study = self._study(space)
        study.optimize(_objective(space), n_trials=2, catch=())
        for t in study.trials:
            assert dict(t.params) == {"a": 1.5, "b": 2, "c": "only"}

    def test_values_are_finite_numbers(self) -> None:
        space = self._space()
        study = self._study(space)
        study.optimize(_objective(space), n_trials=4, catch=())
        for t in study.trials:
            for v in t.params.values():
                if isinstance(v, float):
                    assert math.isfinite(v)


def _first_points(space: SearchSpace) -> list[dict[str, Any]]:
    point: dict[str, Any] = {}
    for name, dist in space.items():
        if not space.is_active(name, point):
            continue
        if isinstance(dist, CategoricalDistribution):
            point[name] = dist.choices[-1]
        elif isinstance(dist, IntDistribution):
            point[name] = dist.high
        else:
            point[name] = dist.high if dist.step is not None else dist.low  # type: ignore
    return [point]
