"""The A3C Acrobot pilot grid: its settings, pruning and selection rules."""

from benchmarks.rl import a3c_pilot as pilot
from benchmarks.rl._zoo import SETTINGS, ours_config


def test_grid_varies_only_envs_steps_and_learning_rate():
    settings = pilot.grid_settings()
    assert len(settings) == 18
    base = SETTINGS["a3c/Acrobot-v1"]
    s = settings["e16_n8_lr0.0014"]
    cfg = ours_config(s)
    assert (s.n_envs, cfg.n_envs, cfg.n_steps, cfg.learning_rate(0.0)) == (16, 16, 8, 1.4e-3)
    assert (cfg.n_workers, cfg.ent_coef, cfg.normalize_obs, cfg.normalize_reward) == (
        2, 0.0, True, True)
    assert (s.budget, s.eval_every, s.env) == (base.budget, base.eval_every, base.env)


def _st(steps, cpu):
    return {"n": 10, "solved": 10, "steps": steps, "cpu": cpu}


def test_prune_drops_slow_and_step_hungry_settings():
    stats = {pilot.SB3: _st(10_000, 2.0), "a": _st(10_000, 1.0), "b": _st(9_000, 1.6),
             "c": _st(15_001, 1.0), "d": _st(15_000, 1.5)}
    assert pilot.prune(stats) == ["a", "d"]


def test_select_prefers_steps_at_most_sb3_then_falls_back_within_1_1x():
    stats = {pilot.SB3: _st(10_000, 2.0), "a": _st(10_000, 1.2), "b": _st(9_000, 1.3),
             "c": _st(10_500, 0.9)}
    assert pilot.select(stats, ["a", "b", "c"])[0] == "a"
    lab, why = pilot.select(stats, ["c"])
    assert lab == "c" and "1.1x" in why
    assert pilot.select({**stats, "d": _st(12_000, 0.5)}, ["d"])[0] == ""


def test_summarise_uses_only_labels_with_every_seed():
    recs = [{"label": "a", "seed": s, "solved": True, "steps_to_solve": 1000 * s,
             "cpu_to_solve": 0.1 * s, "budget": 100_000} for s in (1, 2, 3)]
    recs.append({"label": "b", "seed": 1, "solved": False, "steps_to_solve": None,
                 "cpu_to_solve": None, "train_cpu": 9.0, "budget": 100_000})
    out = pilot.summarise(recs, [1, 2, 3])
    assert list(out) == ["a"] and out["a"]["steps"] == 2000
    assert pilot.summarise(recs, [1])["b"]["steps"] == 100_000  # unsolved: at the budget
