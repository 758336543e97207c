"""The runnable code blocks of the docs pages run, with their budgets capped.

A ```` ```python ```` block right after a ``<!-- run -->`` line is a complete example; every
such block of a page runs, in page order, in one fresh interpreter whose working directory
is a temporary folder (so later blocks may use what earlier ones built). A fenced block
right after ``<!-- file: NAME -->`` is written to ``NAME`` there first (a config file an
example reads, or a Python module it imports). Other blocks are sketches (signatures,
fragments with ``...``) and are not run. Every Python block of the RL pages must be run or
written: they are the algorithms' examples.

Budgets are capped before the examples run (RL ``learn()`` to :data:`RL_STEPS` env
steps, meta-learning to a few steps and tasks), so this checks that each example is
current code that runs end to end, not what it learns.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RL_STEPS = 2048

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_MARK = re.compile(r"<!--\s*(run|file:\s*(\S+))\s*-->\s*\n$")

# Applied before a page's blocks: cap the budgets of the long-running entry points. Each
# cap wraps the method and lowers one named argument (positional or keyword).
_PRELUDE = f'''
import functools, inspect, torch
torch.set_num_threads(1)

def _cap(cls, method, arg, limit):
    orig = getattr(cls, method)
    sig = inspect.signature(orig)

    @functools.wraps(orig)
    def capped(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        bound.arguments[arg] = min(bound.arguments[arg], limit)
        return orig(*bound.args, **bound.kwargs)

    setattr(cls, method, capped)

import autolearn.rl as _rl
for _cls in (_rl.A2C, _rl.A3C, _rl.AsyncQ, _rl.DQN, _rl.PPO, _rl.REINFORCE):
    _cap(_cls, "learn", "total_timesteps", {RL_STEPS})
from autolearn.meta import MetaLearner as _ML
_cap(_ML, "fit", "n_steps", 20)
_cap(_ML, "evaluate", "n_tasks", 10)
'''


def _blocks(page: Path) -> tuple[list[str], dict[str, str], list[tuple[int, bool]]]:
    """``(runnable python blocks, files to write, [(line, marked run or file) per python
    block])``."""
    text = page.read_text()
    run, files, python = [], {}, []
    for m in _FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        before = text[:m.start()]
        mark = _MARK.search(before[before.rfind("\n", 0, len(before) - 1) + 1:])
        line = before.count("\n") + 1
        if mark and mark.group(2):
            files[mark.group(2)] = body
        if lang == "python":  # a run block, or a module file the run blocks import
            python.append((line, bool(mark)))
            if mark and mark.group(1) == "run":
                run.append(body)
    return run, files, python


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if _blocks(p)[0])


def test_some_pages_have_runnable_examples() -> None:
    names = {p.name for p in _pages()}
    assert {"rl.md", "rl_async_q.md", "rl_cli.md", "rl_gsde.md"} <= names


@pytest.mark.parametrize("page", sorted(DOCS.glob("rl*.md")), ids=lambda p: p.name)
def test_every_rl_python_block_is_runnable(page: Path) -> None:
    unmarked = [line for line, marked in _blocks(page)[2] if not marked]
    assert not unmarked, (f"{page.name}: python blocks at lines {unmarked} lack a "
                          "'<!-- run -->' (or '<!-- file: NAME -->') line before them (RL pages "
                          "hold complete examples)")


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_docs_examples_run(page: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("gymnasium")
    run, files, _ = _blocks(page)
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    code = _PRELUDE + "\n".join(f"# --- {page.name} block {i + 1}\n{b}"
                                for i, b in enumerate(run))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, f"{page.name} examples failed:\n{out.stderr[-3000:]}"
