"""Per-seed traces of the GP's runs, and a replay that shows what each trial was.

``traces``: from the benchmark cache, every stored run of ``OPTIMIZER`` on ``PROBLEM``
(the cache is append-only, so a task re-run after a sampler change has several versions,
oldest first): best regret after 10 / 25 / 50 / 75 / 100 evaluations and the trial of the
last improvement. ``replay``: re-runs ``GPSampler(seed)`` on the problem as the benchmark
does, checks the values equal the cache's last version of that run, and prints where the
best-so-far improved, what each trial was (main search with or without the output warp;
a restart phase's design, local or refinement step) and, for Styblinski-Tang, how many
coordinates of the incumbent sit in the wrong well (x > 0: the local minimum at +2.75
instead of the global one at -2.90; each such coordinate costs ~14.1 of regret). Notes in
``docs/samplers_gp.md``. Usage (from the repository root)::

    python -m benchmarks.samplers.gp_traces traces styblinski_tang5 autolearn-gp
    python -m benchmarks.samplers.gp_traces replay styblinski_tang5 0,1 [select|true|false]
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path(__file__).resolve().parents[1] / "results" / "samplers_cache.jsonl.gz"
BUDGETS = (10, 25, 50, 75, 100)


def _versions(optimizer: str, problem: str) -> dict[int, list[dict[str, Any]]]:
    runs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with gzip.open(CACHE, "rt") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                t = r["task"]
                if (t["optimizer"], t["problem"], t["n_trials"]) == (optimizer, problem, 100):
                    runs[t["seed"]].append(r)
    return runs


def _regret(r: dict[str, Any]) -> np.ndarray:
    return np.minimum.accumulate(np.asarray(r["values"], dtype=float) - (r["optimum"] or 0.0))


def traces(problem: str, optimizer: str) -> None:
    for seed, rs in sorted(_versions(optimizer, problem).items()):
        for k, r in enumerate(rs):
            b = _regret(r)
            drops = np.nonzero(np.diff(b) < 0)[0]
            last = int(drops[-1] + 2) if len(drops) else 1
            print(f"seed {seed} version {k + 1}/{len(rs)}: "
                  + " / ".join(f"{b[n - 1]:.3g}" for n in BUDGETS if n <= len(b))
                  + f"; last improvement at trial {last}")


class _Recorded:
    """A warp that records its log-Jacobian (the warp-selection test uses it)."""

    def __init__(self, warp: Any, log: list[float]) -> None:
        self._warp, self._log = warp, log

    def __call__(self, v: np.ndarray) -> np.ndarray:
        return self._warp(v)

    def log_jacobian(self, v: np.ndarray) -> float:
        out = self._warp.log_jacobian(v)
        self._log.append(out)
        return out


def replay(problem: str, seed: int, output_warp: str = "select") -> None:
    from threadpoolctl import threadpool_limits

    import autolearn
    from autolearn.samplers._gp import GPSampler
    from autolearn.samplers.bo.gp import GaussianProcess
    from autolearn.samplers.bo.restart import PHASE_KEY
    from benchmarks.samplers._space import Float, Int, suggest_all
    from benchmarks.samplers.problems import PROBLEMS

    prob = PROBLEMS[problem]
    objective, optimum = prob.load()
    warp_arg: Any = {"select": "select", "true": True, "false": False}[output_warp]
    sampler = GPSampler(seed=seed, output_warp=warp_arg)
    # Record, per suggestion, both fits' evidence and the warp's log-Jacobian.
    # (At class level: the sampler deep-copies its surrogate after the first fit.)
    fits: list[tuple[str, float]] = []
    jac: list[float] = []
    original_fit = GaussianProcess.fit

    def fit(self: Any, *a: Any, **k: Any) -> Any:
        post = original_fit(self, *a, **k)
        fits.append(("warped" if self is sampler.surrogate else "raw",
                     float(post.log_evidence())))
        return post

    GaussianProcess.fit = fit  # type: ignore[method-assign]
    if sampler.output_warp is not None:
        base = sampler.output_warp
        sampler.output_warp = lambda y: (None if (w := base(y)) is None  # type: ignore
                                         else _Recorded(w, jac))
    study = autolearn.create_study(sampler=sampler)
    kinds: list[str] = []
    try:
        with threadpool_limits(limits=1):
            for _ in range(100):
                n_fits, n_jac = len(fits), len(jac)
                trial = study.ask()
                study.tell(trial, objective(suggest_all(trial, prob.space)))
                tag = study.trials[-1].system_attrs.get(PHASE_KEY)
                new = fits[n_fits:]
                if tag and (not tag.endswith("design") or not new):
                    kinds.append(tag)  # a restart phase's step
                elif not new:
                    kinds.append("startup")
                else:  # the main search (its proposal replaced by a design point if tagged)
                    if len(new) == 2 and len(jac) > n_jac:
                        kept = "raw" if new[1][1] > new[0][1] + jac[-1] else "warp"
                    else:
                        kept = "warp" if output_warp == "true" else "raw"
                    kinds.append(kept + (f" -> {tag}" if tag else ""))
    finally:
        GaussianProcess.fit = original_fit  # type: ignore[method-assign]
    values = np.array([t.value for t in study.trials])
    cached = _versions("autolearn-gp", problem).get(seed, [])
    same = bool(cached) and np.array_equal(values, np.asarray(cached[-1]["values"]))
    print(f"{problem} seed {seed} output_warp={output_warp}: same values as the cache's last "
          f"version: {same}")
    b = np.minimum.accumulate(values - optimum)
    counts: dict[str, int] = defaultdict(int)
    for k in kinds:
        counts[k] += 1
    print("  trials by kind:", dict(counts))
    design = [i + 1 for i, k in enumerate(kinds) if "design" in k]
    if design:
        print(f"  restart designs at trials {design}")
    if all(hasattr(p, "low") and not getattr(p, "log", False) for p in prob.space):
        # proposals after the last improvement: how far from the incumbent (unit cube,
        # Euclidean) and how good
        bounded = [p for p in prob.space if isinstance(p, Float | Int)]  # all, as tested
        cube = np.array([[(t.params[p.name] - p.low) / (p.high - p.low) for p in bounded]
                         for t in study.trials])
        i_best = int(np.argmin(values))
        after = slice(i_best + 1, None)
        if i_best + 1 < len(values):
            dist = np.linalg.norm(cube[after] - cube[i_best], axis=1)
            print(f"  after the last improvement (trial {i_best + 1}): {len(dist)} proposals, "
                  f"distance to the incumbent median {np.median(dist):.3g} (quartiles "
                  f"{np.percentile(dist, 25):.3g}-{np.percentile(dist, 75):.3g}), regret "
                  f"median {np.median(values[after] - optimum):.3g}")
        # The floor of the incumbent's basin: a local descent (L-BFGS-B) from it.
        from scipy.optimize import minimize

        names = [p.name for p in prob.space]
        lows = np.array([p.low for p in bounded])
        span = np.array([p.high - p.low for p in bounded])
        res = minimize(lambda z: objective(dict(zip(names, lows + z * span, strict=True))),
                       cube[i_best], method="L-BFGS-B", bounds=[(0.0, 1.0)] * len(names))
        print(f"  incumbent's basin: local descent from it ({res.nfev} evaluations) reaches regret "
              f"{res.fun - optimum:.4g} (incumbent {values[i_best] - optimum:.4g})")
    for i in range(len(values)):
        if i == 0 or b[i] < b[i - 1]:
            x = np.array([study.trials[i].params[p.name] for p in prob.space])
            wrong = (f", wrong-well coordinates {int(np.sum(x > 0))}"
                     if problem.startswith("styblinski") else "")
            print(f"  trial {i + 1:3d} [{kinds[i]}] regret {b[i]:.4g}{wrong}")


def main(argv: list[str]) -> None:
    cmd, problem = argv[0], argv[1]
    if cmd == "traces":
        traces(problem, argv[2] if len(argv) > 2 else "autolearn-gp")
    elif cmd == "replay":
        for s in argv[2].split(","):
            replay(problem, int(s), argv[3] if len(argv) > 3 else "select")
    else:
        raise SystemExit("usage: gp_traces traces PROBLEM [OPTIMIZER] | "
                         "replay PROBLEM SEEDS [select|true|false]")


if __name__ == "__main__":
    main(sys.argv[1:])
