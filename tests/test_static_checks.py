"""The linters the developers' guide relies on run in CI too: ruff over the whole tree and
mypy over the package and the benchmarks (their versions pinned in the ``dev`` extra, so a
new release cannot turn main red on its own)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it is in the `dev` extra)")
    return found


def _check(args: list[str]) -> None:
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args[:3])} ...:\n{result.stdout}{result.stderr}"


def test_ruff_is_clean():
    _check([_tool("ruff"), "check", "--no-cache", "autolearn", "tests", "benchmarks",
            "examples"])


def test_mypy_is_clean():
    _check([_tool("mypy"), "autolearn", "benchmarks"])
