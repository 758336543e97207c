import autolearn
from autolearn import TrialState, create_trial
from autolearn.pruners import HyperbandPruner
from autolearn.samplers import BaseSampler
from autolearn.samplers._bohb import BOHBSampler, BudgetView, bohb, choose_budget
from autolearn.space import FloatDistribution


def _add(study, x, curve, state=TrialState.COMPLETE):
    study.add_trial(create_trial(
        params={"x": x}, distributions={"x": FloatDistribution(0, 1)},
        value=curve[-1] if state == TrialState.COMPLETE else None, state=state,
        intermediate_values=dict(enumerate(curve))))


def test_budget_view_and_choice():
    study = autolearn.create_study()
    _add(study, 0.1, [5, 4, 3, 2])
    _add(study, 0.2, [6, 5], TrialState.PRUNED)
    _add(study, 0.3, [7], TrialState.PRUNED)
    assert choose_budget(study, 3) == 0
    assert choose_budget(study, 2) == 1
    assert choose_budget(study, 1) == 3
    assert choose_budget(study, 4) is None
    view = BudgetView(study, 1)
    got = view.get_trials(states=(TrialState.COMPLETE,))
    assert [(t.params["x"], t.values) for t in got] == [(0.1, (4.0,)), (0.2, (5.0,))]
    assert view.direction == study.direction and view.study_name == study.study_name


class Spy(BaseSampler):
    def __init__(self):
        self.seen = []

    def infer_relative_search_space(self, study, trial):
        self.seen.append((study.budget, len(study.get_trials(states=(TrialState.COMPLETE,)))))
        return {}

    def sample_relative(self, study, trial, space):
        return {}

    def sample_independent(self, study, trial, name, dist):
        return 0.5


def test_bohb_models_the_largest_budget_with_enough_points():
    spy = Spy()
    study = autolearn.create_study(sampler=BOHBSampler(base=spy, min_points_in_model=2,
                                                       random_fraction=0.0, seed=0))
    _add(study, 0.1, [5, 4, 3, 2])
    _add(study, 0.2, [6, 5], TrialState.PRUNED)
    t = study.ask()
    assert t.suggest_float("x", 0, 1) == 0.5
    assert study.sampler._bases[1].seen == [(1, 2)]
    assert study.trials[-1].system_attrs["bohb_budget"] == 1


def test_bohb_random_fraction_and_helper():
    sampler, pruner = bohb(max_resource=9, seed=1, random_fraction=1.0,
                           base=Spy())
    assert isinstance(pruner, HyperbandPruner)
    study = autolearn.create_study(sampler=sampler, pruner=pruner)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    assert all("bohb_budget" not in t.system_attrs for t in study.trials)


def test_bohb_with_tpe_beats_random_budget_use():
    # A toy multi-fidelity problem: the curve converges to (x - 0.7)^2 as steps grow.
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 0, 1)
        value = 0.0
        for step in range(9):
            value = (x - 0.7) ** 2 + (y - 0.2) ** 2 + 1.0 / (step + 1)
            autolearn.pruners.report_and_prune(trial, value, step)
        return value

    sampler, pruner = bohb(max_resource=9, seed=0)
    study = autolearn.create_study(sampler=sampler, pruner=pruner)
    study.optimize(objective, n_trials=60)
    budgets = [t.system_attrs.get("bohb_budget") for t in study.trials]
    assert sum(b is not None for b in budgets) >= 20  # the model was used
    assert study.best_value < 1 / 9 + 0.01
