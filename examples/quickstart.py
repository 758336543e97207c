"""Quickstart: tune a scikit-learn classifier on the bundled digits data.

The search space is conditional: the classifier is chosen first, then its own
hyperparameters. The study lives in a SQLite file, so running the script again resumes
it: it runs trials until the study holds ``--n-trials`` finished trials.

    python examples/quickstart.py                      # sqlite:///autolearn.db, 40 trials
    python examples/quickstart.py --n-trials 60        # continue the same study to 60
"""

from __future__ import annotations

import argparse
import logging

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import autolearn
from autolearn import TrialState


def make_objective(X, y):  # type: ignore[no-untyped-def]
    def objective(trial: autolearn.Trial) -> float:
        kind = trial.suggest_categorical("classifier", ["svm", "random_forest", "knn"])
        if kind == "svm":
            model = make_pipeline(
                StandardScaler(),
                SVC(C=trial.suggest_float("svm_C", 1e-2, 1e3, log=True),
                    gamma=trial.suggest_float("svm_gamma", 1e-5, 1e-1, log=True)),
            )
        elif kind == "random_forest":
            model = RandomForestClassifier(
                n_estimators=trial.suggest_int("rf_n_estimators", 10, 200, log=True),
                max_depth=trial.suggest_int("rf_max_depth", 2, 32, log=True),
                n_jobs=1,
                random_state=0,
            )
        else:
            model = KNeighborsClassifier(
                n_neighbors=trial.suggest_int("knn_n_neighbors", 1, 30),
                weights=trial.suggest_categorical("knn_weights", ["uniform", "distance"]),
            )
        return float(cross_val_score(model, X, y, cv=3, n_jobs=1).mean())

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite:///autolearn.db")
    parser.add_argument("--study-name", default="quickstart-digits")
    parser.add_argument("--n-trials", type=int, default=40,
                        help="finished trials the study should hold when the script ends")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    X, y = load_digits(return_X_y=True)
    study = autolearn.create_study(
        args.storage, study_name=args.study_name, direction="maximize",
        load_if_exists=True, seed=args.seed,
    )
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED,
                                        TrialState.FAIL))
    todo = max(0, args.n_trials - len(finished))
    print(f"study {study.study_name!r} in {args.storage}: {len(finished)} finished trials, "
          f"running {todo} more")
    study.optimize(make_objective(X, y), n_trials=todo, show_progress_bar=True)
    if todo == 0:
        print(f"the study is complete; pass --n-trials {args.n_trials + 40} to continue it")

    best = study.best_trial
    print(f"best trial #{best.number}: 3-fold CV accuracy {best.value:.4f}")
    for name, value in best.params.items():
        print(f"  {name} = {value}")


if __name__ == "__main__":
    main()
