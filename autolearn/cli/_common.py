"""Shared pieces of the command line: options, storage access, output, parsing."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from autolearn.exceptions import ConfigError, SearchSpaceError, StorageError

if TYPE_CHECKING:
    from rich.console import Console

    from autolearn.space import BaseDistribution, SearchSpace
    from autolearn.storages import BaseStorage
    from autolearn.study import FrozenTrial, Study

__all__ = [
    "JsonOpt",
    "StorageOpt",
    "StudyOpt",
    "UsageProblem",
    "add_group",
    "emit_json",
    "fail",
    "load_study",
    "open_storage",
    "parse_directions",
    "parse_search_space",
    "parse_values",
    "stderr_console",
    "stdout_console",
    "trial_to_dict",
    "trials_table",
]

#: Environment variable read when ``--storage`` is not given.
STORAGE_ENV = "AUTOLEARN_STORAGE"
#: Study system attribute that asks every worker of the study to stop.
STOP_REQUESTED_KEY = "stop_requested"

StorageOpt = Annotated[
    str,
    typer.Option(
        "--storage",
        envvar=STORAGE_ENV,
        help="Storage URL: sqlite:///file.db, postgresql+psycopg://..., journal://file.jsonl "
             "(both paths relative; sqlite:////abs.db, journal:///abs.jsonl are absolute).",
        show_envvar=True,
    ),
]
StudyOpt = Annotated[str, typer.Option("--study", help="Study name.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")
]


class UsageProblem(ConfigError):
    """Bad input to a command that Typer's own parsing cannot catch (JSON, MODULE:FUNCTION)."""


def add_group(app: typer.Typer, name: str, help: str,
              commands: Mapping[str, Callable[..., Any]]) -> None:
    """Add a command group ``autolearn NAME SUBCOMMAND``; ``autolearn NAME`` alone prints
    the group's help and exits 0."""
    group = typer.Typer(help=help, no_args_is_help=False, invoke_without_command=True)

    @group.callback()
    def _group(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())
            raise typer.Exit(0)

    for command, func in commands.items():
        group.command(command)(func)
    app.add_typer(group, name=name)


def fail(message: str) -> NoReturn:
    """Stop the command with ``error: message`` on stderr (see :func:`autolearn.cli.main`)."""
    raise UsageProblem(message)


def stdout_console() -> Console:
    """A rich console on the current stdout (looked up at call time for test runners).

    Off a terminal (a pipe, a file) tables are not squeezed into 80 columns unless
    ``COLUMNS`` says so, so that ``grep`` sees whole rows.
    """
    from rich.console import Console

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(file=sys.stdout, soft_wrap=False, highlight=False,
                   width=1000 if wide else None)


def stderr_console() -> Console:
    """A rich console on the current stderr."""
    from rich.console import Console

    return Console(file=sys.stderr, soft_wrap=False, highlight=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (non-finite floats become null)."""
    typer.echo(json.dumps(_json_safe(data), indent=2, default=str))


def _json_safe(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, Mapping):
        return {str(k): _json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_json_safe(v) for v in data]
    return data


# ---- storage --------------------------------------------------------------------------------
def _local_path(url: str) -> str | None:
    """The file behind a sqlite or journal URL, or None (server database, in-memory)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):].split("?", 1)[0]
        return None if path in ("", ":memory:") else path
    if url.startswith("journal://"):
        return url[len("journal://"):]
    if url.endswith(".jsonl") and "://" not in url:
        return url
    return None


def open_storage(url: str, *, must_exist: bool = True, leases: bool = True) -> BaseStorage:
    """Open the storage at ``url``.

    Args:
        url: Storage URL.
        must_exist: Refuse a sqlite or journal file that does not exist yet, instead of
            creating an empty store (a typo in a read-only command must not leave files).
        leases: Keep heartbeat leases on (False for ``ask``: the trial outlives the
            process, so no lease may be taken that would later expire).
    """
    from autolearn.storages import get_storage

    if not url:
        fail(f"no storage given; pass --storage URL or set {STORAGE_ENV}")
    path = _local_path(url)
    if must_exist and path is not None and not os.path.exists(path):
        fail(f"storage file {path!r} does not exist (from URL {url!r})")
    options: dict[str, Any] = {} if leases else {"heartbeat_interval": None}
    try:
        return get_storage(url, **options)
    except OSError as exc:
        raise StorageError(f"cannot open storage {url!r}: {exc}") from None


def load_study(url: str, name: str, *, leases: bool = True, sampler: Any = None) -> Study:
    """Load study ``name`` from the storage at ``url`` (which must exist)."""
    from autolearn.study import load_study as _load

    return _load(study_name=name, storage=open_storage(url, leases=leases), sampler=sampler)


# ---- parsing --------------------------------------------------------------------------------
def _split(items: Sequence[str]) -> list[str]:
    """Accept both repeated options and comma-separated lists: ``-x a -x b`` or ``-x a,b``."""
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def parse_directions(
    direction: str | None, directions: Sequence[str] | None
) -> tuple[str | None, list[str] | None]:
    """Validate ``--direction`` / ``--directions`` (repeated or comma-separated)."""
    from autolearn.study import StudyDirection

    dirs = _split(directions or [])
    if directions is not None and not dirs:
        fail("--directions needs at least one of minimize / maximize, e.g. "
             "--directions minimize,maximize")
    if direction is not None and dirs:
        fail("give either --direction or --directions, not both")
    for d in ([direction] if direction else []) + dirs:
        StudyDirection.parse(d)
    return direction, (dirs or None)


def parse_values(values: Sequence[str]) -> list[float]:
    """Objective values from ``--values`` (repeated or comma-separated)."""
    out = []
    for text in _split(values):
        try:
            out.append(float(text))
        except ValueError:
            fail(f"--values takes numbers, but got {text!r}")
    return out


def read_json_arg(text: str, option: str) -> Any:
    """Decode a JSON option value; ``@path`` reads the JSON from a file."""
    source = "JSON"
    if text.startswith("@"):
        source = f"file {text[1:]!r}"
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            fail(f"{option}: cannot read {source}: {exc.strerror}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{option}: invalid {source}: {exc.msg} at line {exc.lineno} column {exc.colno}")


def parse_search_space(
    text: str, option: str = "--params"
) -> SearchSpace | dict[str, list[Any]]:
    """A search space from JSON.

    Each name maps to one of: a distribution in the format of
    :func:`autolearn.space.distribution_to_json` (``{"type": "float", "low": 0, "high": 1}``),
    an entry of :meth:`autolearn.space.SearchSpace.to_json` (``{"distribution": {...},
    "parent": ..., "values": [...]}``), or a list of values. A space made only of lists is
    returned as a ``{name: values}`` dict (what :class:`~autolearn.samplers.GridSampler`
    accepts); otherwise lists become categorical distributions in a
    :class:`~autolearn.space.SearchSpace`.
    """
    from autolearn.space import SearchSpace

    data = read_json_arg(text, option)
    if not isinstance(data, dict) or not data:
        fail(f"{option}: expected a non-empty JSON object mapping names to distributions")
    if all(isinstance(v, list) for v in data.values()):
        return {str(k): list(v) for k, v in data.items()}
    entries: dict[str, Any] = {}
    for name, entry in data.items():
        if isinstance(entry, list):
            entry = {"distribution": {"type": "categorical", "choices": entry}}
        elif isinstance(entry, dict) and "type" in entry:
            entry = {"distribution": entry}
        elif not (isinstance(entry, dict) and "distribution" in entry):
            fail(
                f"{option}: parameter {name!r} must be a distribution such as "
                f'{{"type": "float", "low": 0, "high": 1}} or a list of values, got {entry!r}'
            )
        entries[name] = entry
    try:
        return SearchSpace.from_json(entries)
    except (SearchSpaceError, ConfigError, KeyError, TypeError) as exc:
        fail(f"{option}: {exc}")


def as_distributions(space: SearchSpace | dict[str, list[Any]]) -> SearchSpace:
    """A :class:`SearchSpace` (lists of values become categorical distributions)."""
    from autolearn.space import CategoricalDistribution, SearchSpace

    if isinstance(space, SearchSpace):
        return space
    dists: dict[str, BaseDistribution] = {
        name: CategoricalDistribution(values) for name, values in space.items()
    }
    return SearchSpace(dists)


# ---- trials -----------------------------------------------------------------------------------
def trial_to_dict(t: FrozenTrial) -> dict[str, Any]:
    """A JSON-ready description of a trial."""
    duration = t.duration
    out: dict[str, Any] = {
        "number": t.number,
        "state": t.state.name,
        "values": list(t.values) if t.values is not None else None,
        "params": dict(t.params),
        "user_attrs": dict(t.user_attrs),
        "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
        "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
        "duration": duration.total_seconds() if duration is not None else None,
    }
    reason = t.system_attrs.get("fail_reason")
    if reason:
        out["fail_reason"] = reason
    return out


def format_value(v: Any) -> str:
    """Short human form of a value or parameter."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items())


def trials_table(trials: Sequence[FrozenTrial], n_objectives: int, title: str | None = None) -> Any:
    """A rich table: number, state, value(s), params, duration."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("number", justify="right")
    table.add_column("state")
    if n_objectives == 1:
        table.add_column("value", justify="right")
    else:
        for i in range(n_objectives):
            table.add_column(f"values[{i}]", justify="right")
    table.add_column("params", overflow="fold")
    table.add_column("duration", justify="right")
    for t in trials:
        vals = list(t.values) if t.values is not None else [None] * n_objectives
        cells = ["" if v is None else format_value(v) for v in vals]
        cells += [""] * (n_objectives - len(cells))
        d = t.duration
        table.add_row(
            str(t.number), t.state.name, *cells, format_params(t.params),
            "" if d is None else f"{d.total_seconds():.2f}s",
        )
    return table
