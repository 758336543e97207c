"""autolearn: AutoML in one package.

Quick start::

    import autolearn

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        return (x - 2) ** 2

    study = autolearn.create_study(storage="sqlite:///autolearn.db", study_name="demo",
                                   load_if_exists=True)
    study.optimize(objective, n_trials=50)
    best = study.best_params
"""

from autolearn import exceptions, pruners, samplers, space, storages
from autolearn.exceptions import TrialPruned
from autolearn.study import (
    BaseTrial,
    FixedTrial,
    FrozenTrial,
    Study,
    StudyDirection,
    Trial,
    TrialState,
    create_study,
    create_trial,
    delete_study,
    get_all_study_names,
    get_all_study_summaries,
    load_study,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BaseTrial",
    "FixedTrial",
    "FrozenTrial",
    "Study",
    "StudyDirection",
    "Trial",
    "TrialPruned",
    "TrialState",
    "__version__",
    "create_study",
    "create_trial",
    "delete_study",
    "exceptions",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
    "pruners",
    "samplers",
    "space",
    "storages",
]
