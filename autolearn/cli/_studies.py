"""Commands on studies: list, create, delete, stop."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from autolearn.cli._common import (
    STOP_REQUESTED_KEY,
    JsonOpt,
    StorageOpt,
    StudyOpt,
    emit_json,
    fail,
    format_value,
    load_study,
    open_storage,
    parse_directions,
    stdout_console,
)

__all__ = ["register"]


def studies(storage: StorageOpt, json_output: JsonOpt = False) -> None:
    """List the studies in a storage."""
    from rich.table import Table

    from autolearn.study import StudyDirection, TrialState

    store = open_storage(storage)
    rows: list[dict[str, Any]] = []
    for info in store.get_all_studies():
        best: float | None = None
        if len(info.directions) == 1:
            sign = 1.0 if info.directions[0] == StudyDirection.MINIMIZE else -1.0
            done = store.get_all_trials(info.study_id, (TrialState.COMPLETE,))
            values = [t.values[0] for t in done if t.values]
            best = min(values, key=lambda v: sign * v) if values else None
        rows.append({
            "name": info.study_name,
            "directions": [str(d) for d in info.directions],
            "n_trials": info.n_trials,
            "best_value": best,
            "datetime_start": info.datetime_start.isoformat() if info.datetime_start else None,
            "stop_requested": bool(info.system_attrs.get(STOP_REQUESTED_KEY, False)),
        })
    if json_output:
        emit_json(rows)
        return
    table = Table()
    for col, justify in (("name", "left"), ("directions", "left"), ("n_trials", "right"),
                         ("best value", "right"), ("start", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        start = (r["datetime_start"] or "")[:19].replace("T", " ")
        table.add_row(
            r["name"] + (" (stop requested)" if r["stop_requested"] else ""),
            ",".join(r["directions"]), str(r["n_trials"]),
            "" if r["best_value"] is None else format_value(r["best_value"]), start,
        )
    stdout_console().print(table)


def create_study(
    storage: StorageOpt,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (generated if omitted).")
    ] = None,
    direction: Annotated[
        str | None, typer.Option(help="minimize (default) or maximize.")
    ] = None,
    directions: Annotated[
        list[str] | None,
        typer.Option(help="One direction per objective: repeat it, or give a,b,c."),
    ] = None,
    skip_if_exists: Annotated[
        bool, typer.Option(help="Succeed (and print the name) if the study exists.")
    ] = False,
) -> None:
    """Create a study and print its name."""
    from autolearn.exceptions import DuplicatedStudyError
    from autolearn.study import create_study as _create

    direction, dirs = parse_directions(direction, directions)
    try:
        created = _create(
            storage=open_storage(storage, must_exist=False), study_name=study,
            direction=direction, directions=dirs, load_if_exists=skip_if_exists,
        )
    except DuplicatedStudyError:
        fail(f"a study named {study!r} already exists in this storage; pass "
             "--skip-if-exists to accept it, or choose another name")
    typer.echo(created.study_name)


def delete_study(
    storage: StorageOpt,
    study: StudyOpt,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a study and all its trials."""
    from autolearn.study import delete_study as _delete

    store = open_storage(storage)
    store.get_study_id(study)  # fail on an unknown name before asking
    if not yes:
        if not sys.stdin.isatty():
            fail(f"refusing to delete study {study!r} without confirmation; pass --yes")
        n = store.get_study(store.get_study_id(study)).n_trials
        typer.confirm(f"Delete study {study!r} and its {n} trial(s)?", abort=True)
    _delete(study_name=study, storage=store)
    typer.echo(f"deleted study {study!r}", err=True)


def stop_study(
    storage: StorageOpt,
    study: StudyOpt,
    clear: Annotated[
        bool, typer.Option("--clear", help="Withdraw an earlier stop request.")
    ] = False,
) -> None:
    """Ask every worker of a study to stop after its running trial.

    Sets the study's system attribute ``stop_requested``; workers check it between trials
    (and refuse to start while it is set, until ``--clear``).
    """
    s = load_study(storage, study)
    s.set_system_attr(STOP_REQUESTED_KEY, not clear)
    what = "cleared the stop request of" if clear else "requested stop of"
    typer.echo(f"{what} study {study!r}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("studies")(studies)
    app.command("create-study")(create_study)
    app.command("delete-study")(delete_study)
    app.command("stop-study")(stop_study)
