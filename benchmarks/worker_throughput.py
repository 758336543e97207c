"""Parallel workers on one storage: 4 processes x 25 trials, autolearn vs Optuna.

Each worker is a separate process started with ``multiprocessing.get_context("spawn")``; it
imports its library, loads the study by name, prepares the objective, then waits on a
barrier. The clock starts when the barrier releases (all workers ready, so start-up and
import time are excluded for both libraries) and stops when the last worker's
``study.optimize(objective, n_trials=25)`` returns (taken inside the worker, so process
exit is excluded too). Afterwards the study is checked: exactly 100 finished trials
numbered 0..99.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import POSTGRES_ENV, Report, median, postgres_databases

DESCRIPTION = "wall time of 4 spawned workers x 25 trials on one storage, autolearn vs Optuna"

STORAGES = ("sqlite", "journal", "postgres")
OBJECTIVES = ("instant", "work")
LIBRARIES = ("autolearn", "optuna")
GOAL = 1.0
READY_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 900.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=4, help="worker processes (4)")
    parser.add_argument("--trials-per-worker", type=int, default=25,
                        help="n_trials of each worker's optimize() (25)")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="runs per library, storage and objective (3)")
    parser.add_argument("--storages", default=",".join(STORAGES),
                        help="comma-separated subset of " + ",".join(STORAGES)
                        + f" (postgres only when ${POSTGRES_ENV} is set)")
    parser.add_argument("--objectives", default=",".join(OBJECTIVES),
                        help="comma-separated subset of " + ",".join(OBJECTIVES))


# ---- objectives (identical for both libraries) --------------------------------------------
def _instant(trial: Any) -> float:
    x = trial.suggest_float("x", -10.0, 10.0)
    y = trial.suggest_float("y", -10.0, 10.0)
    return (x - 2.0) ** 2 + (y + 1.0) ** 2


class _Work:
    """~20 ms of CPU: fit a fixed DecisionTree on scikit-learn's digits (8x8 images)."""

    def __init__(self) -> None:
        from sklearn.datasets import load_digits
        from sklearn.tree import DecisionTreeClassifier

        self._x, self._y = load_digits(return_X_y=True)
        self._tree = DecisionTreeClassifier
        self(_FixedParams())  # warm up imports and caches before the clock starts

    def __call__(self, trial: Any) -> float:
        x = trial.suggest_float("x", -10.0, 10.0)
        y = trial.suggest_float("y", -10.0, 10.0)
        tree = self._tree(random_state=0).fit(self._x, self._y)
        return (x - 2.0) ** 2 + (y + 1.0) ** 2 + 1e-3 * tree.get_depth()


class _FixedParams:
    def suggest_float(self, name: str, low: float, high: float) -> float:
        return 0.5 * (low + high)


# ---- one worker process -------------------------------------------------------------------
def _load(lib: str, storage: str, target: str, study_name: str, seed: int) -> Any:
    if lib == "autolearn":
        import autolearn

        return autolearn.load_study(study_name=study_name, storage=target,
                                    sampler=autolearn.samplers.RandomSampler(seed=seed))
    import optuna
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage == "journal":
        store: Any = optuna.storages.JournalStorage(JournalFileBackend(target))
    else:
        store = optuna.storages.RDBStorage(target)
    return optuna.load_study(study_name=study_name, storage=store,
                             sampler=optuna.samplers.RandomSampler(seed=seed))


def _worker(lib: str, storage: str, target: str, study_name: str, objective: str,
            n_trials: int, seed: int, barrier: Any, results: Any) -> None:
    try:
        study = _load(lib, storage, target, study_name, seed)
        func = _instant if objective == "instant" else _Work()
    except BaseException:
        barrier.abort()
        results.put({"seed": seed, "error": "setup: " + traceback.format_exc(limit=3)})
        return
    barrier.wait(READY_TIMEOUT_S)
    t0 = time.monotonic()
    error = None
    try:
        study.optimize(func, n_trials=n_trials)
    except BaseException as exc:  # reported as a failure row, not a crash
        error = f"{type(exc).__name__}: {exc}"[:300]
    results.put({"seed": seed, "start": t0, "end": time.monotonic(), "error": error})


# ---- the parent ---------------------------------------------------------------------------
def _target(lib: str, storage: str, workdir: Path, pg_urls: dict[str, str] | None,
            tag: str) -> str:
    if storage == "sqlite":
        return f"sqlite:///{workdir / f'{lib}-{tag}.db'}"
    if storage == "journal":
        path = str(workdir / f"{lib}-{tag}.jsonl")
        return f"journal://{path}" if lib == "autolearn" else path
    assert pg_urls is not None
    return pg_urls[lib]


def _create(lib: str, storage: str, target: str, study_name: str) -> None:
    if lib == "autolearn":
        import autolearn

        autolearn.create_study(target, study_name=study_name)
        return
    import optuna
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage == "journal":
        store: Any = optuna.storages.JournalStorage(JournalFileBackend(target))
    else:
        store = optuna.storages.RDBStorage(target)
    optuna.create_study(storage=store, study_name=study_name)
    if hasattr(store, "engine"):
        store.engine.dispose()


def _verify(lib: str, storage: str, target: str, study_name: str, expected: int) -> str | None:
    study = _load(lib, storage, target, study_name, seed=0)
    trials = study.trials
    complete = sum(t.state.name == "COMPLETE" for t in trials)
    numbers = sorted(t.number for t in trials)
    problems = []
    if complete != expected or len(trials) != expected:
        states: dict[str, int] = {}
        for t in trials:
            states[t.state.name] = states.get(t.state.name, 0) + 1
        problems.append(f"{complete} COMPLETE of {len(trials)} trials {states}")
    if numbers != list(range(len(trials))) or len(set(numbers)) != len(numbers):
        problems.append("trial numbers are not unique 0..n-1")
    store = getattr(study, "_storage", None)
    for obj in (store, getattr(store, "_backend", None)):
        engine = getattr(obj, "engine", None) or getattr(obj, "_engine", None)
        if engine is not None and hasattr(engine, "dispose"):
            engine.dispose()
    return "; ".join(problems) or None


def _run_once(lib: str, storage: str, objective: str, rep: int, workdir: Path,
              pg_urls: dict[str, str] | None, n_workers: int, per_worker: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    tag = f"{objective}-{rep}-{uuid.uuid4().hex[:6]}"
    target = _target(lib, storage, workdir, pg_urls, tag)
    study_name = f"throughput-{tag}"
    _create(lib, storage, target, study_name)
    barrier = ctx.Barrier(n_workers + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(lib, storage, target, study_name, objective,
                                          per_worker, 1000 * rep + w, barrier, results))
        for w in range(n_workers)
    ]
    for p in procs:
        p.start()
    out: dict[str, Any] = {"wall_s": float("nan"), "errors": []}
    try:
        barrier.wait(READY_TIMEOUT_S)
        t0 = time.monotonic()
        got: list[dict[str, Any]] = []
        deadline = t0 + RUN_TIMEOUT_S
        while len(got) < n_workers:
            try:
                got.append(results.get(timeout=max(1.0, deadline - time.monotonic())))
            except queue.Empty:
                out["errors"].append("timeout waiting for workers")
                break
        ends = [g["end"] for g in got if "end" in g]
        if len(ends) == n_workers:
            out["wall_s"] = max(ends) - t0
        out["errors"] += [f"worker {g['seed']}: {g['error']}" for g in got if g.get("error")]
    except Exception as exc:  # a worker failed to start (barrier broken)
        while True:
            try:
                g = results.get(timeout=5)
            except queue.Empty:
                break
            if g.get("error"):
                out["errors"].append(f"worker {g['seed']}: {g['error']}")
        out["errors"].append(f"{type(exc).__name__}: {exc}")
    for p in procs:
        p.join(60)
        if p.is_alive():
            p.terminate()
            p.join()
    problem = _verify(lib, storage, target, study_name, n_workers * per_worker)
    if problem:
        out["errors"].append(problem)
    return out


def run(args: argparse.Namespace) -> Report:
    n_workers = 2 if args.quick else args.workers
    per_worker = 3 if args.quick else args.trials_per_worker
    reps = 1 if args.quick else args.repetitions
    total = n_workers * per_worker
    wanted = [s.strip() for s in args.storages.split(",") if s.strip()]
    objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    for s in wanted:
        if s not in STORAGES:
            raise SystemExit(f"unknown storage {s!r}; choose from {', '.join(STORAGES)}")
    for o in objectives:
        if o not in OBJECTIVES:
            raise SystemExit(f"unknown objective {o!r}; choose from {', '.join(OBJECTIVES)}")
    pg_base = os.environ.get(POSTGRES_ENV)
    notes: list[str] = []
    if "postgres" in wanted and not pg_base:
        wanted.remove("postgres")
        notes.append(f"PostgreSQL skipped: ${POSTGRES_ENV} is not set "
                     "(run under `bash scripts/with_postgres.sh`).")
    raw: dict[str, Any] = {}
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="autolearn-bench-"))
    try:
        for storage in wanted:
            ctxm = postgres_databases(pg_base, LIBRARIES) \
                if pg_base and storage == "postgres" else None
            pg_urls = ctxm.__enter__() if ctxm is not None else None
            try:
                for objective in objectives:
                    runs: dict[str, list[dict[str, Any]]] = {lib: [] for lib in LIBRARIES}
                    for rep in range(reps):
                        order = LIBRARIES if rep % 2 == 0 else LIBRARIES[::-1]
                        for lib in order:
                            r = _run_once(lib, storage, objective, rep, workdir, pg_urls,
                                          n_workers, per_worker)
                            runs[lib].append(r)
                            print(f"rep {rep} {storage:8s} {objective:7s} {lib:9s} "
                                  f"{r['wall_s']:7.2f} s  {r['errors'] or ''}", flush=True)
                    raw[f"{storage}/{objective}"] = runs
                    walls = {lib: median([r["wall_s"] for r in runs[lib]]) for lib in LIBRARIES}
                    errs = {lib: [e for r in runs[lib] for e in r["errors"]]
                            for lib in LIBRARIES}
                    tps = {lib: total / walls[lib] for lib in LIBRARIES}
                    ratio = tps["autolearn"] / tps["optuna"]
                    check = []
                    for lib in LIBRARIES:
                        n_bad = sum(bool(r["errors"]) for r in runs[lib])
                        check.append(f"{lib}: " + ("ok" if not n_bad else
                                     f"FAILED in {n_bad}/{reps} runs: {errs[lib][0]}"))
                    verdict = "meets goal" if ratio >= GOAL else f"misses goal (>= {GOAL:g})"
                    rows.append([storage, objective, walls["autolearn"], walls["optuna"],
                                 tps["autolearn"], tps["optuna"], ratio, verdict,
                                 "; ".join(check)])
            finally:
                if ctxm is not None:
                    ctxm.__exit__(None, None, None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes += [
        f"{n_workers} worker processes x {per_worker} trials = {total} trials per run; "
        f"median over {reps} repetition(s), libraries interleaved (first one alternating).",
        "Workers are spawned processes; timing starts when all of them are ready (barrier) "
        "and ends when the last optimize() returns, so imports and start-up are excluded.",
        "`instant`: returns a float from 2 suggested floats (storage contention only). "
        "`work`: the same plus fitting a DecisionTreeClassifier(random_state=0) on "
        "scikit-learn's digits (~20 ms CPU).",
        "Check: after each run, exactly the expected number of COMPLETE trials, numbered "
        "0..n-1 without duplicates; a violation is reported in the last column.",
        "Default settings of each library (autolearn's trial heartbeats on, Optuna's off; "
        "Optuna's optimize() default catch=() so a storage error stops that worker).",
    ]
    return Report(
        title=f"Worker throughput: {n_workers} processes x {per_worker} trials on one storage",
        header=["storage", "objective", "autolearn wall s", "Optuna wall s",
                "autolearn trials/s", "Optuna trials/s", "throughput ratio autolearn/Optuna",
                f"goal >= {GOAL:g}", "check (100 finished, numbers 0..99)"
                if total == 100 else f"check ({total} finished, numbers 0..{total - 1})"],
        rows=rows,
        notes=notes,
        raw={"n_workers": n_workers, "trials_per_worker": per_worker, "repetitions": reps,
             "runs": raw},
    )
