"""The optimize loop: serial in this process, or ``n_jobs`` worker processes."""

from __future__ import annotations

import gc
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from autolearn._records import FrozenTrial, StudyDirection, TrialState
from autolearn.exceptions import ConfigError, SearchExhausted, TrialPruned
from autolearn.study._progress import Progress

if TYPE_CHECKING:
    from autolearn.study._study import Callback, ObjectiveFunc, Study

__all__ = ["optimize", "run_trial"]

_logger = logging.getLogger("autolearn.study")


def _catch_tuple(catch: Any) -> tuple[type[BaseException], ...]:
    if isinstance(catch, type):
        catch = (catch,)
    catch = tuple(catch)
    for c in catch:
        if not (isinstance(c, type) and issubclass(c, BaseException)):
            raise ConfigError(f"`catch` must hold exception classes, but got {c!r}")
    return catch


def run_trial(
    study: Study,
    func: ObjectiveFunc,
    catch: tuple[type[BaseException], ...],
    on_start: Callable[[int], None] | None = None,
) -> FrozenTrial:
    """Ask, run the objective, tell. Returns the finished trial.

    Exceptions in ``catch`` fail the trial (reason stored) and are swallowed; any other
    exception fails the trial and propagates.
    """
    from autolearn.study._study import check_values, format_failure

    trial = study.ask()
    if on_start is not None:
        on_start(trial.trial_id)
    try:
        result = func(trial)
    except TrialPruned:
        return study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
    except BaseException as exc:
        reason = format_failure(exc)
        frozen = study.tell(trial, state=TrialState.FAIL, fail_reason=reason,
                            skip_if_finished=True)
        if isinstance(exc, catch) and not isinstance(exc, SearchExhausted):
            _logger.warning("Trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
            return frozen
        raise
    values, problem = check_values(result, len(study.directions))
    if problem is not None:
        _logger.warning("Trial %d failed: %s", trial.number, problem)
        return study.tell(trial, state=TrialState.FAIL, fail_reason=problem,
                          skip_if_finished=True)
    return study.tell(trial, values, skip_if_finished=True)


class BestTracker:
    """Incremental best value for the progress display."""

    def __init__(self, study: Study) -> None:
        self.sign = 0.0
        if not study.is_multi_objective:
            self.sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
        self.value: float | None = None
        if self.sign:
            try:
                self.value = study.best_value
            except ValueError:
                pass

    def update(self, t: FrozenTrial) -> float | None:
        if self.sign and t.state == TrialState.COMPLETE and t.values:
            v = t.values[0]
            if self.value is None or self.sign * v < self.sign * self.value:
                self.value = v
        return self.value


def optimize(
    study: Study,
    func: ObjectiveFunc,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: Any,
    callbacks: Iterable[Callback] | None,
    gc_after_trial: bool,
    show_progress_bar: bool,
) -> None:
    if not callable(func):
        raise ConfigError(f"the objective must be callable, but got {func!r}")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, int)
                                 or n_trials < 0):
        raise ConfigError(f"`n_trials` must be a non-negative int or None, got {n_trials!r}")
    if timeout is not None and not (timeout >= 0):
        raise ConfigError(f"`timeout` must be non-negative or None, but got {timeout!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"`n_jobs` must be a positive int or -1, but got {n_jobs!r}")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    catch_t = _catch_tuple(catch)
    callbacks = list(callbacks or [])
    study._stop_flag = False
    progress = Progress(n_trials, timeout, enabled=show_progress_bar)
    try:
        if n_jobs == 1 or n_trials == 1:
            _serial(study, func, n_trials, timeout, catch_t, callbacks, gc_after_trial, progress)
        else:
            from autolearn.study._parallel import run_parallel

            run_parallel(study, func, n_trials, timeout, n_jobs, catch_t, callbacks,
                         gc_after_trial, progress)
    finally:
        progress.close()


def _serial(
    study: Study,
    func: ObjectiveFunc,
    n_trials: int | None,
    timeout: float | None,
    catch: tuple[type[BaseException], ...],
    callbacks: list[Callback],
    gc_after_trial: bool,
    progress: Progress,
) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    best = BestTracker(study)
    done = 0
    with sigterm_as_interrupt():
        while True:
            if study._stop_flag or (n_trials is not None and done >= n_trials):
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if study.sampler.is_exhausted(study):
                break
            try:
                frozen = run_trial(study, func, catch)
            except SearchExhausted:
                break
            done += 1
            if gc_after_trial:
                gc.collect()
            progress.update(best.update(frozen))
            for cb in callbacks:
                cb(study, frozen)


class sigterm_as_interrupt:
    """Turn SIGTERM into KeyboardInterrupt in the main thread so the running trial is told."""

    def __enter__(self) -> None:
        self._old: Any = None
        try:
            self._old = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:  # not the main thread
            self._old = None

    @staticmethod
    def _handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)

