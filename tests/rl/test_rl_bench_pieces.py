"""The RL benchmark runs in pieces: ``--libs`` and ``--first-seed`` pick which missing runs
execute, while the report reads every seed of both libraries from the cache."""

import argparse

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
