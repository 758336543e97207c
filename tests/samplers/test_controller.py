"""ControllerSampler: the RL controller (REINFORCE / PPO) as a sampler."""

from __future__ import annotations

import math

import pytest

import autolearn
from autolearn.exceptions import ConfigError, SearchSpaceError
from autolearn.samplers import ControllerSampler
from autolearn.space import CategoricalDistribution
from autolearn.study import TrialState
from autolearn.testing.samplers import SamplerConformance

torch = pytest.importorskip("torch")


class TestControllerReinforce(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return ControllerSampler(seed=seed, batch_size=3)


class TestControllerPPO(SamplerConformance):
    @staticmethod
    def make_sampler(space, seed):
        return ControllerSampler(algorithm="ppo", seed=seed, batch_size=3)


X = CategoricalDistribution(["a", "b", "c"])


def _study_with(sampler, rewards_by_choice, choices):
    """Two finished trials with fixed choices, then one more ask to trigger the update."""
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    for c in choices:
        study.enqueue_trial({"x": c})
        t = study.ask()
        t.suggest_categorical("x", X.choices)
        study.tell(t, rewards_by_choice[c])
    return study


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_update_reinforces_the_sampled_tokens_not_the_argmax(algorithm):
    sampler = ControllerSampler(algorithm=algorithm, batch_size=2, lr=0.2, seed=0,
                                entropy_coef=0.0, persist=False)
    sampler._ensure(("x", 3))
    with torch.no_grad():  # make "a" the controller's argmax; it is never sampled below
        sampler._net.heads[0].bias.copy_(torch.tensor([2.0, 0.0, 0.0]))
    before = {c: sampler.probability({"x": c}, {"x": X}) for c in X.choices}
    assert max(before, key=before.get) == "a"
    study = _study_with(sampler, {"b": 1.0, "c": 0.0}, ["b", "c"])
    study.ask()  # before_trial: one update on the two finished trials
    assert sampler.n_updates == 1
    after = {c: sampler.probability({"x": c}, {"x": X}) for c in X.choices}
    # The rewarded sample gains, the punished one loses; reinforcing the argmax ("a") in
    # both trials would cancel out (advantages +0.5 and -0.5) and leave "b" unchanged.
    assert after["b"] > before["b"] + 0.05
    assert after["c"] < before["c"] - 0.02


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_controller_learns_a_synthetic_reward(algorithm):
    target = [2, 0, 3, 1, 2]
    choices = [0, 1, 2, 3]

    def objective(trial):
        return float(sum(trial.suggest_categorical(f"d{i}", choices) == t
                         for i, t in enumerate(target)))

    lr = 0.05 if algorithm == "reinforce" else 0.02  # PPO takes 4 steps per batch
    sampler = ControllerSampler(algorithm=algorithm, lr=lr, seed=1)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=120)
    values = [t.values[0] for t in study.trials]
    # Random search scores 5/4 = 1.25 on average (sd ~0.97 per sample).
    assert sum(values[:16]) / 16 < 2.5
    assert sum(values[-16:]) / 16 > 3.5
    assert study.best_value == 5.0
    dists = {f"d{i}": CategoricalDistribution(choices) for i in range(5)}
    p_target = sampler.probability({f"d{i}": t for i, t in enumerate(target)}, dists)
    assert p_target > 20 * 4.0 ** -5


def test_controller_minimises_by_negating_the_value():
    def objective(trial):
        return float(sum(trial.suggest_categorical(f"d{i}", [0, 1, 2]) for i in range(4)))

    study = autolearn.create_study(direction="minimize",
                                   sampler=ControllerSampler(lr=0.05, seed=0))
    study.optimize(objective, n_trials=96)
    values = [t.values[0] for t in study.trials]
    assert sum(values[-16:]) / 16 < 1.5 < sum(values[:16]) / 16


def test_failed_children_get_a_defined_reward_and_are_avoided():
    def objective(trial):
        op = trial.suggest_categorical("op", ["ok", "nan", "raise"])
        k = trial.suggest_categorical("k", [1, 2])
        if op == "nan":
            return math.nan
        if op == "raise":
            raise RuntimeError("child diverged")
        return float(k)

    sampler = ControllerSampler(lr=0.05, seed=3)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=80, catch=(RuntimeError,))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAIL) >= 5
    assert all(math.isfinite(h["mean_reward"]) for h in sampler.history)
    assert sampler.worst_reward == 1.0
    assert [t.state for t in study.trials[-16:]].count(TrialState.FAIL) <= 3
    dists = {"op": CategoricalDistribution(["ok", "nan", "raise"]),
             "k": CategoricalDistribution([1, 2])}
    assert sampler.probability({"op": "ok", "k": 2}, dists) > 0.5


def test_failure_reward_and_reward_transform_are_used():
    seen = []

    def transform(r):
        seen.append(r)
        return r ** 3

    sampler = ControllerSampler(batch_size=2, failure_reward=-5.0, reward_transform=transform,
                                seed=0, persist=False)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial({"x": "a"})
    t = study.ask()
    t.suggest_categorical("x", X.choices)
    study.tell(t, 2.0)
    t = study.ask()
    t.suggest_categorical("x", X.choices)
    study.tell(t, state=TrialState.FAIL)
    study.ask()
    assert seen == [2.0]
    assert sampler.history[0]["mean_reward"] == pytest.approx((8.0 - 5.0) / 2)


def test_action_mask_forbids_choices():
    def mask(name, prefix):
        if name == "second":  # "second" may not repeat "first"
            return [c != prefix["first"] for c in ["a", "b", "c"]]
        return None

    sampler = ControllerSampler(seed=0, action_mask=mask, batch_size=4)
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: float(t.suggest_categorical("first", ["a", "b", "c"]) == "a")
                   + float(t.suggest_categorical("second", ["a", "b", "c"]) == "b"),
                   n_trials=40)
    assert all(t.params["first"] != t.params["second"] for t in study.trials)
    assert sampler.n_updates == 9  # masked sequences replay through the update


@pytest.mark.parametrize("mask, match", [
    (lambda n, p: [False, False, False], "no choice"),
    (lambda n, p: [True, False], "3 choices"),
])
def test_bad_action_masks_are_typed_errors(mask, match):
    study = autolearn.create_study(sampler=ControllerSampler(seed=0, action_mask=mask))
    with pytest.raises(SearchSpaceError, match=match):
        study.optimize(lambda t: float(t.suggest_categorical("x", X.choices) == "a"),
                       n_trials=1, catch=())


def test_resuming_continues_the_same_controller(tmp_path):
    url = f"sqlite:///{tmp_path / 'nas.db'}"

    def objective(trial):
        return float(sum(trial.suggest_categorical(f"d{i}", [0, 1, 2]) == 2 for i in range(3)))

    first = ControllerSampler(seed=0, lr=0.05)
    study = autolearn.create_study(study_name="s", storage=url, direction="maximize",
                                   sampler=first)
    study.optimize(objective, n_trials=20)
    assert first.n_updates == 2
    dists = {f"d{i}": CategoricalDistribution([0, 1, 2]) for i in range(3)}
    probe = {"d0": 2, "d1": 2, "d2": 2}
    p_first = first.probability(probe, dists)

    second = ControllerSampler(seed=0, lr=0.05)
    resumed = autolearn.load_study(study_name="s", storage=url, sampler=second)
    resumed.ask()  # loads the stored controller; 4 unconsumed trials < batch: no update
    assert second.n_updates == 2
    assert second.probability(probe, dists) == pytest.approx(p_first, rel=1e-6)
    assert second._consumed == set(range(16))


def test_corrupt_state_is_a_typed_error():
    study = autolearn.create_study(sampler=ControllerSampler(seed=0))
    study.set_system_attr("controller:state", "not a state")
    with pytest.raises(ConfigError, match="controller state"):
        study.ask()


def test_non_categorical_parameters_use_the_independent_sampler():
    sampler = ControllerSampler(seed=0, batch_size=2)
    study = autolearn.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True)
                   + float(t.suggest_categorical("act", ["relu", "tanh"]) == "relu"),
                   n_trials=6)
    assert sampler._net.keys == [("act", 2)]
    assert len({t.params["lr"] for t in study.trials}) == 6


@pytest.mark.parametrize("kwargs, field", [
    ({"algorithm": "a2c"}, "algorithm"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": -1.0}, "lr"),
    ({"baseline_decay": 1.0}, "baseline_decay"),
    ({"tanh_c": 0.0}, "tanh_c"),
    ({"entropy_coef": -0.1}, "entropy_coef"),
    ({"action_mask": 3}, "action_mask"),
    ({"normalize_advantage": "rank"}, "normalize_advantage"),
    ({"baseline": "median"}, "baseline"),
])
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        ControllerSampler(**kwargs)


def _matching(trial):
    return float(sum(trial.suggest_categorical(f"d{i}", [0, 1, 2, 3]) == t
                     for i, t in enumerate([2, 0, 3])))


def _trained(scale, normalize):
    sampler = ControllerSampler(seed=3, batch_size=4, lr=0.05, entropy_coef=0.5,
                                normalize_advantage=normalize, persist=False,
                                reward_transform=lambda v: scale * v)
    study = autolearn.create_study(direction="maximize", sampler=sampler)
    study.optimize(_matching, n_trials=25)  # the 25th ask takes the 6th update
    dists = {f"d{i}": CategoricalDistribution([0, 1, 2, 3]) for i in range(3)}
    return sampler.probability({"d0": 2, "d1": 0, "d2": 3}, dists)


def test_running_normalization_makes_learning_independent_of_the_reward_scale():
    # Accuracy in % or as a fraction: with running normalization the controller takes the
    # same steps (the entropy bonus keeps its weight); without, the bonus is 100x weaker
    # against the % reward, which converges (p ~0.8) while the fraction stays flat (~0.07).
    assert _trained(100.0, "running") == pytest.approx(_trained(1.0, "running"), rel=1e-4)
    raw_pct, raw_frac = _trained(100.0, False), _trained(1.0, False)
    assert abs(raw_pct - raw_frac) > 0.1 * max(raw_pct, raw_frac)


def test_batch_baseline_is_the_leave_one_out_mean():
    sampler = ControllerSampler(seed=0, baseline="batch")
    adv, _ = sampler._advantages(torch.tensor([1.0, 2.0, 3.0]))
    assert adv.tolist() == pytest.approx([-1.5, 0.0, 1.5])
    ema = ControllerSampler(seed=0)  # first batch: the EMA baseline is the batch mean
    adv, _ = ema._advantages(torch.tensor([1.0, 2.0, 3.0]))
    assert adv.tolist() == pytest.approx([-1.0, 0.0, 1.0])
