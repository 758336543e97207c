"""Commands on trials: list, best, and ask/tell for shell-driven loops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from autolearn.cli._common import (
    JsonOpt,
    StorageOpt,
    StudyOpt,
    as_distributions,
    emit_json,
    fail,
    format_params,
    format_value,
    load_study,
    parse_search_space,
    parse_values,
    stdout_console,
    trial_to_dict,
    trials_table,
)
from autolearn.exceptions import TrialNotFoundError
from autolearn.study import TrialState

if TYPE_CHECKING:
    from autolearn.study import FrozenTrial, Study

__all__ = ["register"]

_FINISHED = ("complete", "pruned", "fail")


def _parse_states(states: list[str] | None) -> list[TrialState] | None:
    if not states:
        return None
    out = []
    for text in (p.strip() for s in states for p in s.split(",")):
        try:
            out.append(TrialState[text.upper()])
        except KeyError:
            names = ", ".join(s.name.lower() for s in TrialState)
            fail(f"--state must be one of {names}, but got {text!r}")
    return out


def trials(
    storage: StorageOpt,
    study: StudyOpt,
    state: Annotated[
        list[str] | None,
        typer.Option(help="Only trials in this state (repeat it, or give a,b)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Show only the last N trials.")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """List a study's trials: number, state, value(s), params, duration."""
    s = load_study(storage, study)
    states = _parse_states(state)
    found = s.get_trials(states=states) if states else s.trials
    if limit is not None:
        found = found[-limit:]
    if json_output:
        emit_json([trial_to_dict(t) for t in found])
        return
    stdout_console().print(trials_table(found, len(s.directions), title=f"study {study}"))


def _show_best(s: Study, best: list[FrozenTrial], json_output: bool, as_list: bool) -> None:
    if json_output:
        emit_json([trial_to_dict(t) for t in best] if as_list else trial_to_dict(best[0]))
        return
    title = "best trial" if not as_list else (
        "Pareto front" if s.is_multi_objective else "best trials"
    )
    table = trials_table(best, len(s.directions), title=f"{title} of {s.study_name}")
    stdout_console().print(table)


def best_trial(storage: StorageOpt, study: StudyOpt, json_output: JsonOpt = False) -> None:
    """Show the best trial (for a multi-objective study: every Pareto-optimal trial)."""
    s = load_study(storage, study)
    if s.is_multi_objective:
        front = s.best_trials
        if not front:
            fail(f"study {study!r} has no COMPLETE trial yet")
        _show_best(s, front, json_output, as_list=True)
    else:
        _show_best(s, [s.best_trial], json_output, as_list=False)


def best_trials(storage: StorageOpt, study: StudyOpt, json_output: JsonOpt = False) -> None:
    """List the Pareto-optimal trials (one objective: every trial tied for best)."""
    s = load_study(storage, study)
    front = s.best_trials
    if not front:
        fail(f"study {study!r} has no COMPLETE trial yet")
    _show_best(s, front, json_output, as_list=True)


def ask(
    storage: StorageOpt,
    study: StudyOpt,
    params: Annotated[
        str | None,
        typer.Option(
            help='Search space as JSON ({"x": {"type": "float", "low": 0, "high": 1}}, '
            'or {"c": ["a", "b"]}); @file.json reads a file.'
        ),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Start a trial and print its number and suggested parameters.

    The trial is RUNNING until ``autolearn tell``. It holds no heartbeat lease (this
    process exits right away), so other workers never reap it as dead: finish it with
    ``tell`` even when your script fails (``tell --state fail``).
    """
    space = parse_search_space(params) if params is not None else None
    dists = as_distributions(space) if space is not None else None  # bad ones: no trial
    s = load_study(storage, study, leases=False)
    trial = s.ask()
    try:
        if dists is not None:
            dists.suggest(trial)
    except BaseException as exc:
        s.tell(trial, state=TrialState.FAIL, fail_reason=f"{type(exc).__name__}: {exc}",
               skip_if_finished=True)
        raise
    if json_output:
        emit_json({"number": trial.number, "params": trial.params})
        return
    typer.echo(f"trial {trial.number}" + (f": {format_params(trial.params)}"
                                          if trial.params else ""))


def tell(
    storage: StorageOpt,
    study: StudyOpt,
    trial_number: Annotated[int, typer.Option("--trial-number", min=0, help="Trial number.")],
    values: Annotated[
        list[str] | None,
        typer.Option(help="Objective value(s): repeat it, or give a,b."),
    ] = None,
    state: Annotated[
        str | None, typer.Option(help="complete (with --values), pruned or fail.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why the trial failed (with --state fail).")
    ] = None,
    skip_if_finished: Annotated[
        bool, typer.Option(help="Succeed quietly if the trial has already finished.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Finish a trial started with ``ask``: COMPLETE with values, PRUNED or FAIL."""
    st_text = (state or ("complete" if values else "")).lower()
    if st_text not in _FINISHED:
        fail("give --values V (a COMPLETE trial) or --state pruned|fail"
             if not st_text else f"--state must be one of {', '.join(_FINISHED)}, got {state!r}")
    st = TrialState[st_text.upper()]
    vals = parse_values(values or [])
    s = load_study(storage, study, leases=False)
    if st == TrialState.COMPLETE and len(vals) != len(s.directions):
        fail(f"study {study!r} has {len(s.directions)} objective(s), but got "
             f"{len(vals)} value(s) {vals}")
    if st != TrialState.COMPLETE and vals:
        fail(f"a {st.name} trial takes no --values")
    if reason is not None and st != TrialState.FAIL:
        fail("--reason goes with --state fail")
    try:
        frozen = s.tell(trial_number, vals if st == TrialState.COMPLETE else None, st,
                        skip_if_finished=skip_if_finished,
                        fail_reason=reason or ("failed (told from the command line)"
                                               if st == TrialState.FAIL else None))
    except TrialNotFoundError:
        fail(f"study {study!r} has no trial number {trial_number} (it has {len(s.trials)} "
             "trials; `autolearn trials` lists them)")
    if json_output:
        emit_json(trial_to_dict(frozen))
        return
    shown = f" {', '.join(format_value(v) for v in frozen.values)}" if frozen.values else ""
    typer.echo(f"trial {frozen.number}: {frozen.state.name}{shown}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("trials")(trials)
    app.command("best-trial")(best_trial)
    app.command("best-trials")(best_trials)
    app.command("ask")(ask)
    app.command("tell")(tell)
