"""Studies and trials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autolearn.study._frozen import FrozenTrial, StudyDirection, TrialState, create_trial

if TYPE_CHECKING:
    from autolearn.study._study import (
        Study,
        create_study,
        delete_study,
        get_all_study_names,
        get_all_study_summaries,
        load_study,
        pareto_front,
    )
    from autolearn.study._trial import BaseTrial, FixedTrial, Trial

__all__ = [
    "BaseTrial",
    "FixedTrial",
    "FrozenTrial",
    "Study",
    "StudyDirection",
    "Trial",
    "TrialState",
    "create_study",
    "create_trial",
    "delete_study",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
    "pareto_front",
]

_LAZY = {
    "Study": "_study", "create_study": "_study", "delete_study": "_study",
    "get_all_study_names": "_study", "get_all_study_summaries": "_study",
    "load_study": "_study", "pareto_front": "_study",
    "BaseTrial": "_trial", "FixedTrial": "_trial", "Trial": "_trial",
}


def __getattr__(name: str) -> Any:
    # The records above are needed by the storages (a lower layer); the Study machinery,
    # which needs samplers and storages, loads on first use.
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"autolearn.study.{mod}"), name)
    globals()[name] = value
    return value
