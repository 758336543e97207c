"""Trust-region restarts of the BO loop (autolearn.samplers.bo.restart)."""

import numpy as np
import pytest

import autolearn
from autolearn.exceptions import ConfigError
from autolearn.samplers._gp import GPSampler
from autolearn.samplers.bo import TrustRegionRestarts
from autolearn.samplers.bo.restart import PHASE_KEY, RestartHistory, stalled


def test_stalled_compares_the_last_window_with_the_scale_of_y():
    y = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 1.0, 1.0, 1.0])
    assert stalled(y, window=2, tol=1e-2)  # no improvement over the last 2
    assert not stalled(y, window=3, tol=1e-2)  # 5.0 -> 1.0 within the last 3
    assert not stalled(y[:3], window=3, tol=1e-2)  # too few values
    # An improvement of 0.01 against median - min = 4.01 is below 1e-2 of it; 0.1 is not.
    assert stalled(np.r_[y, 0.99], window=2, tol=1e-2)
    assert not stalled(np.r_[y, 0.9], window=2, tol=1e-2)


def test_replay_doubles_and_halves_the_box_and_ends_the_phase():
    policy = TrustRegionRestarts(n_design=1, init_side=0.4, max_side=0.8, min_side=0.1,
                                 success_tol=2, failure_tol=2, max_phase_trials=20)
    X = np.zeros((1, 2))

    def replay(values):
        v = np.asarray(values, dtype=float)
        kinds = ["design"] + ["local"] * (len(v) - 1)
        return policy.replay(1, kinds, np.repeat(X, len(v), 0), v, np.ones(len(v), bool), 2)

    assert replay([0.0]).side == 0.4 and replay([0.0]).best_y == 0.0
    assert replay([0.0, -1.0, -2.0]).side == 0.8  # two successes
    assert replay([0.0, 1.0, 1.0]).side == 0.2  # two failures
    s = replay([0.0, 1.0, 1.0, 1.0, 1.0])
    assert s.side == 0.1 and not s.ended
    assert replay([0.0] + [1.0] * 6).ended  # side 0.05 < min_side
    assert replay([0.0] * 20).ended  # max_phase_trials


def test_design_point_is_far_from_the_data_and_outside_excluded_basins():
    policy = TrustRegionRestarts(exclusion_radius=0.2, margin=0.05)
    cand = np.array([[0.5, 0.5], [0.9, 0.9], [0.1, 0.9], [1.0, 0.0], [0.12, 0.12]])
    X = np.array([[0.5, 0.45], [0.85, 0.85]])
    centres = np.array([[0.15, 0.85]])  # excludes [0.1, 0.9]
    x = policy.design_point(cand, X, centres, np.array([True, True]))
    np.testing.assert_array_equal(x, [0.12, 0.12])  # [1, 0] is on a face


def _history(tags, values, policy=None):
    policy = policy or TrustRegionRestarts(n_design=2, main_between=2, stall_window=3)
    points = np.linspace(0.0, 1.0, len(values))[:, None] * np.ones((1, 2))
    return RestartHistory.build(policy, points, np.asarray(values, dtype=float),
                                np.ones(len(values), bool), tags)


def test_history_knows_the_running_phase_and_the_basins_to_avoid():
    h = _history(["", "", "1:design", "1:design", "1:local"], [3.0, 1.0, 2.0, 0.5, 0.7])
    assert h.active and h.state.phase == 1 and h.state.n_design == 2
    assert h.state.best_y == 0.5 and h.next_phase == 2
    # The incumbent is the phase's best: one basin, dropped when asked to exclude it.
    np.testing.assert_array_equal(h.centres(), [h.points[3], h.points[3]])
    assert h.centres(exclude=h.points[3]).shape == (0, 2)
    assert not _history(["", ""], [1.0, 2.0]).active


def test_no_new_phase_right_after_one_nor_before_a_stall():
    class Flat:  # a posterior that promises nothing anywhere
        def predict(self, X):
            return np.full((1, len(X)), 10.0), np.full((1, len(X)), 1e-12)

    x = np.array([0.5, 0.5])
    stuck = [9.0, 8.0, 7.0, 6.0, 1.0, 1.0, 1.0, 1.0]
    assert _history([""] * 8, stuck).should_restart(Flat(), x)
    improving = [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0]
    assert not _history([""] * 8, improving).should_restart(Flat(), x)
    # A phase just ended (box collapsed): the main search gets main_between trials first.
    ended = TrustRegionRestarts(n_design=1, main_between=2, stall_window=3,
                                max_phase_trials=2)
    tags = ["", "", "", "1:design", "1:local", ""]
    h = _history(tags, [9.0, 8.0, 1.0, 7.0, 7.0, 1.0], ended)
    assert not h.active and not h.should_restart(Flat(), x)
    h = _history(tags + [""], [9.0, 8.0, 1.0, 7.0, 7.0, 1.0, 1.0], ended)
    assert h.should_restart(Flat(), x)


def _two_basins(trial):
    # A wide, shallow basin at (0.75, 0.75) that a GP finds first from most designs,
    # and a narrow, deeper one at (0.2, 0.2).
    x = np.array([trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)])
    return float(-np.exp(-np.sum((x - 0.75) ** 2) / 0.08)
                 - 1.3 * np.exp(-np.sum((x - 0.2) ** 2) / 0.01))


def test_a_converged_search_restarts_away_from_its_basin():
    def run(restarts):
        sampler = GPSampler(seed=0, n_startup_trials=5, restarts=restarts)
        study = autolearn.create_study(sampler=sampler)
        study.optimize(_two_basins, n_trials=45)
        return study

    study = run(TrustRegionRestarts(n_design=4, stall_window=6, refine_every=0))
    tags = [t.system_attrs.get(PHASE_KEY) for t in study.trials]
    first = next(i for i, tag in enumerate(tags) if tag)
    assert tags[first] == "1:design"
    assert all(tag and tag.startswith("1:") for tag in tags[first:first + 5])
    assert any(tag == "1:local" for tag in tags)
    incumbent = min(study.trials[:first], key=lambda t: t.value)
    c = np.array([incumbent.params["x"], incumbent.params["y"]])
    for t in study.trials[first:first + 4]:  # the design leaves the basin
        assert np.linalg.norm([t.params["x"] - c[0], t.params["y"] - c[1]]) > 0.1 * 2**0.5
    # Reproducible from the seed; nothing tagged without restarts.
    again = run(TrustRegionRestarts(n_design=4, stall_window=6, refine_every=0))
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
    assert not any(PHASE_KEY in t.system_attrs for t in run(False).trials)


def test_every_third_trial_of_a_phase_refines_the_incumbent():
    study = autolearn.create_study(sampler=GPSampler(
        seed=0, n_startup_trials=5, restarts=TrustRegionRestarts(n_design=4, stall_window=6)))
    study.optimize(_two_basins, n_trials=45)
    tags = [t.system_attrs.get(PHASE_KEY) for t in study.trials]
    refines = [i for i, tag in enumerate(tags) if tag == "0:refine"]
    assert refines
    for i in refines:  # after two trials of a phase
        assert all(tag and not tag.startswith("0:") for tag in tags[i - 2:i]), tags[i - 2:i]
        best = min(t.value for t in study.trials[:i])
        x = study.trials[i].params
        inc = min(study.trials[:i], key=lambda t: t.value).params
        # A step next to the incumbent (a box of side 0.1 around it).
        assert max(abs(x[k] - inc[k]) for k in x) <= 0.1 + 1e-9, (x, inc, best)


@pytest.mark.parametrize("kwargs", [
    {"stall_window": 0}, {"main_between": -1}, {"min_side": 0.0},
    {"init_side": 0.5, "max_side": 0.4}, {"n_design": 0}, {"n_design": 5, "max_phase_trials": 5},
])
def test_invalid_restart_options_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        TrustRegionRestarts(**kwargs)


def test_gp_sampler_rejects_a_non_policy():
    with pytest.raises(ConfigError):
        GPSampler(restarts="yes")  # type: ignore[arg-type]
