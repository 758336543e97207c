"""autolearn's A2C, A3C, PPO and DQN against Stable-Baselines3, RL Zoo settings on both sides.

Two measurements, interleaved in one run (for each seed: autolearn then SB3 on even seeds,
SB3 then autolearn on odd ones, so load from other jobs hits both alike):

* **solve** — environment steps and training CPU-seconds until a 10-episode
  deterministic evaluation (every ``eval_every`` steps) reaches the solved threshold
  (CartPole-v1 475, Acrobot-v1 -100, Pendulum-v1 -200), capped at a step budget; unsolved
  runs count as censored at the budget. Pendulum always trains its whole budget and also
  reports the final evaluation.
* **throughput** — env steps per CPU-second of ``learn`` on CartPole at 1 and 8 envs for
  PPO and A2C (zoo settings, no evaluation), and DQN gradient updates per CPU-second.

Finished runs are appended to a JSON-lines cache, so the benchmark can run in pieces
(``--algos``, ``--envs``, ``--seeds``, ``--libs``, ``--first-seed``) and ``--report-only``
rebuilds the tables from it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._common import Report, median
from benchmarks.rl._zoo import PEERS, SETTINGS, THRESHOLDS, Setting, throughput_settings

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("A2C/A3C/PPO/DQN vs Stable-Baselines3 (RL Zoo settings): steps and CPU-s to "
               "solve CartPole/Acrobot/Pendulum, steps per CPU-s at 1 and 8 envs")

ALGOS = ("a2c", "ppo", "dqn", "a3c", "async_q")
ENVS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
#: (algo, n_envs) -> env steps of one throughput run (CartPole, zoo settings).
THROUGHPUT = {("ppo", 1): 4_096, ("ppo", 8): 12_288, ("a2c", 1): 5_000, ("a2c", 8): 20_000,
              ("dqn", 1): 6_144}
THROUGHPUT_SEEDS = 3
GOALS = {"steps": 1.0, "cpu": 0.5, "throughput": 2.0}
#: Algorithms reported without a goal: issue #5 sets goals for A2C, PPO, DQN and A3C (against
#: A2C); asynchronous Q-learning is asked for only "if it falls out of the same machinery".
NO_GOAL = frozenset({"async_q"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--algos", default=",".join(ALGOS),
                        help=f"comma-separated subset of {','.join(ALGOS)}")
    parser.add_argument("--envs", default=",".join(ENVS),
                        help=f"comma-separated subset of {','.join(ENVS)}")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per setting (default 5)")
    parser.add_argument("--no-throughput", action="store_true",
                        help="skip the throughput runs")
    parser.add_argument("--libs", default="autolearn,sb3",
                        help="run only these libraries' missing runs (comma-separated subset "
                             "of autolearn,sb3; the report still reads both from the cache)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run only the missing runs of seeds >= this (the report still "
                             "reads seeds 0..SEEDS-1 from the cache)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="JSON-lines file of finished runs (default "
                             "RESULTS_DIR/rl_runs.jsonl, rl_runs_quick.jsonl with --quick)")
    parser.add_argument("--report-only", action="store_true",
                        help="build the report from the cache without running anything")
    parser.add_argument("--note", action="append", default=[],
                        help="a line to add to the report's notes (repeatable)")


def _tasks(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    algos = [a for a in args.algos.split(",") if a]
    envs = [e for e in args.envs.split(",") if e]
    for name in algos + envs:
        if name not in ALGOS + ENVS:
            raise SystemExit(f"unknown algorithm or env {name!r}")
    for seed in range(1 if args.quick else args.seeds):
        libs = ("autolearn", "sb3") if seed % 2 == 0 else ("sb3", "autolearn")
        if not args.no_throughput and seed < THROUGHPUT_SEEDS and "CartPole-v1" in envs:
            for (algo, n_envs), budget in THROUGHPUT.items():
                if algo in algos:
                    for lib in libs:
                        yield {"kind": "throughput", "algo": algo, "env": "CartPole-v1",
                               "n_envs": n_envs, "lib": lib, "seed": seed,
                               "budget": (1_100 if algo == "dqn" else 256) if args.quick
                               else budget}
        for s in SETTINGS.values():
            if s.algo not in algos or s.env not in envs:
                continue
            if args.quick and s.env != "CartPole-v1":
                continue
            for lib in libs:
                if lib == "sb3" and s.algo in PEERS:
                    continue
                yield {"kind": "solve", "algo": s.algo, "env": s.env, "n_envs": s.n_envs,
                       "lib": lib, "seed": seed, "budget": 500 if args.quick else s.budget}


def _key(t: dict[str, Any]) -> str:
    return "|".join(str(t[k]) for k in ("kind", "algo", "env", "n_envs", "lib", "seed",
                                        "budget"))


def _setting(task: dict[str, Any], quick: bool) -> Setting:
    if task["kind"] == "throughput":
        return throughput_settings(task["algo"], task["n_envs"])
    s = SETTINGS[f"{task['algo']}/{task['env']}"]
    if quick:  # evaluate often enough to exercise the evaluation path
        from dataclasses import replace

        s = replace(s, eval_every=250)
    return s


def _fingerprint(task: dict[str, Any], quick: bool) -> str:
    """A short hash of the setting a task runs, stored with its record: a cached run of a
    setting changed since (e.g. a translated zoo field) is stale and runs again."""
    s = _setting(task, quick)
    text = json.dumps([s.zoo, s.ours, s.n_envs, s.eval_every, s.normalize], sort_keys=True,
                      default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _cached(cache: dict[str, dict[str, Any]], task: dict[str, Any], quick: bool
            ) -> dict[str, Any] | None:
    """The cached record of ``task`` unless it ran another setting (records written before
    fingerprints existed count as current)."""
    rec = cache.get(_key(task))
    if rec is None or "setting" not in rec:
        return rec
    return rec if rec["setting"] == _fingerprint(task, quick) else None


def _run_task(task: dict[str, Any], quick: bool) -> dict[str, Any]:
    from benchmarks.rl._runners import run_ours, run_sb3

    fn = run_ours if task["lib"] == "autolearn" else run_sb3
    return fn(_setting(task, quick), task["seed"], mode=task["kind"], budget=task["budget"])


def _load_cache(path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["key"]] = rec
    return out


def run(args: argparse.Namespace) -> Report:
    import torch

    torch.set_num_threads(1)
    cache_path = args.cache or args.results_dir / (
        "rl_runs_quick.jsonl" if args.quick else "rl_runs.jsonl")
    cache = _load_cache(cache_path)
    tasks = list(_tasks(args))
    rec: dict[str, Any] | None
    if not args.report_only:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        libs = [x for x in args.libs.split(",") if x]
        if any(x not in ("autolearn", "sb3") for x in libs):
            raise SystemExit(f"--libs takes autolearn and/or sb3, but got {args.libs!r}")
        todo = [t for t in tasks if _cached(cache, t, args.quick) is None
                and t["lib"] in libs and t["seed"] >= args.first_seed]
        print(f"{len(tasks)} runs, {len(todo)} not in {cache_path}", file=sys.stderr)
        for i, task in enumerate(todo):
            t0 = time.perf_counter()
            try:
                result = _run_task(task, args.quick)
            except Exception:  # noqa: BLE001 - reported, not cached, retried next time
                print(f"FAILED {_key(task)}\n{traceback.format_exc()}", file=sys.stderr)
                continue
            rec = {"key": _key(task), **task, **result,
                   "setting": _fingerprint(task, args.quick)}
            cache[rec["key"]] = rec
            with cache_path.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            brief = (f"steps {result.get('steps_to_solve')} cpu {result.get('cpu_to_solve')}"
                     if task["kind"] == "solve" else
                     f"{result['steps'] / result['cpu']:,.0f} steps/cpu-s")
            print(f"[{i + 1}/{len(todo)}] {_key(task)}: {brief} "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    records = [rec for t in tasks if (rec := _cached(cache, t, args.quick)) is not None]
    return _report(records, args)


# --------------------------------------------------------------------------- report

def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")


def _met(ratio: float, goal: float, at_most: bool) -> str:
    if math.isnan(ratio):
        return "n/a"
    return "met" if (ratio <= goal if at_most else ratio >= goal) else "missed"


def _solve_stats(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over seeds; an unsolved run counts at its budget (steps) / its CPU at the
    budget (CPU-seconds), i.e. censored from below."""
    steps = [r["steps_to_solve"] if r["solved"] else r["budget"] for r in recs]
    cpu = [r["cpu_to_solve"] if r["solved"] else r["train_cpu"] for r in recs]
    n_solved = sum(r["solved"] for r in recs)
    finals = [r["final_eval"] for r in recs if r["final_eval"] is not None]
    return {"n": len(recs), "solved": n_solved, "steps": median(steps), "cpu": median(cpu),
            "censored": 2 * n_solved <= len(recs) and len(recs) > 0,
            "final": median(finals), "steps_all": steps, "cpu_all": cpu,
            "solved_all": [r["solved"] for r in recs]}


def _report(records: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    header = ["measure", "algorithm", "env", "autolearn", "SB3", "ratio", "goal", "result"]
    rows: list[list[Any]] = []
    raw: dict[str, Any] = {"solve": {}, "throughput": {}, "settings": {}}
    by: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault((r["kind"], r["algo"], r["env"], str(r["n_envs"]), r["lib"]), []).append(r)

    def group(kind: str, algo: str, env: str, n_envs: int, lib: str) -> list[dict[str, Any]]:
        return by.get((kind, algo, env, str(n_envs), lib), [])

    a: dict[str, Any] | float  # a setting's solve statistics, then a throughput
    b: dict[str, Any] | float
    for s in SETTINGS.values():
        ours = group("solve", s.algo, s.env, s.n_envs, "autolearn")
        if not ours:
            continue
        peer_algo = PEERS.get(s.algo, s.algo)
        peer_setting = SETTINGS[f"{peer_algo}/{s.env}"]
        sb3 = group("solve", peer_algo, s.env, peer_setting.n_envs, "sb3")
        a, b = _solve_stats(ours), _solve_stats(sb3)
        raw["solve"][s.key] = {"autolearn": a, "sb3": b, "budget": ours[0]["budget"],
                               "runs": {"autolearn": ours, "sb3": sb3}}
        label = s.algo.upper() + (f" (SB3 column: SB3 {peer_algo.upper()})"
                                  if s.algo in PEERS else "")

        def cell(st: dict[str, Any], key: str, digits: int = 0) -> str:
            if not st["n"]:
                return "n/a"
            prefix = ">= " if st["censored"] else ""
            return f"{prefix}{_fmt(st[key], digits)} ({st['solved']}/{st['n']} solved)"

        r_steps, r_cpu = _ratio(a["steps"], b["steps"]), _ratio(a["cpu"], b["cpu"])
        goal = s.algo not in NO_GOAL
        rows.append(["env steps to solve (median)", label, s.env, cell(a, "steps"),
                     cell(b, "steps"), r_steps, "<= 1" if goal else "",
                     _met(r_steps, GOALS["steps"], True) if goal else ""])
        rows.append(["train CPU-s to solve (median)", label, s.env, cell(a, "cpu", 1),
                     cell(b, "cpu", 1), r_cpu, "<= 0.5" if goal else "",
                     _met(r_cpu, GOALS["cpu"], True) if goal else ""])
        if s.env == "Pendulum-v1":
            rows.append([f"final eval return at {ours[0]['budget']:,} steps (median)", label,
                         s.env, _fmt(a["final"], 1), _fmt(b["final"], 1), "", "", ""])
        if s.algo in PEERS:
            mine = _solve_stats(group("solve", peer_algo, s.env, peer_setting.n_envs,
                                      "autolearn"))
            rows.append([f"env steps to solve vs autolearn {peer_algo.upper()}", label, s.env,
                         cell(a, "steps"), f"{peer_algo.upper()} " + cell(mine, "steps"),
                         _ratio(a["steps"], mine["steps"]), "", ""])
    for (algo, n_envs) in THROUGHPUT:
        ours = group("throughput", algo, "CartPole-v1", n_envs, "autolearn")
        sb3 = group("throughput", algo, "CartPole-v1", n_envs, "sb3")
        if not ours or not sb3:
            continue
        what = "updates" if algo == "dqn" else "steps"
        a = median([r[what] / r["cpu"] for r in ours])
        b = median([r[what] / r["cpu"] for r in sb3])
        ratio = _ratio(a, b)
        goal = algo == "dqn" or n_envs == 8
        rows.append([f"{'gradient updates' if algo == 'dqn' else 'env steps'} per CPU-s, "
                     f"{n_envs} env{'s' if n_envs > 1 else ''} (median of {len(ours)})",
                     algo.upper(), "CartPole-v1", _fmt(a), _fmt(b), ratio,
                     ">= 2" if goal else "", _met(ratio, GOALS["throughput"], False)
                     if goal else ""])
        raw["throughput"][f"{algo}/{n_envs}"] = {"autolearn": ours, "sb3": sb3}
    for s in SETTINGS.values():
        raw["settings"][s.key] = {"zoo": s.zoo, "autolearn": s.ours, "n_envs": s.n_envs,
                                  "budget": s.budget, "zoo_n_timesteps": s.zoo_n_timesteps,
                                  "eval_every": s.eval_every, "normalize": s.normalize}
    notes = [
        "Protocol: each run trains until a 10-episode deterministic evaluation (one batched "
        "predict per step, same seeds and code for both libraries, observations normalised "
        "with the training statistics where the zoo normalises) reaches the threshold "
        f"({', '.join(f'{k} {v:g}' for k, v in THRESHOLDS.items())}), checked at the first "
        "update at or after every `eval_every` steps (2,000 unless stated); capped at the "
        "budget. Unsolved runs count at the budget (steps) and at their CPU-s at the budget: "
        "'>=' marks a median that is censored.",
        "CPU-s: process CPU time (`time.process_time()` plus child processes for A3C), torch "
        "threads 1, evaluation CPU time measured and subtracted on both sides. The machine "
        "(2 cores) was shared with other jobs throughout: absolute times are noisy, the "
        "interleaved ratios less so.",
        "Ratios are autolearn / SB3; goals: steps <= SB3, CPU-s <= half of SB3, throughput "
        ">= 2x SB3 at 8 envs (PPO, A2C) and DQN gradient updates >= 2x.",
        "No goal for the asynchronous Q-learning (ASYNC_Q) rows: issue #5 sets goals for A2C, "
        "PPO, DQN and A3C (against A2C) and asks for the paper's asynchronous Q-learning only "
        "'if it falls out of the same machinery'; its rows compare it with SB3 DQN (and "
        "autolearn DQN) for information.",
    ]
    for s in SETTINGS.values():
        notes.append(f"{s.key}: n_envs {s.n_envs}, budget {s.budget:,} (zoo n_timesteps "
                     f"{s.zoo_n_timesteps:,}), eval every {s.eval_every:,}"
                     f"{', normalize' if s.normalize else ''}; SB3 {s.zoo or '-'}; "
                     f"autolearn {s.ours}. " + " ".join(s.notes))
    notes.append("Throughput: CartPole zoo settings above at 1 and 8 envs (PPO at 1 env with "
                 "n_steps 256 so a rollout still holds 256 steps), budgets "
                 + ", ".join(f"{a} {n} env(s) {b:,}" for (a, n), b in THROUGHPUT.items())
                 + " steps; DQN counts gradient updates of its whole learn() (acting included).")
    notes.extend(args.note)
    if args.quick:
        notes.insert(0, "QUICK RUN: tiny budgets, numbers meaningless (smoke test only).")
    return Report(title="RL algorithms vs Stable-Baselines3 (RL Zoo hyperparameters)",
                  header=header, rows=rows, notes=notes, raw=raw)
