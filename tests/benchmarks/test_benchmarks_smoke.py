"""Smoke test of the benchmark runner (the benchmarks themselves are not run by CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_list_names_every_registered_benchmark() -> None:
    out = _bench("list")
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    assert {"storage_overhead", "worker_throughput", "samplers", "pruners"} <= set(names)


def test_storage_overhead_quick_writes_table_and_raw_numbers(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    out = _bench("run", "storage_overhead", "--quick", "--storages", "memory",
                 "--results-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "storage_overhead.md").read_text()
    assert "| memory |" in md
    assert "-m benchmarks run storage_overhead --quick" in md
    raw = json.loads((tmp_path / "storage_overhead.json").read_text())
    per_trial = raw["raw"]["us_per_trial"]["memory"]
    assert len(per_trial["autolearn"]) == len(per_trial["optuna"]) == 1
    assert all(v > 0 for v in per_trial["autolearn"] + per_trial["optuna"])
    assert raw["raw"]["failures"] == {"memory": []}


def test_unknown_benchmark_is_an_error() -> None:
    out = _bench("run", "no_such_benchmark")
    assert out.returncode == 2
    assert "unknown benchmark" in out.stderr


def test_sampler_grid_quick_times_both_grid_samplers(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    out = _bench("run", "sampler_grid", "--quick", "--results-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    md = (tmp_path / "sampler_grid.md").read_text()
    assert "| @30 |" in md and "-m benchmarks run sampler_grid --quick" in md
    raw = json.loads((tmp_path / "sampler_grid.json").read_text())["raw"]
    assert raw["trials"] == 30 and raw["levels"] == 4
    for lib in ("autolearn", "optuna"):
        assert len(raw["ms"][lib]["30"]) == 1 and raw["ms"][lib]["30"][0] > 0
