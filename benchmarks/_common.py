"""Shared plumbing: the report record, machine info, result files, PostgreSQL databases."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "POSTGRES_ENV",
    "Report",
    "command_line",
    "load_average",
    "machine_info",
    "median",
    "postgres_databases",
    "write_report",
]

POSTGRES_ENV = "AUTOLEARN_TEST_POSTGRES_URL"


@dataclass
class Report:
    """What a benchmark hands back: one markdown table, notes, and raw numbers for JSON."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def _git_revision() -> str:
    """The checked-out commit (read-only git calls), ``+dirty`` if autolearn/ has edits."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "autolearn"], cwd=root,
                               text=True, capture_output=True, check=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "autolearn": _version("autolearn"),
        "autolearn_commit": _git_revision(),
        "optuna": _version("optuna"),
        "sqlalchemy": _version("sqlalchemy"),
        "numpy": _version("numpy"),
        "scikit-learn": _version("scikit-learn"),
    }


def command_line(argv: Sequence[str]) -> str:
    """The command that reproduces this run, from the repository root."""
    exe = sys.executable
    with contextlib.suppress(ValueError):
        exe = os.path.relpath(exe) if not os.path.relpath(exe).startswith("..") else exe
    cmd = f"{exe} -m benchmarks {shlex.join(argv)}"
    if os.environ.get(POSTGRES_ENV):
        cmd = f"bash scripts/with_postgres.sh {cmd}"
    return cmd


def _cell(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    return str(v)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(
    name: str,
    report: Report,
    *,
    results_dir: Path,
    argv: Sequence[str],
    started: _dt.datetime,
    load_before: tuple[float, float, float] | None,
    load_after: tuple[float, float, float] | None,
    info: dict[str, Any],
) -> tuple[Path, Path]:
    """Write ``NAME.md`` (table, command, date, machine) and ``NAME.json`` (raw numbers)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    cmd = command_line(argv)

    def fmt_load(x: tuple[float, float, float] | None) -> str:
        return "n/a" if x is None else " / ".join(f"{v:.2f}" for v in x)

    md = [
        f"# {report.title}",
        "",
        markdown_table(report.header, report.rows),
        "",
    ]
    if report.notes:
        md += [f"- {n}" for n in report.notes] + [""]
    md += [
        "Command (from the repository root):",
        "",
        "```",
        cmd,
        "```",
        "",
        f"- Date: {started.isoformat(timespec='seconds')}",
        f"- Machine: {info['cpu_count']} CPUs ({info['cpu_model'] or 'unknown model'}), "
        f"{info['platform']}",
        f"- Load average (1/5/15 min) before: {fmt_load(load_before)}; "
        f"after: {fmt_load(load_after)}",
        f"- Versions: Python {info['python']}, autolearn {info['autolearn']} "
        f"(commit {info['autolearn_commit']}), "
        f"Optuna {info['optuna']}, SQLAlchemy {info['sqlalchemy']}, NumPy {info['numpy']}, "
        f"scikit-learn {info['scikit-learn']}",
        "",
    ]
    md_path = results_dir / f"{name}.md"
    md_path.write_text("\n".join(md))
    payload = {
        "benchmark": name,
        "title": report.title,
        "command": cmd,
        "date": started.isoformat(timespec="seconds"),
        "machine": info,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "header": list(report.header),
        "rows": [list(r) for r in report.rows],
        "notes": report.notes,
        "raw": report.raw,
    }
    json_path = results_dir / f"{name}.json"
    json_path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return md_path, json_path


@contextlib.contextmanager
def postgres_databases(base_url: str, labels: Sequence[str]) -> Iterator[dict[str, str]]:
    """Fresh databases on the server of ``base_url``, one per label, dropped afterwards.

    autolearn and Optuna both name their tables ``studies`` and ``trials``, so each library
    gets a database of its own.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    tag = uuid.uuid4().hex[:8]
    names = {label: f"bench_{label}_{tag}" for label in labels}
    try:
        with admin.connect() as conn:
            for db in names.values():
                conn.execute(text(f'CREATE DATABASE "{db}"'))
        yield {label: url.set(database=db).render_as_string(hide_password=False)
               for label, db in names.items()}
    finally:
        with admin.connect() as conn:
            for db in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
