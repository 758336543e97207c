"""What the small side-by-side RL benchmarks (images, images_throughput, tune_vs_optuna)
share: the command line that reproduces a run, libraries alternating per seed, and the
run's metadata and result files."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """``python -m <module> <arguments>``, the arguments as given (``sys.argv`` when None)."""
    return f"python -m {module} " + shlex.join(sys.argv[1:] if argv is None else argv)


def interleaved(seeds: Iterable[int],
                libs: Sequence[tuple[str, Callable[[int], dict[str, Any]]]]
                ) -> list[dict[str, Any]]:
    """``{"seed", "lib", **fn(seed)}`` per seed and library, the libraries in the given
    order on even seeds and reversed on odd ones; each printed as a JSON line."""
    runs: list[dict[str, Any]] = []
    for seed in seeds:
        for lib, fn in libs if seed % 2 == 0 else list(libs)[::-1]:
            runs.append({"seed": seed, "lib": lib, **fn(seed)})
            print(json.dumps(runs[-1]), flush=True)
    return runs


def metadata(command: str, load_before: tuple[float, float, float]) -> dict[str, Any]:
    """The command, date, machine, Python and load averages of a finished run."""
    return {"command": command, "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": platform.platform(), "python": platform.python_version(),
            "load_before": load_before, "load_after": os.getloadavg()}


def header(title: str, meta: dict[str, Any]) -> list[str]:
    """A result page's first lines: the title and the command with its circumstances."""
    return [f"# {title}", "",
            f"Command: `{meta['command']}` ({meta['date']}, {meta['machine']}; load average "
            f"before {meta['load_before'][0]:.1f}, after {meta['load_after'][0]:.1f}).", ""]


def write(name: str, data: dict[str, Any], lines: list[str]) -> None:
    """``benchmarks/results/<name>.json`` (``data``) and ``<name>.md`` (``lines``)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
