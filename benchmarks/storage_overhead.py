"""Per-trial storage overhead: ask + 2 x suggest_float + tell, random sampler, one process.

autolearn and Optuna run interleaved in one process (the library that goes first alternates
per repetition); each run is a fresh study (a fresh file for SQLite and the journal, a
unique study name in a per-library database for PostgreSQL). Both libraries use their
default settings; study creation is outside the timed loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import POSTGRES_ENV, Report, median, postgres_databases

DESCRIPTION = "µs per trial of ask + 2 suggest_float + tell, autolearn vs Optuna, per storage"

STORAGES = ("memory", "sqlite", "journal", "postgres")
LIBRARIES = ("autolearn", "optuna")
GOAL = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=1000, help="trials per run (1000)")
    parser.add_argument("--repetitions", type=int, default=5,
                        help="runs per library and storage, seeds 0..N-1 (5)")
    parser.add_argument("--storages", default=",".join(STORAGES),
                        help="comma-separated subset of " + ",".join(STORAGES)
                        + f" (postgres only when ${POSTGRES_ENV} is set)")


def _loop(study: Any, n_trials: int) -> float:
    """Seconds for ``n_trials`` of ask, two suggestions and tell (same code for both)."""
    t0 = time.perf_counter()
    for _ in range(n_trials):
        trial = study.ask()
        x = trial.suggest_float("x", -10.0, 10.0)
        y = trial.suggest_float("y", -10.0, 10.0)
        study.tell(trial, (x - 2.0) ** 2 + (y + 1.0) ** 2)
    return time.perf_counter() - t0


def _autolearn_study(storage: str, seed: int, workdir: Path, pg_url: str | None) -> Any:
    import autolearn

    if storage == "memory":
        url: str | None = None
    elif storage == "sqlite":
        url = f"sqlite:///{workdir / f'al-{seed}.db'}"
    elif storage == "journal":
        url = f"journal://{workdir / f'al-{seed}.jsonl'}"
    else:
        url = pg_url
    return autolearn.create_study(url, study_name=f"overhead-{uuid.uuid4().hex}",
                                  sampler=autolearn.samplers.RandomSampler(seed=seed))


def _optuna_study(storage: str, seed: int, workdir: Path, pg_url: str | None) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if storage == "memory":
        store: Any = optuna.storages.InMemoryStorage()
    elif storage == "sqlite":
        store = optuna.storages.RDBStorage(f"sqlite:///{workdir / f'op-{seed}.db'}")
    elif storage == "journal":
        store = optuna.storages.JournalStorage(
            JournalFileBackend(str(workdir / f"op-{seed}.jsonl"))
        )
    elif pg_url is not None:
        store = optuna.storages.RDBStorage(pg_url)
    else:
        raise ValueError("PostgreSQL needs a URL")
    return optuna.create_study(storage=store, study_name=f"overhead-{uuid.uuid4().hex}",
                               sampler=optuna.samplers.RandomSampler(seed=seed))


def _check(study: Any, lib: str, n_trials: int) -> str | None:
    trials = study.trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    if len(trials) != n_trials or len(complete) != n_trials:
        return f"{lib}: {len(complete)} COMPLETE of {len(trials)} trials, expected {n_trials}"
    return None


def _close(study: Any) -> None:
    # Release SQLAlchemy pools so the next run starts from the same state.
    store = getattr(study, "_storage", None)
    for obj in (store, getattr(store, "_backend", None)):
        engine = getattr(obj, "engine", None) or getattr(obj, "_engine", None)
        if engine is not None and hasattr(engine, "dispose"):
            engine.dispose()


def run(args: argparse.Namespace) -> Report:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n_trials = 50 if args.quick else args.trials
    reps = 1 if args.quick else args.repetitions
    wanted = [s.strip() for s in args.storages.split(",") if s.strip()]
    for s in wanted:
        if s not in STORAGES:
            raise SystemExit(f"unknown storage {s!r}; choose from {', '.join(STORAGES)}")
    pg_base = os.environ.get(POSTGRES_ENV)
    notes: list[str] = []
    if "postgres" in wanted and not pg_base:
        wanted.remove("postgres")
        notes.append(f"PostgreSQL skipped: ${POSTGRES_ENV} is not set "
                     "(run under `bash scripts/with_postgres.sh`).")
    makers: dict[str, Callable[..., Any]] = {
        "autolearn": _autolearn_study, "optuna": _optuna_study,
    }
    times: dict[str, dict[str, list[float]]] = {s: {lib: [] for lib in LIBRARIES}
                                                for s in wanted}
    failures: dict[str, list[str]] = {s: [] for s in wanted}
    workdir = Path(tempfile.mkdtemp(prefix="autolearn-bench-"))
    try:
        with postgres_databases(pg_base, LIBRARIES) if pg_base and "postgres" in wanted \
                else _null() as pg_urls:
            for rep in range(reps):
                order = LIBRARIES if rep % 2 == 0 else LIBRARIES[::-1]
                for storage in wanted:
                    for lib in order:
                        pg_url = pg_urls[lib] if pg_urls else None
                        study = makers[lib](storage, rep, workdir, pg_url)
                        seconds = _loop(study, n_trials)
                        problem = _check(study, lib, n_trials)
                        if problem:
                            failures[storage].append(problem)
                        times[storage][lib].append(seconds / n_trials * 1e6)
                        _close(study)
                        print(f"rep {rep} {storage:8s} {lib:9s} "
                              f"{seconds / n_trials * 1e6:9.1f} µs/trial", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    rows = []
    for storage in wanted:
        al, op = median(times[storage]["autolearn"]), median(times[storage]["optuna"])
        ratio = al / op
        verdict = "meets goal" if ratio <= GOAL else f"misses goal (<= {GOAL})"
        if failures[storage]:
            verdict = "FAILED: " + "; ".join(failures[storage][:2])
        rows.append([storage, al, op, ratio, verdict])
    notes += [
        f"{n_trials} trials per run, median over {reps} repetition(s) (seeds 0..{reps - 1}), "
        "libraries interleaved, the first one alternating per repetition.",
        "Timed: the loop `ask(); suggest_float('x'); suggest_float('y'); tell(value)` with "
        "each library's RandomSampler; study and storage creation are not timed.",
        "Default settings of each library: autolearn's trial leases/heartbeats are ON by "
        "default (10 s interval), Optuna's heartbeats are OFF by default.",
        "SQLite: a fresh file in a temporary directory on local disk per run. PostgreSQL: a "
        "database per library on a local server (fsync off), a unique study per run.",
    ]
    return Report(
        title="Storage overhead per trial (µs, lower is better)",
        header=["storage", "autolearn µs/trial", "Optuna µs/trial",
                "ratio autolearn/Optuna", f"goal ratio <= {GOAL}"],
        rows=rows,
        notes=notes,
        raw={"n_trials": n_trials, "repetitions": reps, "us_per_trial": times,
             "failures": failures},
    )


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
