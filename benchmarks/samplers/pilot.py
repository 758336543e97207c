"""Pilot runs on seeds that are never reported, and the default sampler's rule from them.

``run``: one sampler configuration on some problems and seeds, 100 trials each, through the
same objectives, encoding (``suggest_all``) and study calls as the benchmark runner; each
run's values and its trials' tags (restart phase or the default's pick) are appended to a
JSON-lines file (gzip if it ends in ``.gz``), and runs already there are skipped.
``rules``: from such a file with ``gp`` and ``tpe`` runs, the median regret at 25 / 50 / 100
per problem, seeds where GP-BO was better / worse, and every rule that assigns each space
*shape* (floats, integers, categoricals, encoded dimensions) to GP-BO or TPE, ranked by the
mean rank over the problems (among the rule, pure GP-BO and pure TPE; ties averaged).
Session 10 (``docs/samplers.md``, ``docs/samplers_gp.md``) used seeds 100-129; its runs are
in ``benchmarks/results/samplers_pilot_s10.jsonl.gz`` (their restart candidates, options
since removed, included). Usage (from the repository root)::

    python -m benchmarks.samplers.pilot run gp,tpe hpolib_naval_propulsion 100-129 OUT.jsonl.gz
    python -m benchmarks.samplers.pilot rules OUT.jsonl.gz
"""

from __future__ import annotations

import gzip
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

CONFIGS = ("gp", "gp-no-restarts", "gp-no-warp", "tpe", "default")


def _make(config: str, seed: int) -> Any:
    from autolearn.samplers import GPSampler, TPESampler

    return {"gp": lambda: GPSampler(seed=seed),
            "gp-no-restarts": lambda: GPSampler(seed=seed, restarts=False),
            "gp-no-warp": lambda: GPSampler(seed=seed, output_warp=False),
            "tpe": lambda: TPESampler(seed=seed),
            "default": lambda: None}[config]()


def _open(path: Path, mode: str) -> Any:
    return gzip.open(path, mode + "t") if path.suffix == ".gz" else path.open(mode)


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with _open(path, "r") as f:
        return [json.loads(line) for line in f if line.strip()]


def run(configs: list[str], problems: list[str], seeds: range, out: Path) -> None:
    from threadpoolctl import threadpool_limits

    import autolearn
    from autolearn.samplers.bo.restart import PHASE_KEY
    from benchmarks.samplers._space import suggest_all
    from benchmarks.samplers.problems import PROBLEMS

    done = {(r["config"], r["problem"], r["seed"]) for r in _load(out)}
    for config, seed, name in itertools.product(configs, seeds, problems):
        if (config, name, seed) in done:
            continue
        prob = PROBLEMS[name]
        objective, optimum = prob.load()
        sampler = _make(config, seed)
        study = (autolearn.create_study(direction="minimize", seed=seed) if sampler is None
                 else autolearn.create_study(direction="minimize", sampler=sampler))
        with threadpool_limits(limits=1):
            study.optimize(lambda t: float(objective(suggest_all(t, prob.space))),  # noqa: B023
                           n_trials=100)
        tags = [t.system_attrs.get(PHASE_KEY) or t.system_attrs.get("auto_sampler", "")
                for t in study.trials]
        rec: dict[str, Any] = {"config": config, "problem": name, "seed": seed, "optimum": optimum,
                                "values": [t.value for t in study.trials], "tags": tags}
        with _open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(config, name, seed, min(rec["values"]) - (optimum or 0.0), flush=True)


def shape(problem: str) -> tuple[int, int, int, int]:
    """(floats, integers, categoricals, encoded dimensions) of a benchmark problem."""
    from benchmarks.samplers._space import Categorical, Float, Int
    from benchmarks.samplers.problems import PROBLEMS

    space = PROBLEMS[problem].space
    return (sum(isinstance(p, Float) for p in space), sum(isinstance(p, Int) for p in space),
            sum(isinstance(p, Categorical) for p in space),
            sum(len(p.choices) if isinstance(p, Categorical) else 1 for p in space))


def rules(path: Path, budgets: tuple[int, ...] = (25, 50, 100)) -> None:
    from scipy.stats import rankdata

    regret: dict[tuple[str, str], dict[int, np.ndarray]] = defaultdict(dict)
    for r in _load(path):
        v = np.asarray(r["values"], dtype=float) - (r["optimum"] or 0.0)
        regret[(r["config"], r["problem"])][r["seed"]] = np.minimum.accumulate(v)
    problems = sorted(p for c, p in regret if c == "gp" and ("tpe", p) in regret)
    med: dict[tuple[str, str, int], float] = {}
    for p in problems:
        gp, tpe = regret[("gp", p)], regret[("tpe", p)]
        seeds = sorted(set(gp) & set(tpe))
        for c, runs in (("gp", gp), ("tpe", tpe)):
            for b in budgets:
                med[(c, p, b)] = float(np.median([runs[s][b - 1] for s in seeds]))
        wl = [f"{sum(gp[s][b - 1] < tpe[s][b - 1] for s in seeds)}-"
              f"{sum(gp[s][b - 1] > tpe[s][b - 1] for s in seeds)}" for b in budgets]
        print(f"{p} {shape(p)} seeds {len(seeds)}: GP-BO "
              + " / ".join(f"{med[('gp', p, b)]:.3g}" for b in budgets) + ", TPE "
              + " / ".join(f"{med[('tpe', p, b)]:.3g}" for b in budgets)
              + ", GP-BO better-worse " + ", ".join(wl))
    shapes = sorted({shape(p) for p in problems})
    scored: list[tuple[float, bool, dict[Any, str], list[np.ndarray]]] = []
    for pick in itertools.product(("gp", "tpe"), repeat=len(shapes)):
        by_shape = dict(zip(shapes, pick, strict=True))
        ranks: list[np.ndarray] = []
        for b in budgets:
            per_problem = np.array([rankdata([med[("gp", p, b)], med[("tpe", p, b)],
                                              med[(by_shape[shape(p)], p, b)]])
                                    for p in problems])
            ranks.append(per_problem.mean(0))  # (GP-BO, TPE, rule)
        ok = all(rk[2] <= min(rk[0], rk[1]) for rk in ranks)
        scored.append((float(sum(rk[2] for rk in ranks)), ok, by_shape, ranks))
    print("shape (floats, integers, categoricals, encoded dims) -> searcher; mean rank of the "
          "rule / pure GP-BO / pure TPE at " + " / ".join(map(str, budgets)))
    for total, ok, by_shape, ranks in sorted(scored, key=lambda t: t[0]):
        print(f"{total:.2f} {'meets' if ok else 'fails'} {by_shape}: "
              + "; ".join(f"{rk[2]:.2f} / {rk[0]:.2f} / {rk[1]:.2f}" for rk in ranks))


def main(argv: list[str]) -> None:
    if argv[:1] == ["run"] and len(argv) == 5:
        lo, hi = map(int, argv[3].split("-"))
        configs = argv[1].split(",")
        if not set(configs) <= set(CONFIGS):
            raise SystemExit(f"configurations: {', '.join(CONFIGS)}")
        run(configs, argv[2].split(","), range(lo, hi + 1), Path(argv[4]))
    elif argv[:1] == ["rules"] and len(argv) == 2:
        rules(Path(argv[1]))
    else:
        raise SystemExit("usage: pilot run CONFIGS PROBLEMS LO-HI OUT | pilot rules FILE")


if __name__ == "__main__":
    main(sys.argv[1:])
