"""Several seeds per trial or one: which search picks settings that hold up on fresh seeds?

``autolearn rl tune --trial-seeds K`` trains each trial on K seeds and scores it by their
mean final return; the RL Zoo (and ``K = 1``) scores a trial by one seed, so a search's
best trial is often a lucky seed. Both arms here get the same number of training runs:
``--trials`` trials with one seed each, or ``--trials // K`` trials with K seeds each
(autolearn ``TPESampler(seed)``, ``autolearn rl tune``'s default pruner, the RL Zoo's
median rule, which judges a K-seed trial by its first seed). Each search's chosen
configuration (:func:`autolearn.rl.tune.best_run`) is then retrained from scratch on
``--fresh`` seeds (``20_000 + k``, never a search seed) for the same steps and evaluated
on 10 deterministic episodes each: its *fresh* return. Per search seed both arms run
(their order alternating); reported: the median fresh return per arm, the paired
difference and its Wilcoxon signed-rank p, and the env steps each arm trained (pruned
trials cost less). The agent seeds of the two arms' trials overlap (trial ``t`` with K
seeds trains ``base + t*K .. base + t*K + K - 1``; with one seed ``base + t``), so both
arms draw from the same pool of seeds.

Usage (from the repository root)::

    python -m benchmarks.rl.trial_seeds --algo reinforce --env CartPole-v1 --steps 50000 \\
        --trials 20 --k 2 --searches 8

writes ``benchmarks/results/rl_trial_seeds.{md,json}``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from benchmarks.rl._sidebyside import command_line, header, interleaved, metadata, write

N_EVALUATIONS, N_EVAL_EPISODES = 10, 5


def search(algo: str, env: str, steps: int, n_trials: int, k: int, seed: int,
           fixed: dict[str, Any], fresh: int) -> dict[str, Any]:
    """One search (``n_trials`` trials of ``k`` seeds), its pick retrained on fresh seeds."""
    from autolearn.rl.tune import _train_and_evaluate, best_run, tune

    t0 = time.process_time()
    study = tune(algo, env, n_trials=n_trials, n_timesteps=steps, n_evaluations=N_EVALUATIONS,
                 n_eval_episodes=N_EVAL_EPISODES, fixed=fixed, seed=1000 * seed, n_seeds=k)
    cpu = time.process_time() - t0
    config = best_run(study)
    returns = [_train_and_evaluate(config, 20_000 + j, 10) for j in range(fresh)]
    states = [t.state.name for t in study.trials]
    return {"fresh": float(np.mean(returns)), "fresh_returns": returns,
            "best_value": float(study.best_value),
            "steps_trained": int(sum(t.user_attrs.get("timesteps", 0) for t in study.trials)),
            "complete": states.count("COMPLETE"), "pruned": states.count("PRUNED"),
            "failed": states.count("FAIL"), "cpu": cpu}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--algo", default="reinforce")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--trials", type=int, default=20, help="training runs per search")
    parser.add_argument("--k", type=int, default=2, help="seeds per trial in the K arm")
    parser.add_argument("--searches", type=int, default=8)
    parser.add_argument("--fresh", type=int, default=5, help="fresh seeds per pick")
    parser.add_argument("--n-envs", type=int, default=8)
    args = parser.parse_args(argv)
    import torch
    from scipy.stats import wilcoxon

    torch.set_num_threads(1)
    command = command_line("benchmarks.rl.trial_seeds", argv)
    load_before = os.getloadavg()
    fixed = {"n_envs": args.n_envs}

    def arm(k: int) -> Any:
        return lambda seed: search(args.algo, args.env, args.steps, args.trials // k, k, seed,
                                   fixed, args.fresh)

    one, many = "1 seed per trial", f"{args.k} seeds per trial"
    runs = interleaved(range(args.searches), [(one, arm(1)), (many, arm(args.k))])
    by = {lib: [r for r in runs if r["lib"] == lib] for lib in (one, many)}
    diff = [b["fresh"] - a["fresh"] for a, b in zip(by[one], by[many], strict=True)]
    p = float(wilcoxon(diff).pvalue) if any(d != 0 for d in diff) else 1.0
    summary = {lib: {key: float(np.median([r[key] for r in rs]))
                     for key in ("fresh", "best_value", "steps_trained", "pruned", "cpu")}
               for lib, rs in by.items()}
    meta = metadata(command, load_before)
    a, b = summary[one], summary[many]
    lines = [
        *header(f"{args.algo.upper()} on {args.env}: {args.k} seeds per trial or one", meta),
        f"{args.trials} training runs of {args.steps:,} env steps per search ({args.trials} "
        f"trials x 1 seed, or {args.trials // args.k} trials x {args.k} seeds), "
        f"{args.n_envs} envs; medians over {args.searches} search seeds; each search's pick "
        f"retrained on {args.fresh} fresh seeds x 10 deterministic episodes.", "",
        f"| measure | {one} | {many} |", "|---|---|---|",
        f"| fresh return of the pick (median over searches) | {a['fresh']:.1f} | "
        f"{b['fresh']:.1f} |",
        f"| the search's own best value | {a['best_value']:.1f} | {b['best_value']:.1f} |",
        f"| env steps trained over the search | {a['steps_trained']:,.0f} | "
        f"{b['steps_trained']:,.0f} |",
        f"| pruned trials | {a['pruned']:.0f} | {b['pruned']:.0f} |",
        f"| search CPU-s | {a['cpu']:.0f} | {b['cpu']:.0f} |", "",
        f"Paired by search seed, fresh return ({many}) - ({one}): median "
        f"{float(np.median(diff)):+.1f}, mean {float(np.mean(diff)):+.1f}, "
        f"{sum(d > 0 for d in diff)} of {len(diff)} searches higher; Wilcoxon signed-rank "
        f"p = {p:.2f}.", "",
        "Per search (seed, arm: fresh mean [per fresh seed], search best, steps trained, "
        "complete / pruned / failed, CPU-s):", "",
    ]
    for r in runs:
        lines.append(f"- {r['seed']} {r['lib']}: {r['fresh']:.1f} "
                     f"[{', '.join(f'{v:.0f}' for v in r['fresh_returns'])}], "
                     f"{r['best_value']:.1f}, {r['steps_trained']:,}, {r['complete']}/"
                     f"{r['pruned']}/{r['failed']}, {r['cpu']:.0f}")
    lines += ["", "Protocol: the module docstring of `benchmarks/rl/trial_seeds.py`. No issue "
              "sets a goal for this measurement."]
    write("rl_trial_seeds", {"meta": meta, "summary": summary, "diff": diff, "p": p,
                             "runs": runs}, lines)


if __name__ == "__main__":
    main()
