"""Commands that run an objective: ``optimize`` (one-off run) and ``worker`` (join a fleet)."""

from __future__ import annotations

import enum
import importlib
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from autolearn.cli._common import (
    STOP_REQUESTED_KEY,
    JsonOpt,
    StorageOpt,
    StudyOpt,
    UsageProblem,
    emit_json,
    fail,
    open_storage,
    parse_directions,
    parse_search_space,
    stdout_console,
    trial_to_dict,
    trials_table,
)

if TYPE_CHECKING:
    from autolearn.samplers import BaseSampler
    from autolearn.study import FrozenTrial, Study

__all__ = ["load_objective", "register"]


class SamplerName(enum.StrEnum):
    """Samplers selectable from the command line."""

    random = "random"
    grid = "grid"


ObjectiveArg = Annotated[
    str,
    typer.Argument(
        metavar="MODULE:FUNCTION",
        help="Objective: a module importable from the current directory (pkg.mod:objective) "
        "or a file (path/to/file.py:objective).",
    ),
]
NTrialsOpt = Annotated[
    int | None, typer.Option(min=0, help="Trials this command runs (default: no limit).")
]
TimeoutOpt = Annotated[
    float | None, typer.Option(min=0, help="Seconds after which no new trial starts.")
]
NJobsOpt = Annotated[int, typer.Option(help="Worker processes (-1: one per CPU).")]
SamplerOpt = Annotated[
    SamplerName, typer.Option(help="random, or grid (needs --search-space).")
]
SeedOpt = Annotated[int | None, typer.Option(help="Seed of the sampler.")]
SpaceOpt = Annotated[
    str | None,
    typer.Option(
        help='Grid as JSON: {"x": [1, 2, 3]} or distributions {"x": {"type": "int", '
        '"low": 0, "high": 3}}; @file.json reads a file.'
    ),
]
ProgressOpt = Annotated[
    bool, typer.Option(help="Show progress on stderr (a bar on a terminal, lines otherwise).")
]


def load_objective(spec: str) -> Callable[..., Any]:
    """Import the objective named by ``MODULE:FUNCTION`` (or ``path/file.py:FUNCTION``).

    A dotted module is imported with the current directory first on ``sys.path``; a file
    is loaded as a module named after it, with its directory first on ``sys.path`` so its
    own sibling imports work. ``FUNCTION`` may be dotted (``Class.method``).
    """
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        fail(f"expected MODULE:FUNCTION or path/to/file.py:FUNCTION, but got {spec!r}")
    is_file = module_part.endswith(".py") or "/" in module_part or os.sep in module_part
    try:
        if is_file:
            module = _load_file(module_part)
        else:
            cwd = os.getcwd()
            if cwd not in sys.path:
                sys.path.insert(0, cwd)
            module = importlib.import_module(module_part)
    except UsageProblem:
        raise
    except ModuleNotFoundError as exc:
        if not is_file and exc.name is not None and module_part.startswith(exc.name):
            fail(f"no module named {module_part!r} (searched the current directory and "
                 "sys.path); for a file pass path/to/file.py:FUNCTION")
        fail(f"importing {module_part!r} failed: {type(exc).__name__}: {exc}")
    except Exception as exc:
        fail(f"importing {module_part!r} failed: {type(exc).__name__}: {exc}")
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            fail(f"{module_part!r} has no attribute {attr!r}")
    if not callable(obj):
        fail(f"{spec!r} is not callable (it is a {type(obj).__name__})")
    return obj  # type: ignore[no-any-return]


def _load_file(path_text: str) -> Any:
    path = os.path.abspath(path_text)
    if not os.path.isfile(path):
        fail(f"objective file {path_text!r} does not exist")
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else "_autolearn_objective"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        fail(f"cannot load {path_text!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so n_jobs > 1 can pickle the objective by reference
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def build_sampler(kind: SamplerName, seed: int | None, search_space: str | None) -> BaseSampler:
    """The sampler chosen with ``--sampler``."""
    from autolearn.samplers import GridSampler, RandomSampler

    if kind == SamplerName.grid:
        if search_space is None:
            fail("--sampler grid needs --search-space JSON")
        return GridSampler(parse_search_space(search_space, "--search-space"), seed=seed)
    if search_space is not None:
        fail("--search-space is only used by --sampler grid")
    return RandomSampler(seed=seed)


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt("SIGTERM"), so the running trial is told FAIL."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _exit_interrupted(exc: KeyboardInterrupt, what: str) -> None:
    """Report an interruption; SIGTERM (a scheduler's shutdown) exits 0, Ctrl-C 130."""
    by_term = exc.args == ("SIGTERM",)
    typer.echo(f"{what} stopped by {'SIGTERM' if by_term else 'SIGINT'}; the running trial "
               "(if any) was recorded as FAIL", err=True)
    raise typer.Exit(0 if by_term else 130)


def _print_best(study: Study, json_output: bool) -> None:
    from autolearn.study import TrialState

    if study.is_multi_objective:
        best = study.best_trials
    else:
        done = study.get_trials(states=(TrialState.COMPLETE,))
        best = [study.best_trial] if done else []
    if not best:
        n = len(study.trials)
        fail(f"no trial of study {study.study_name!r} completed ({n} trial(s) in all); "
             f"see `autolearn trials --study {study.study_name} --state fail`")
    if json_output:
        data = [trial_to_dict(t) for t in best]
        emit_json({"study": study.study_name,
                   "best_trials" if study.is_multi_objective else "best_trial":
                   data if study.is_multi_objective else data[0]})
        return
    title = "Pareto front" if study.is_multi_objective else "best trial"
    stdout_console().print(trials_table(best, len(study.directions),
                                        title=f"{title} of {study.study_name}"))


def optimize(
    objective: ObjectiveArg,
    storage: StorageOpt,
    study: StudyOpt,
    n_trials: NTrialsOpt = None,
    timeout: TimeoutOpt = None,
    n_jobs: NJobsOpt = 1,
    direction: Annotated[
        str | None, typer.Option(help="minimize (default) or maximize (new study).")
    ] = None,
    directions: Annotated[
        list[str] | None,
        typer.Option(help="One direction per objective: repeat it, or give a,b."),
    ] = None,
    sampler: SamplerOpt = SamplerName.random,
    seed: SeedOpt = None,
    search_space: SpaceOpt = None,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
) -> None:
    """Run an objective on a study (created if missing), then print the best trial."""
    from autolearn.study import create_study, load_study

    func = load_objective(objective)
    direction, dirs = parse_directions(direction, directions)
    chosen = build_sampler(sampler, seed, search_space)
    store = open_storage(storage, must_exist=False)
    exists = study in {s.study_name for s in store.get_all_studies()}
    if exists and direction is None and dirs is None:
        s = load_study(study_name=study, storage=store, sampler=chosen)
    else:
        s = create_study(storage=store, study_name=study, direction=direction, directions=dirs,
                         sampler=chosen, load_if_exists=True)
    try:
        with _interruptible():
            s.optimize(func, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                       show_progress_bar=progress)
    except KeyboardInterrupt as exc:
        _exit_interrupted(exc, "optimize")
    _print_best(s, json_output)


class _WorkerControl:
    """Optimize callback: stops on a stop request or a study-wide trial budget."""

    def __init__(self, max_total_trials: int | None) -> None:
        self.max_total = max_total_trials
        self.ran = 0
        self.reason: str | None = None

    def should_stop(self, study: Study) -> str | None:
        if study.system_attrs.get(STOP_REQUESTED_KEY):
            return "stop requested"
        if self.max_total is not None:
            from autolearn.study import TrialState

            finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
            if len(study.get_trials(states=finished)) >= self.max_total:
                return "max total trials reached"
        return None

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        self.ran += 1
        reason = self.should_stop(study)
        if reason is not None:
            self.reason = reason
            study.stop()


def worker(
    objective: ObjectiveArg,
    storage: StorageOpt,
    study: StudyOpt,
    n_trials: NTrialsOpt = None,
    timeout: TimeoutOpt = None,
    n_jobs: NJobsOpt = 1,
    max_total_trials: Annotated[
        int | None,
        typer.Option(min=0, help="Stop once the study holds this many finished trials "
                     "(all workers together; may overshoot by the number of workers - 1)."),
    ] = None,
    sampler: SamplerOpt = SamplerName.random,
    seed: SeedOpt = None,
    search_space: SpaceOpt = None,
    progress: Annotated[bool, typer.Option(help="Show progress on stderr.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Join an existing study and run trials until a limit, a stop request or a signal.

    Workers cooperate through the storage only, so start as many as you like, on any
    machine that reaches it. Stop them all with ``autolearn stop-study``; SIGINT/SIGTERM
    records the running trial as FAIL and exits (130 after SIGINT, 0 after SIGTERM).
    """
    from autolearn.study import load_study

    func = load_objective(objective)
    chosen = build_sampler(sampler, seed, search_space)
    s = load_study(study_name=study, storage=open_storage(storage), sampler=chosen)
    control = _WorkerControl(max_total_trials)
    reason = control.should_stop(s)
    if reason is None:
        try:
            with _interruptible():
                s.optimize(func, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                           callbacks=[control], show_progress_bar=progress)
        except KeyboardInterrupt as exc:
            _exit_interrupted(exc, "worker")
        if control.reason is not None:
            reason = control.reason
        elif n_trials is not None and control.ran >= n_trials:
            reason = "n_trials reached"
        elif timeout is not None:
            reason = "timeout"
        else:
            reason = "sampler exhausted"
    if json_output:
        emit_json({"study": study, "trials_run": control.ran, "stopped_because": reason})
    else:
        typer.echo(f"worker finished: ran {control.ran} trial(s) ({reason})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("optimize")(optimize)
    app.command("worker")(worker)
