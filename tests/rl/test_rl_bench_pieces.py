"""The RL benchmark runs in pieces: ``--libs`` and ``--first-seed`` pick which missing runs
execute, while the report reads every seed of both libraries from the cache."""

import argparse
import json

import pytest

from benchmarks.rl import _bench


def _args(tmp_path, **kw):
    parser = argparse.ArgumentParser()
    _bench.add_arguments(parser)
    ns = parser.parse_args(["--algos", "a2c", "--envs", "CartPole-v1", "--seeds", "3",
                            "--no-throughput", "--cache", str(tmp_path / "c.jsonl"), *kw.get(
                                "argv", [])])
    ns.quick = False
    return ns


def test_libs_and_first_seed_select_the_runs(tmp_path, monkeypatch):
    ran, reported = [], []
    monkeypatch.setattr(_bench, "_run_task", lambda task, quick: ran.append(
        (task["lib"], task["seed"])) or {"solved": True, "steps_to_solve": 1})
    monkeypatch.setattr(_bench, "_report", lambda records, args: reported.append(records))
    _bench.run(_args(tmp_path, argv=["--libs", "sb3", "--first-seed", "1"]))
    assert sorted(ran) == [("sb3", 1), ("sb3", 2)]
    ran.clear()
    _bench.run(_args(tmp_path))  # the rest; cached runs are not repeated
    assert sorted(ran) == [("autolearn", 0), ("autolearn", 1), ("autolearn", 2), ("sb3", 0)]
    assert len(reported[-1]) == 6  # the report reads both libraries, every seed


def test_unknown_library_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="--libs"):
        _bench.run(_args(tmp_path, argv=["--libs", "rllib"]))


def _solve_record(algo, env, n_envs, lib, seed):
    return {"kind": "solve", "algo": algo, "env": env, "n_envs": n_envs, "lib": lib,
            "seed": seed, "solved": True, "steps_to_solve": 1000 * (seed + 1),
            "cpu_to_solve": 1.0, "train_cpu": 1.0, "final_eval": 500.0, "budget": 100_000}


def test_async_q_rows_have_no_goal_while_dqn_rows_keep_theirs(tmp_path):
    """Issue #5 sets no goal for asynchronous Q-learning: its rows are informational."""
    from benchmarks.rl._zoo import SETTINGS

    records = []
    for key in ("dqn/CartPole-v1", "async_q/CartPole-v1"):
        s = SETTINGS[key]
        for lib in ("autolearn", "sb3") if s.algo == "dqn" else ("autolearn",):
            records += [_solve_record(s.algo, s.env, s.n_envs, lib, i) for i in range(3)]
    report = _bench._report(records, _args(tmp_path))
    rows = {(r[0], r[1].split()[0]): r for r in report.rows}
    for measure in ("env steps to solve (median)", "train CPU-s to solve (median)"):
        assert rows[(measure, "ASYNC_Q")][6:] == ["", ""]
        assert rows[(measure, "DQN")][6] and rows[(measure, "DQN")][7] in ("met", "missed")
    assert any("No goal for the asynchronous Q-learning" in n for n in report.notes)


def test_side_by_side_helpers_and_result_pages(tmp_path, monkeypatch, capsys):
    from benchmarks.rl import _sidebyside, images, images_throughput, tune_vs_optuna

    calls = []
    runs = _sidebyside.interleaved(range(3), [
        ("a", lambda s: calls.append(("a", s)) or {"x": s}),
        ("b", lambda s: calls.append(("b", s)) or {"x": -s})])
    assert calls == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2)]
    assert runs[2] == {"seed": 1, "lib": "b", "x": -1}
    assert _sidebyside.command_line("m", ["--seeds", "2"]) == "python -m m --seeds 2"
    # each page's main with its training stubbed out: the tables render
    monkeypatch.setattr(_sidebyside, "RESULTS", tmp_path)
    fake = {"solved_at": 4096, "steps": 4096, "cpu": 2.0, "curve": []}
    monkeypatch.setattr(images, "run_autolearn", lambda seed: fake)
    monkeypatch.setattr(images, "run_sb3", lambda seed: {**fake, "solved_at": None})
    images.main(["--seeds", "2"])
    assert "| env steps to solve (median) | 4,096 | 102,400 | 0.04 |" in (
        tmp_path / "rl_images.md").read_text()
    monkeypatch.setattr(images_throughput, "run_autolearn",
                        lambda s, n, r=True: 300.0 if r else 360.0)
    monkeypatch.setattr(images_throughput, "run_sb3", lambda s, n: 250.0)
    images_throughput.main(["--seeds", "1"])
    assert "| 300 | 250 | 1.20 |" in (tmp_path / "rl_images_throughput.md").read_text()
    stats = {"best_value": 500.0, "steps_trained": 1000, "complete": 1, "pruned": 1, "failed": 0}
    monkeypatch.setattr(tune_vs_optuna, "search_autolearn", lambda *args: ({}, stats))
    monkeypatch.setattr(tune_vs_optuna, "search_optuna", lambda *args: ({}, stats))
    monkeypatch.setattr(tune_vs_optuna, "confirm", lambda config, steps: 400.0)
    tune_vs_optuna.main(["--seeds", "1", "--trials", "2"])
    assert "| 400.0 | 400.0 | 1.00 |" in (tmp_path / "rl_tune_vs_optuna.md").read_text()
    capsys.readouterr()


def test_trial_seeds_benchmark_runs_both_arms_on_equal_training_runs(tmp_path, monkeypatch,
                                                                     capsys):
    from benchmarks.rl import _sidebyside, trial_seeds

    monkeypatch.setattr(_sidebyside, "RESULTS", tmp_path)
    trial_seeds.main(["--algo", "a2c", "--steps", "200", "--trials", "4", "--k", "2",
                      "--searches", "2", "--fresh", "1", "--n-envs", "2"])
    data = json.loads((tmp_path / "rl_trial_seeds.json").read_text())
    arms = {r["lib"] for r in data["runs"]}
    assert arms == {"1 seed per trial", "2 seeds per trial"} and len(data["runs"]) == 4
    for r in data["runs"]:  # every search made 4 training runs of >= 200 steps
        assert r["complete"] + r["pruned"] + r["failed"] == (4 if r["lib"][0] == "1" else 2)
        assert len(r["fresh_returns"]) == 1 and r["fresh"] == r["fresh_returns"][0]
    assert len(data["diff"]) == 2
    assert "seeds per trial or one" in (tmp_path / "rl_trial_seeds.md").read_text()
    capsys.readouterr()
