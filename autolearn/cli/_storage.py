"""``autolearn storage ...``: schema upgrades and a summary of a store."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from autolearn.cli._common import STORAGE_ENV, JsonOpt, add_group, emit_json, fail, open_storage

__all__ = ["register"]

UrlArg = Annotated[
    str,
    typer.Argument(metavar="URL", envvar=STORAGE_ENV, show_envvar=True,
                   help="Storage URL (sqlite:///file.db, postgresql+psycopg://...)."),
]


def _is_rdb(url: str) -> bool:
    return url.startswith(("sqlite:", "postgresql"))


def upgrade(url: UrlArg, json_output: JsonOpt = False) -> None:
    """Migrate an SQLite / PostgreSQL store to the current schema (back it up first)."""
    if not _is_rdb(url):
        fail(f"only SQLite and PostgreSQL stores have a schema to upgrade, not {url!r}")
    from autolearn.storages._rdb import upgrade as _upgrade

    old, new = _upgrade(url)
    if json_output:
        emit_json({"url": url, "from_version": old, "to_version": new})
    elif old == new:
        typer.echo(f"schema version {new} is current; nothing to do")
    else:
        typer.echo(f"upgraded schema from version {old} to {new}")


def info(url: UrlArg, json_output: JsonOpt = False) -> None:
    """Summarise a store: its kind, format version, studies and trials."""
    store = open_storage(url)
    data: dict[str, Any] = {"url": url}
    if _is_rdb(url):
        from autolearn.storages._rdb import current_schema_version

        data.update(kind="rdb", schema_version=current_schema_version())
    else:
        from autolearn.storages._journal import FORMAT_VERSION

        data.update(kind="journal", format_version=FORMAT_VERSION)
    studies = store.get_all_studies()
    data.update(n_studies=len(studies), n_trials=sum(s.n_trials for s in studies))
    if json_output:
        emit_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")


def register(app: typer.Typer) -> None:
    """Add the ``storage`` command group to ``app``."""
    add_group(app, "storage", "Maintain a storage: schema upgrades, summary.",
              {"upgrade": upgrade, "info": info})
