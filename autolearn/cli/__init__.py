"""The ``autolearn`` command line.

Every command reads and writes a study store given by ``--storage URL`` (or the
``AUTOLEARN_STORAGE`` environment variable). Commands that print data take ``--json`` for
machine-readable output on stdout. A failure prints one line ``error: ...`` on stderr and
exits with status 1 (2 for a malformed command line).

Commands are added by the modules listed in :data:`COMMAND_MODULES`, each through its
``register(app)`` function; add a module there to add commands.

Example:
    $ autolearn create-study --storage sqlite:///demo.db --study demo
    $ autolearn optimize objective.py:objective --storage sqlite:///demo.db --study demo \\
          --n-trials 20
    $ autolearn best-trial --storage sqlite:///demo.db --study demo --json
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from autolearn.cli import _meta, _nas, _rl, _run, _storage, _studies, _trials
from autolearn.exceptions import AutolearnError

__all__ = ["COMMAND_MODULES", "app", "main"]

#: Modules whose ``register(app)`` adds commands, in help order.
COMMAND_MODULES = (_studies, _trials, _run, _storage, _rl, _meta, _nas)


def _error(message: str) -> None:
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    typer.echo(f"error: {first}", err=True)


class _Group(TyperGroup):
    """Top-level group: reports every failure as one ``error:`` line, never a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except typer.TyperException as exc:
            _error(exc.format_message())
            code = exc.exit_code
        except typer.Abort:
            _error("aborted")
            code = 1
        except AutolearnError as exc:
            _error(str(exc) or type(exc).__name__)
            code = 1
        except OSError as exc:
            _error(f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else ""))
            code = 1
        except KeyboardInterrupt:
            _error("interrupted")
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    name="autolearn",
    help="autolearn: run and inspect hyperparameter studies kept in a storage.",
    add_completion=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _StderrHandler(logging.Handler):
    """Writes log records to the *current* ``sys.stderr`` (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _version(value: bool) -> None:
    if value:
        from autolearn import __version__

        typer.echo(f"autolearn {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True,
                           help="Print the version and exit.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log autolearn's INFO messages to stderr.")
    ] = False,
) -> None:
    """autolearn: run and inspect hyperparameter studies kept in a storage."""
    logger = logging.getLogger("autolearn")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[autolearn] %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


for _module in COMMAND_MODULES:
    _module.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    command = typer.main.get_command(app)
    code: int = command.main(args=list(argv) if argv is not None else None,
                             prog_name="autolearn", standalone_mode=False)
    return code
