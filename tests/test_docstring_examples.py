"""Every ``>>>`` example in autolearn's docstrings runs and prints what it shows.

The docs pages point users at these examples, so a stale one is a documentation bug. A
module whose optional dependency is missing (e.g. torch for the RL and NAS packages) is
skipped, not failed.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import autolearn


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(autolearn.__path__, "autolearn."))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra is not installed
        pytest.skip(f"{name}: {exc}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        if test.examples:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
