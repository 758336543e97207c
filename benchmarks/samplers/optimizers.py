"""The benchmark's optimizers: an explicit registry, name -> :class:`Optimizer`.

Each entry runs one optimisation of ``n_trials`` evaluations through its library's own
loop and records, via :class:`Recorder`, every objective value in evaluation order and the
CPU time (``time.process_time``, all threads of the process) the library spent between
evaluations: from the end of one evaluation to the start of the next, which includes the
suggestion and the library's bookkeeping but never the objective. For define-by-run
libraries (autolearn, Optuna) the clock stops after the last ``suggest_*`` call.

Libraries are imported inside the runner functions, before the clock starts. Each peer is
configured as its documentation recommends for a fixed evaluation budget; what that means
is in the ``config`` line of each entry, which the report prints.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.samplers._space import (
    Param,
    from_hyperopt,
    suggest_all,
    to_configspace,
    to_hyperopt,
    to_skopt,
)

__all__ = ["OPTIMIZERS", "Optimizer", "Recorder", "Unavailable"]


class Unavailable(RuntimeError):
    """The optimizer's library or class is not installed / does not exist yet."""


class Recorder:
    """Wraps the objective: values in evaluation order and library CPU time per suggestion."""

    def __init__(self, objective: Callable[[dict[str, Any]], float], n_trials: int) -> None:
        self._objective = objective
        self._n_trials = n_trials
        self.values: list[float] = []
        self.lib_cpu_s: list[float] = []
        self._mark = time.process_time()

    def start(self) -> None:
        self._mark = time.process_time()

    def __call__(self, params: dict[str, Any]) -> float:
        self.lib_cpu_s.append(time.process_time() - self._mark)
        value = float(self._objective(params))
        self.values.append(value)
        self._mark = time.process_time()
        return value


Runner = Callable[[tuple[Param, ...], Recorder, int, int], None]


@dataclass(frozen=True)
class Optimizer:
    name: str
    library: str
    family: str  # "random", "tpe" or "model" (GP / random-forest BO: expensive per suggestion)
    config: str
    runner: Runner


# --- autolearn ------------------------------------------------------------------------------

def _autolearn_sampler(class_name: str, module: str = "") -> Callable[[int], Any]:
    """``autolearn.samplers.<class_name>``, else ``<module>.<class_name>`` (not exported yet)."""

    def make(seed: int) -> Any:
        import importlib

        import autolearn.samplers

        cls = getattr(autolearn.samplers, class_name, None)
        if cls is None and module:
            try:
                cls = getattr(importlib.import_module(module), class_name, None)
            except ImportError:
                cls = None
        if cls is None:
            raise Unavailable(f"autolearn.samplers.{class_name} does not exist (yet)")
        return cls(seed=seed)

    return make


def _autolearn(make_sampler: Callable[[int], Any] | None) -> Runner:
    def run(space: tuple[Param, ...], rec: Recorder, seed: int, n_trials: int) -> None:
        import autolearn

        sampler = None if make_sampler is None else make_sampler(seed)
        rec.start()
        study = (autolearn.create_study(direction="minimize", seed=seed) if sampler is None
                 else autolearn.create_study(direction="minimize", sampler=sampler))
        study.optimize(lambda trial: rec(suggest_all(trial, space)), n_trials=n_trials)

    return run


# --- Optuna ---------------------------------------------------------------------------------

def _optuna(make_sampler: Callable[[Any, int], Any]) -> Runner:
    def run(space: tuple[Param, ...], rec: Recorder, seed: int, n_trials: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = make_sampler(optuna.samplers, seed)
        rec.start()
        study = optuna.create_study(direction="minimize", sampler=sampler)
        study.optimize(lambda trial: rec(suggest_all(trial, space)), n_trials=n_trials)

    return run


# --- Hyperopt -------------------------------------------------------------------------------

def _hyperopt(space: tuple[Param, ...], rec: Recorder, seed: int, n_trials: int) -> None:
    import numpy as np
    from hyperopt import Trials, fmin, tpe

    hp_space = to_hyperopt(space)
    rec.start()
    fmin(lambda params: rec(from_hyperopt(space, params)), hp_space, algo=tpe.suggest,
         max_evals=n_trials, trials=Trials(), rstate=np.random.default_rng(seed),
         show_progressbar=False)


# --- scikit-optimize ------------------------------------------------------------------------

def _skopt(space: tuple[Param, ...], rec: Recorder, seed: int, n_trials: int) -> None:
    import warnings

    from skopt import gp_minimize

    dims = to_skopt(space)
    names = [p.name for p in space]
    rec.start()
    with warnings.catch_warnings():
        # "The objective has been evaluated at point ... before": expected on small grids.
        warnings.simplefilter("ignore", UserWarning)
        gp_minimize(lambda x: rec(dict(zip(names, x, strict=True))), dims, n_calls=n_trials,
                    acq_func="gp_hedge", random_state=seed)


# --- SMAC3 ----------------------------------------------------------------------------------

def _smac(facade_name: str) -> Runner:
    def run(space: tuple[Param, ...], rec: Recorder, seed: int, n_trials: int) -> None:
        import smac

        facade_cls = getattr(smac, facade_name)
        outdir = Path(tempfile.mkdtemp(prefix="smac-bench-"))
        try:
            scenario = smac.Scenario(to_configspace(space, seed), deterministic=True,
                                     n_trials=n_trials, seed=seed, output_directory=outdir)

            def target(config: Any, seed: int = 0) -> float:
                return rec(dict(config))

            rec.start()
            opt = facade_cls(scenario, target, overwrite=True, logging_level=40)
            opt.optimize()
        finally:
            shutil.rmtree(outdir, ignore_errors=True)

    return run


def _registry() -> dict[str, Optimizer]:
    al = _autolearn_sampler
    entries = [
        Optimizer("autolearn-random", "autolearn", "random", "RandomSampler(seed)",
                  _autolearn(al("RandomSampler"))),
        Optimizer("autolearn-default", "autolearn", "random",
                  "create_study(seed=seed) without a sampler", _autolearn(None)),
        Optimizer("autolearn-tpe", "autolearn", "tpe", "TPESampler(seed) defaults",
                  _autolearn(al("TPESampler", "autolearn.samplers.tpe"))),
        Optimizer("autolearn-gp", "autolearn", "model", "GPSampler(seed) defaults",
                  _autolearn(al("GPSampler", "autolearn.samplers._gp"))),
        Optimizer("autolearn-smac", "autolearn", "model", "SMACSampler(seed) defaults",
                  _autolearn(al("SMACSampler", "autolearn.samplers._smac"))),
        Optimizer("optuna-random", "optuna", "random", "RandomSampler(seed)",
                  _optuna(lambda s, seed: s.RandomSampler(seed=seed))),
        Optimizer("optuna-tpe", "optuna", "tpe", "TPESampler(seed) defaults",
                  _optuna(lambda s, seed: s.TPESampler(seed=seed))),
        Optimizer("optuna-tpe-mv", "optuna", "tpe", "TPESampler(multivariate=True, seed)",
                  _optuna(lambda s, seed: s.TPESampler(multivariate=True, seed=seed))),
        Optimizer("optuna-gp", "optuna", "model",
                  "GPSampler(deterministic_objective=True, seed): the docs' setting for "
                  "noise-free objectives (all of these are)",
                  _optuna(lambda s, seed: s.GPSampler(deterministic_objective=True,
                                                      seed=seed))),
        Optimizer("hyperopt-tpe", "hyperopt", "tpe",
                  "fmin(algo=tpe.suggest, rstate=default_rng(seed)) defaults", _hyperopt),
        Optimizer("skopt-gp", "scikit-optimize", "model",
                  "gp_minimize(acq_func='gp_hedge', n_initial_points=10 (default), "
                  "random_state=seed)", _skopt),
        Optimizer("smac-hpo", "smac", "model",
                  "HyperparameterOptimizationFacade(Scenario(deterministic=True)) defaults "
                  "(random forest)", _smac("HyperparameterOptimizationFacade")),
        Optimizer("smac-bb", "smac", "model",
                  "BlackBoxFacade(Scenario(deterministic=True)) defaults (Gaussian process)",
                  _smac("BlackBoxFacade")),
    ]
    return {o.name: o for o in entries}


#: Optimizer name -> optimizer, in report order.
OPTIMIZERS: dict[str, Optimizer] = _registry()
