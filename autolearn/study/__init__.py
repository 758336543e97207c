"""Studies and trials."""

from autolearn._records import FrozenTrial, StudyDirection, TrialState, create_trial
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
