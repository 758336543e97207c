"""``python -m benchmarks list`` / ``python -m benchmarks run NAME [--quick] [options]``."""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks import REGISTRY
from benchmarks._common import load_average, machine_info, write_report

DEFAULT_RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _list() -> int:
    for name, module in REGISTRY.items():
        doc = importlib.import_module(module).DESCRIPTION
        print(f"{name:20s} {doc}")
    return 0


def _run(name: str, rest: Sequence[str], argv: Sequence[str]) -> int:
    if name not in REGISTRY:
        print(f"unknown benchmark {name!r}; known: {', '.join(REGISTRY)}", file=sys.stderr)
        return 2
    module = importlib.import_module(REGISTRY[name])
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks run {name}",
                                     description=module.DESCRIPTION)
    parser.add_argument("--quick", action="store_true",
                        help="tiny budget (seconds), for the smoke test")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR,
                        help=f"where NAME.md and NAME.json go (default {DEFAULT_RESULTS_DIR})")
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    started = _dt.datetime.now().astimezone()
    info = machine_info()
    before = load_average()
    report = module.run(args)
    after = load_average()
    md, js = write_report(name, report, results_dir=args.results_dir, argv=argv,
                          started=started, load_before=before, load_after=after, info=info)
    print(md.read_text())
    print(f"wrote {md} and {js}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the registered benchmarks")
    run = sub.add_parser("run", help="run one benchmark (options after NAME: see NAME -h)",
                         add_help=False)
    run.add_argument("name")
    args, rest = parser.parse_known_args(argv)
    if args.cmd == "list":
        return _list()
    return _run(args.name, rest, argv)


if __name__ == "__main__":
    sys.exit(main())
