"""Tasks (optimizer, problem, seed), a process pool, a resumable cache and the summary."""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Task", "mean_ranks", "run_task", "run_tasks", "summarise"]

#: BLAS / OpenMP / torch threads per worker: the pool already uses every core it may.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    optimizer: str
    problem: str
    seed: int
    n_trials: int

    @property
    def key(self) -> str:
        return f"{self.optimizer}|{self.problem}|{self.seed}|{self.n_trials}"


def run_task(task: Task) -> dict[str, Any]:
    """Run one optimisation in this process; never raises (failures are results)."""
    from benchmarks.samplers.optimizers import OPTIMIZERS, Recorder, Unavailable
    from benchmarks.samplers.problems import PROBLEMS

    problem = PROBLEMS[task.problem]
    out: dict[str, Any] = {"task": task.__dict__, "status": "ok"}
    wall = time.perf_counter()
    try:
        objective, optimum = problem.load()
        rec = Recorder(objective, task.n_trials)
        OPTIMIZERS[task.optimizer].runner(problem.space, rec, task.seed, task.n_trials)
    except Unavailable as exc:
        return {**out, "status": "unavailable", "reason": str(exc)}
    except Exception as exc:  # a peer that fails is reported, with the reason
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {**out, "status": "failed", "reason": tb[:500]}
    out.update(optimum=optimum, values=rec.values, lib_cpu_s=rec.lib_cpu_s,
               wall_s=time.perf_counter() - wall)
    if len(rec.values) != task.n_trials:
        out["note"] = f"{len(rec.values)} evaluations instead of {task.n_trials}"
    return out


def _open(path: Path, mode: str) -> Any:
    """A text file, gzip-compressed when its name ends in ``.gz`` (appending to one adds a
    gzip member, which every gzip reader concatenates)."""
    if path.suffix == ".gz":
        import gzip

        return gzip.open(path, mode + "t")
    return path.open(mode)


def _load_cache(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    done: dict[str, dict[str, Any]] = {}
    with _open(path, "r") as f:
        text = f.read()
    for line in text.splitlines():
        if line.strip():
            rec = json.loads(line)
            done[Task(**rec["task"]).key] = rec
    return done


def run_tasks(tasks: Sequence[Task], *, jobs: int, cache: Path | None,
              fresh: Iterable[str] = (), report_only: bool = False,
              progress: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Results by task key; finished successes are appended to ``cache`` (JSON lines,
    gzip-compressed if its name ends in ``.gz``) and reused on the next run, except for
    the optimizers named in ``fresh``."""
    fresh = set(fresh)
    cached = {k: v for k, v in _load_cache(cache).items()
              if v["task"]["optimizer"] not in fresh}
    results = {t.key: cached[t.key] for t in tasks if t.key in cached}
    todo = [t for t in tasks if t.key not in results]
    if report_only:
        for t in todo:
            results[t.key] = {"task": t.__dict__, "status": "missing",
                              "reason": "not run (--report-only: not in the cache)"}
        return results
    progress(f"{len(tasks)} tasks: {len(results)} cached, {len(todo)} to run on {jobs} "
             f"process(es)")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)

    def record(task: Task, res: dict[str, Any]) -> None:
        results[task.key] = res
        if cache is not None and res["status"] == "ok":
            with _open(cache, "a") as f:
                f.write(json.dumps(res) + "\n")
        progress(f"[{len(results)}/{len(tasks)}] {task.optimizer} {task.problem} "
                 f"seed {task.seed}: {res['status']}"
                 + (f" ({res['wall_s']:.1f} s)" if "wall_s" in res else f": {res['reason']}"))

    for var in THREAD_ENV:
        os.environ.setdefault(var, "1")
    if jobs <= 1:
        # In this process NumPy's BLAS is already loaded, so the variables above reach only
        # libraries loaded later (torch); limit the loaded pools too, as the workers are.
        with _one_thread():
            for task in todo:
                record(task, run_task(task))
        return results
    import multiprocessing

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_task, t): t for t in todo}
        for fut in as_completed(futures):
            record(futures[fut], fut.result())
    return results


def _one_thread() -> Any:
    """A context limiting the BLAS / OpenMP pools already loaded to one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # installed with scikit-learn; without it, nothing to limit
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def best_so_far(res: dict[str, Any], budget: int) -> float:
    """Regret (or value, where no optimum is known) of the best of the first ``budget``."""
    values = res["values"][:budget]
    best = min(values) if values else float("nan")
    return best - res["optimum"] if res.get("optimum") is not None else best


def summarise(results: Iterable[dict[str, Any]],
              budgets: Sequence[int]) -> dict[tuple[str, str], dict[Any, Any]]:
    """(problem, optimizer) -> seeds, medians and quartiles per budget, failures."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for res in results:
        groups.setdefault((res["task"]["problem"], res["task"]["optimizer"]), []).append(res)
    out: dict[tuple[str, str], dict[Any, Any]] = {}
    for key, runs in groups.items():
        ok = [r for r in runs if r["status"] == "ok"]
        cell: dict[Any, Any] = {"seeds": len(ok),
                                "failed": [r.get("reason", "") for r in runs
                                           if r["status"] != "ok"]}
        for b in budgets:
            vals = np.array([best_so_far(r, b) for r in ok], dtype=float)
            cell[b] = {"median": float(np.median(vals)) if len(vals) else float("nan"),
                       "q25": float(np.percentile(vals, 25)) if len(vals) else float("nan"),
                       "q75": float(np.percentile(vals, 75)) if len(vals) else float("nan"),
                       "per_seed": vals.tolist()}
        out[key] = cell
    return out


def mean_ranks(cells: dict[tuple[str, str], dict[Any, Any]], problems: Sequence[str],
               optimizers: Sequence[str], budget: int) -> dict[str, tuple[float, int]]:
    """Mean over ``problems`` of each optimizer's rank of its median (1 = best, ties
    averaged), among ``optimizers``; only problems where all of them have results count.
    Returns optimizer -> (mean rank, number of problems)."""
    from scipy.stats import rankdata

    ranks: dict[str, list[float]] = {o: [] for o in optimizers}
    for p in problems:
        meds = [cells.get((p, o), {}).get(budget, {}).get("median", float("nan"))
                for o in optimizers]
        if any(m != m for m in meds):
            continue
        for o, r in zip(optimizers, rankdata(meds), strict=True):
            ranks[o].append(float(r))
    return {o: (float(np.mean(r)) if r else float("nan"), len(r)) for o, r in ranks.items()}
