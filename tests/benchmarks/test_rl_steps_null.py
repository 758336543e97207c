"""benchmarks/rl/steps_null.py: the null spread of a ratio of medians of steps to solve."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.rl.steps_null import analyse, main


def _runs(algo: str, env: str, lib: str, steps: list[int]) -> list[dict]:
    return [{"kind": "solve", "algo": algo, "env": env, "lib": lib, "seed": i,
             "steps_to_solve": s} for i, s in enumerate(steps)]


def test_same_samples_sit_inside_the_null_and_a_shift_outside():
    rng = np.random.default_rng(1)
    base = [int(x) for x in rng.integers(5, 30, 40) * 1000]
    runs = (_runs("a2c", "Acrobot-v1", "autolearn", base) + _runs("a2c", "Acrobot-v1", "sb3", base)
            + _runs("ppo", "CartPole-v1", "autolearn", [3 * s for s in base])
            + _runs("ppo", "CartPole-v1", "sb3", base)
            + _runs("dqn", "CartPole-v1", "autolearn", base))  # no SB3 runs: no row
    rows = {(r["algo"], r["env"]): r for r in analyse(runs, draws=4000, seed=0)}
    assert set(rows) == {("a2c", "Acrobot-v1"), ("ppo", "CartPole-v1")}
    same, shifted = rows["a2c", "Acrobot-v1"], rows["ppo", "CartPole-v1"]
    assert same["observed"] == 1.0 and same["n"] == (40, 40)
    assert same["null_5_95"][0] < 1.0 < same["null_5_95"][1]
    assert 0.3 < same["null_at_or_above"] < 0.9 and same["mann_whitney_p"] > 0.9
    assert shifted["observed"] == 3.0
    assert shifted["null_at_or_above"] == 0.0 and shifted["mann_whitney_p"] < 1e-6
    assert shifted["null_5_95"][1] < 3.0


def test_main_writes_the_table_with_its_command(tmp_path):
    cache = tmp_path / "runs.jsonl"
    runs = (_runs("a2c", "Acrobot-v1", "autolearn", [10_000, 12_000, 14_000])
            + _runs("a2c", "Acrobot-v1", "sb3", [12_000, 12_000, 16_000]))
    cache.write_text("\n".join(json.dumps(r) for r in runs) + "\n")
    out = tmp_path / "null.md"
    main(["--cache", str(cache), "--draws", "500", "--out", str(out)])
    text = out.read_text()
    assert "| A2C | Acrobot-v1 | 3, 3 | 12,000, 12,000 | 1.00 |" in text
    assert "benchmarks.rl.steps_null --cache" in text
