"""``Study.optimize(n_jobs > 1)``: trials run in worker processes, never threads.

The parent process starts ``n_jobs`` workers (forked where the platform allows, so
closures work as objectives), then only listens: workers report each trial's start and
end on a queue, and the parent runs callbacks and the progress display. A worker that
dies (killed, out of memory) loses only the trial it held, which the parent marks FAIL at
once; the others go on. An exception outside ``catch`` stops every worker after its
current trial and is re-raised here.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection as _mp_connection
import os
import pickle
import signal
import time
import traceback
from typing import TYPE_CHECKING, Any

from autolearn._records import TrialState
from autolearn.exceptions import SearchExhausted, StorageError, TrialStateError
from autolearn.storages._base import FAIL_REASON_KEY
from autolearn.study._optimize import BestTracker, run_trial

if TYPE_CHECKING:
    from autolearn.storages import BaseStorage
    from autolearn.study._progress import Progress
    from autolearn.study._study import Callback, ObjectiveFunc, Study

__all__ = ["run_parallel"]

_logger = logging.getLogger("autolearn.study")


def _open_storage(spec: tuple[Any, ...]) -> BaseStorage:
    kind = spec[0]
    if kind == "proxy":
        from autolearn.storages._proxy import StorageClient

        _, address, authkey, lease = spec
        return StorageClient(address, authkey, **lease)  # type: ignore[abstract]
    _, url, lease = spec
    from autolearn.storages import get_storage

    return get_storage(url, **lease)


def _worker(
    index: int,
    spec: tuple[Any, ...],
    study_name: str,
    sampler: Any,
    pruner: Any,
    func: ObjectiveFunc,
    catch: tuple[type[BaseException], ...],
    n_trials: int | None,
    counter: Any,
    deadline: float | None,
    stop: Any,
    events: Any,
    gc_after_trial: bool,
) -> None:
    """Run trials until the shared budget, deadline or stop event says otherwise."""
    import gc

    from autolearn.study._study import Study

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, _term)
    try:
        storage = _open_storage(spec)
        study = Study(study_name, storage, sampler, pruner)
        while not stop.is_set():
            if deadline is not None and time.time() >= deadline:
                break
            with counter.get_lock():
                if n_trials is not None and counter.value >= n_trials:
                    break
                counter.value += 1
            if study.sampler.is_exhausted(study):
                stop.set()
                break
            try:
                frozen = run_trial(study, func, catch,
                                   on_start=lambda tid: events.send(("start", index, tid)))
            except SearchExhausted:
                stop.set()
                break
            events.send(("trial", index, frozen.trial_id))
            if gc_after_trial:
                gc.collect()
            if study._stop_flag:
                stop.set()
    except BaseException as exc:  # report everything, KeyboardInterrupt included
        tb = traceback.format_exc()
        try:
            payload: bytes | None = pickle.dumps(exc)
        except Exception:
            payload = None
        events.send(("error", index, payload, f"{type(exc).__name__}: {exc}", tb))
    finally:
        events.send(("done", index))
        events.close()


def run_parallel(
    study: Study,
    func: ObjectiveFunc,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: list[Callback],
    gc_after_trial: bool,
    progress: Progress,
) -> None:
    storage = study._storage
    methods = mp.get_all_start_methods()
    ctx: Any = mp.get_context("fork" if "fork" in methods else "spawn")
    lease = {"heartbeat_interval": storage.heartbeat_interval,
             "grace_period": storage.grace_period,
             "failed_trial_retries": storage.failed_trial_retries}
    server = None
    if storage.url is None:
        from autolearn.storages._proxy import StorageServer

        server = StorageServer(storage)
        spec: tuple[Any, ...] = ("proxy", server.address, server.authkey, lease)
    else:
        spec = ("url", storage.url, lease)
    counter = ctx.Value("q", 0)
    stop = ctx.Event()
    # One pipe per worker: a send reaches the kernel before it returns, so a worker
    # killed right after announcing a trial cannot lose the announcement.
    pipes = [ctx.Pipe(duplex=False) for _ in range(n_jobs)]
    deadline = None if timeout is None else time.time() + timeout
    procs = [
        ctx.Process(
            target=_worker,
            args=(i, spec, study.study_name, study.sampler, study.pruner, func, catch,
                  n_trials, counter, deadline, stop, pipes[i][1], gc_after_trial),
            name=f"autolearn-worker-{i}",
        )
        for i in range(n_jobs)
    ]
    best = BestTracker(study)
    running: dict[int, int] = {}
    alive = set(range(n_jobs))
    error: tuple[Any, ...] | None = None
    interrupted = False

    def handle(msg: tuple[Any, ...]) -> None:
        nonlocal error
        kind, i = msg[0], msg[1]
        if kind == "start":
            running[i] = msg[2]
        elif kind == "trial":
            running.pop(i, None)
            frozen = storage.get_trial(msg[2])
            progress.update(best.update(frozen))
            for cb in callbacks:
                cb(study, frozen)
            if study._stop_flag:
                stop.set()
        elif kind == "error":
            running.pop(i, None)
            if error is None:
                error = msg
            stop.set()
        elif kind == "done":
            alive.discard(i)

    try:
        for p in procs:
            p.start()
        for _, w in pipes:
            w.close()  # the parent only reads
        readers = {pipes[i][0]: i for i in range(n_jobs)}
        while alive:
            waitables: list[Any] = [r for r, i in readers.items() if i in alive]
            waitables += [procs[i].sentinel for i in alive]
            for obj in _mp_connection.wait(waitables, timeout=1.0):
                i = readers.get(obj)  # type: ignore[call-overload]
                if i is not None:
                    try:
                        handle(pipes[i][0].recv())
                    except EOFError:
                        pass
                    continue
                # A worker process ended: read what it sent last, then check it said goodbye.
                i = next(j for j in range(n_jobs) if procs[j].sentinel == obj)
                if i not in alive:  # its goodbye was read earlier in this batch
                    continue
                reader = pipes[i][0]
                try:
                    while i in alive and reader.poll():
                        handle(reader.recv())
                except EOFError:
                    pass
                if i in alive:
                    alive.discard(i)
                    procs[i].join()
                    _worker_died(storage, i, procs[i].exitcode, running.pop(i, None))
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)
        raise
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=None if not interrupted else 30)
            if p.is_alive():
                p.kill()
                p.join()
        for i, trial_id in running.items():
            if procs[i].exitcode not in (0, None):
                _worker_died(storage, i, procs[i].exitcode, trial_id)
        for r, _ in pipes:
            r.close()
        if server is not None:
            server.close()
    if error is not None:
        _, index, payload, summary, tb = error
        exc: BaseException | None = None
        if payload is not None:
            try:
                exc = pickle.loads(payload)
            except Exception:
                exc = None
        if exc is None:
            exc = StorageError(f"worker {index} failed: {summary}")
        exc.add_note(f"raised in worker process {index}:\n{tb}")
        raise exc


def _worker_died(storage: BaseStorage, index: int, exitcode: int | None,
                 trial_id: int | None) -> None:
    _logger.error("Worker process %d died (exit code %s).", index, exitcode)
    if trial_id is None:
        return
    try:
        storage.set_trial_attr(trial_id, FAIL_REASON_KEY,
                               f"worker process died with exit code {exitcode}", system=True)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    except TrialStateError:
        pass
