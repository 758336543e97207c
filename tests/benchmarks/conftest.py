"""Shared helpers of the benchmark tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

FakeRun = Callable[[str, str, int, float, int], dict[str, object]]


def _fake_sampler_run(optimizer: str, problem: str, seed: int, best: float,
                      trials: int) -> dict[str, object]:
    # Values fall to ``best`` at the last trial: the regret @25 of 30 is best + 5, @30 best.
    values = [best + (trials - 1 - i) for i in range(trials)]
    return {"task": {"optimizer": optimizer, "problem": problem, "seed": seed,
                     "n_trials": trials},
            "status": "ok", "optimum": 0.0, "values": values,
            "lib_cpu_s": [0.001] * trials, "wall_s": 0.1}


@pytest.fixture
def fake_sampler_run() -> FakeRun:
    """A made-up finished run of the sampler benchmark, for the ``--report-only`` tests."""
    return _fake_sampler_run
