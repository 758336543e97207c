"""``autolearn rl ...``: train and evaluate reinforcement-learning agents on gymnasium envs.

``train`` resolves the algorithm's config from the tuned default file for (algo, env), the
user's YAML/TOML file and ``--set key=value`` overrides (in increasing priority; see
:mod:`autolearn.rl.configs`), trains, and writes into ``--out``::

    model.pt            the agent (load with autolearn rl eval, or PPO.load(...) in Python)
    config.yaml         the resolved run: algo, env, n_timesteps, normalize and every field
    progress.csv        one diagnostics row per update
    evaluations.csv     periodic evaluations (with --eval-every)
    best_model.pt       the agent at its best evaluation so far (with --eval-every)
    normalization.json  running observation/reward statistics (when normalize is on)
    best_normalization.json  those statistics as they were for best_model.pt
    summary.json        steps, times, final evaluation

torch and gymnasium are imported only when a command runs, so ``autolearn --help`` stays
fast.
"""

from __future__ import annotations

import csv
import enum
import json
import math
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from autolearn._files import atomic_write
from autolearn.cli._common import JsonOpt, add_group, emit_json, fail
from autolearn.exceptions import ConfigError

__all__ = ["register"]

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.yaml"
NORMALIZATION_FILE = "normalization.json"
BEST_MODEL_FILE = "best_model.pt"  # EvalCallback's (SB3's) name
BEST_NORMALIZATION_FILE = "best_normalization.json"

DeviceOpt = Annotated[
    str, typer.Option("--device", help="cpu, cuda, cuda:<index>, mps or auto (CUDA if present).")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for networks, envs and actions.")]


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            fail(f"--threads must be >= 1, but got {threads}")
        import torch

        torch.set_num_threads(threads)


def train(
    algo: Annotated[str | None, typer.Option(
        "--algo", help="ppo, a2c, a3c, dqn, reinforce or async_q (or `algo:` in --config)."
    )] = None,
    env: Annotated[str | None, typer.Option(
        "--env", help="gymnasium id, e.g. CartPole-v1 (or `env:` in --config).")] = None,
    steps: Annotated[int | None, typer.Option(
        "--steps", help="Env steps to train (default: n_timesteps of the config).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="YAML (.yaml/.yml) or TOML (.toml) file of key: value pairs.",
        dir_okay=False)] = None,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", help="Override one key, e.g. --set learning_rate=lin_1e-3 (repeatable).",
        metavar="KEY=VALUE")] = None,
    seed: SeedOpt = 0,
    n_envs: Annotated[int | None, typer.Option(
        "--n-envs", help="Shortcut for --set n_envs=N.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output directory (default: runs/<algo>-<env>-seed<seed>).",
        file_okay=False)] = None,
    eval_every: Annotated[int | None, typer.Option(
        "--eval-every", help="Evaluate every N env steps (deterministic policy).")] = None,
    eval_episodes: Annotated[int, typer.Option(
        "--eval-episodes", help="Episodes per evaluation, and for the final one (0: none).")
    ] = 10,
    stop_at: Annotated[float | None, typer.Option(
        "--stop-at", help="Stop once the evaluation mean return (with --eval-every) or else "
                          "the mean return of the last 100 training episodes reaches it.")
    ] = None,
    tensorboard: Annotated[Path | None, typer.Option(
        "--tensorboard", help="Also log to TensorBoard in this directory "
                              "(needs `pip install tensorboard`).", file_okay=False)] = None,
    device: DeviceOpt = "cpu",
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal).")
    ] = None,
    no_defaults: Annotated[bool, typer.Option(
        "--no-defaults", help="Ignore the tuned default file for (algo, env).")] = False,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="torch CPU threads (1 is fastest for small networks).")] = 1,
    json_output: JsonOpt = False,
) -> None:
    """Train an agent: `autolearn rl train --algo ppo --env CartPole-v1 --steps 100000`."""
    from autolearn.rl.configs import (
        build_agent,
        dump_yaml,
        make_eval_env,
        normalization_state,
        parse_overrides,
        resolve,
    )

    over = parse_overrides(overrides or [])
    if n_envs is not None:
        if "n_envs" in over and str(over["n_envs"]).strip() != str(n_envs):
            fail(f"--n-envs {n_envs} and --set n_envs={over['n_envs']} disagree: give it once")
        over = {"n_envs": str(n_envs), **over}
    if eval_every is not None and eval_every < 1:
        fail(f"--eval-every must be >= 1, but got {eval_every}")
    if eval_episodes < 0:
        fail(f"--eval-episodes must be >= 0, but got {eval_episodes}")
    if eval_every is not None and eval_episodes == 0:
        fail("--eval-every needs --eval-episodes >= 1")
    if stop_at is not None and not math.isfinite(stop_at):
        fail(f"--stop-at must be a finite return, but got {stop_at}")
    spec = resolve(algo, env, path=config, overrides=over, n_timesteps=steps,
                   use_defaults=not no_defaults)
    if spec.n_timesteps is None:
        fail("no training budget: pass --steps N or put n_timesteps in the config file")
    _set_threads(threads)
    from autolearn.rl import EvalCallback, ProgressBar, StopOnRewardThreshold, TensorBoardLogger
    from autolearn.rl.common.agent import resolve_device

    dev = resolve_device(device)
    out_dir = out if out is not None else Path("runs") / f"{spec.algo}-{spec.env}-seed{seed}"
    # the agent and its evaluation env first: a run that cannot start (an unknown env, an
    # algorithm that does not fit its spaces, ...) leaves an earlier run in --out intact
    agent = build_agent(spec, seed=seed, device=dev, log_path=out_dir / "progress.csv")
    eval_env: Any = (make_eval_env(spec, eval_episodes, train_env=agent.env)
                     if eval_every is not None else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (NORMALIZATION_FILE, "evaluations.csv", BEST_MODEL_FILE,
                  BEST_NORMALIZATION_FILE):  # from an earlier run into --out
        (out_dir / stale).unlink(missing_ok=True)
    header = (f"Resolved by autolearn rl train (seed {seed}, device {dev}).\n"
              f"Sources, lowest priority first: {', '.join(spec.sources) or 'defaults'}")
    (out_dir / CONFIG_FILE).write_text(dump_yaml(spec.to_dict(), header), encoding="utf-8")

    callbacks: list[Any] = []
    evaluator = None
    if eval_every is not None:
        def keep_best_statistics(agent: Any, row: dict[str, Any]) -> bool:
            """best_model.pt's normalisation statistics, saved beside it."""
            best = normalization_state(agent.env)
            if best is not None:
                text = json.dumps(best).encode("utf-8")
                atomic_write(out_dir / BEST_NORMALIZATION_FILE, lambda fh: fh.write(text))
            return True

        evaluator = EvalCallback(eval_env, eval_every=eval_every, n_episodes=eval_episodes,
                                 stop_at=stop_at, best_model_save_path=out_dir,
                                 on_new_best=keep_best_statistics)
        callbacks.append(evaluator)
    elif stop_at is not None:
        callbacks.append(StopOnRewardThreshold(stop_at))
    writer = TensorBoardLogger(tensorboard) if tensorboard is not None else None
    if writer is not None:
        callbacks.append(writer)
    show = sys.stderr.isatty() if progress is None else progress
    bar = ProgressBar(total=spec.n_timesteps, description=f"{spec.algo} {spec.env}") \
        if show else None
    if bar is not None:
        callbacks.append(bar)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    stopped: BaseException | None = None
    try:
        agent.learn(spec.n_timesteps, callback=callbacks)
    except (KeyboardInterrupt, Exception) as exc:  # e.g. a refused NaN (NonFiniteError),
        stopped = exc  # Ctrl-C, or an env that raised: keep the agent as last updated
    finally:
        if bar is not None:
            bar.close()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    agent.save(out_dir / MODEL_FILE)
    stats = normalization_state(agent.env)
    if stats is not None:
        (out_dir / NORMALIZATION_FILE).write_text(json.dumps(stats), encoding="utf-8")
    summary: dict[str, Any] = {
        "algo": spec.algo, "env": spec.env, "seed": seed, "device": str(dev),
        "timesteps": agent.num_timesteps, "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "steps_per_second": round(agent.num_timesteps / wall, 1) if wall > 0 else None,
        "out": str(out_dir), "model": str(out_dir / MODEL_FILE),
    }
    if evaluator is not None:
        with open(out_dir / "evaluations.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timesteps", "return_mean", "return_std"])
            w.writerows(evaluator.evaluations)
        summary["evaluations"] = [{"timesteps": t, "return_mean": m, "return_std": s}
                                  for t, m, s in evaluator.evaluations]
        if evaluator.evaluations:
            t_best, m_best, _ = max(evaluator.evaluations, key=lambda e: e[1])  # the first
            summary["best"] = {"timesteps": t_best, "return_mean": m_best,
                               "model": str(out_dir / BEST_MODEL_FILE)}
        if stop_at is not None:
            hit = [t for t, m, _ in evaluator.evaluations if m >= stop_at]
            summary["solved_at"] = hit[0] if hit else None
    if stopped is not None:  # saved as trained so far; no final evaluation
        summary["stopped"] = f"{type(stopped).__name__}: {stopped}"
        if writer is not None:
            writer.close()
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        typer.echo(f"training stopped after {agent.num_timesteps} steps; the agent as "
                   f"trained so far is saved to {out_dir}", err=True)
        raise stopped
    if eval_episodes > 0:
        from autolearn.rl import evaluate

        mean, std = evaluate(agent, make_eval_env(spec, eval_episodes, train_env=agent.env),
                             eval_episodes, seed=seed)
        summary["final_eval"] = {"episodes": eval_episodes, "return_mean": mean,
                                 "return_std": std}
    if writer is not None:
        writer.close()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if json_output:
        emit_json(summary)
        return
    typer.echo(f"trained {spec.algo} on {spec.env} for {agent.num_timesteps} steps in "
               f"{wall:.1f} s ({summary['steps_per_second']} steps/s)")
    if "final_eval" in summary:
        typer.echo(f"evaluation over {eval_episodes} episodes: mean return {mean:.2f} "
                   f"+/- {std:.2f}")
    typer.echo(f"saved to {out_dir}")


def _locate(model: Path) -> tuple[Path, Path]:
    """``(model file, run directory)`` from a model file or a run directory."""
    if model.is_dir():
        model = model / MODEL_FILE
    if not model.is_file():
        fail(f"no agent file at {str(model)!r}")
    return model, model.parent


def evaluate_cmd(
    model: Annotated[Path, typer.Argument(
        help="An agent file (model.pt) or the --out directory of `autolearn rl train`.")],
    env: Annotated[str | None, typer.Option(
        "--env", help="gymnasium id (default: the env in config.yaml next to the model).")
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", help="Episodes to run.")] = 10,
    deterministic: Annotated[bool, typer.Option(
        "--deterministic/--stochastic", help="Greedy/mean actions, or sampled ones.")] = True,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    threads: Annotated[int | None, typer.Option("--threads", help="torch CPU threads.")] = 1,
    json_output: JsonOpt = False,
) -> None:
    """Evaluate a saved agent: mean and std of the return over --episodes episodes."""
    if episodes < 1:
        fail(f"--episodes must be >= 1, but got {episodes}")
    path, run_dir = _locate(model)
    from autolearn.rl.configs import (
        RunSpec,
        algorithm_classes,
        checkpoint_algo,
        make_eval_env,
        read_config_file,
    )

    _set_threads(threads)
    algo = checkpoint_algo(path)
    agent_cls, _ = algorithm_classes(algo)
    saved = read_config_file(run_dir / CONFIG_FILE) if (run_dir / CONFIG_FILE).is_file() else {}
    env_id = env or saved.get("env")
    if env_id is None:
        fail(f"no {CONFIG_FILE} next to {str(path)!r} says which env it was trained on; "
             "pass --env")
    agent = agent_cls.load(path, seed=seed, device=device)
    from autolearn.rl.common.agent import setup_env

    try:  # an env of other spaces: said here, not by a shape error inside predict
        probe, _ = setup_env(str(env_id), 1, "sync", agent.spec)
    except ConfigError as exc:
        fail(f"{str(path)!r} was trained on {saved.get('env', 'another env')}, whose spaces "
             f"differ from {env_id}'s: {exc}")
    if probe is not None:
        probe.close()
    spec = RunSpec(algo, str(env_id), agent.config, normalize=str(saved.get("normalize", "none")))
    state = None
    stats_file = run_dir / (BEST_NORMALIZATION_FILE if path.name == BEST_MODEL_FILE
                            else NORMALIZATION_FILE)
    if stats_file.is_file():
        state = json.loads(stats_file.read_text(encoding="utf-8"))
    from autolearn.rl import evaluate

    eval_env = make_eval_env(spec, episodes, state=state)
    mean, std = evaluate(agent, eval_env, episodes, deterministic=deterministic, seed=seed)
    result = {"model": str(path), "algo": algo, "env": spec.env, "episodes": episodes,
              "deterministic": deterministic, "seed": seed, "return_mean": mean,
              "return_std": std}
    if json_output:
        emit_json(result)
    else:
        typer.echo(f"{algo} on {spec.env}: mean return {mean:.2f} +/- {std:.2f} over "
                   f"{episodes} episodes ({'deterministic' if deterministic else 'stochastic'})")


def defaults(
    algo: Annotated[str | None, typer.Option("--algo", help="Only this algorithm.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """List the tuned default hyperparameter files, or print one (--algo and --env)."""
    from autolearn.rl.configs import list_default_files

    files = list_default_files(algo, env)
    if not files and (algo is not None or env is not None):
        known = list_default_files()
        fail(f"no tuned default file for {'algo=' + repr(algo) if algo else ''}"
             f"{', ' if algo and env else ''}{'env=' + repr(env) if env else ''}; there are "
             f"files for the algos {', '.join(sorted({a for a, _, _ in known}))} and the envs "
             f"{', '.join(sorted({e for _, e, _ in known}))}")
    if algo is not None and env is not None:
        text = files[0][2].read_text(encoding="utf-8")
        if json_output:
            from autolearn.rl.configs import read_config_file

            emit_json({"algo": algo, "env": env, "path": str(files[0][2]),
                       "values": read_config_file(files[0][2])})
        else:
            typer.echo(text, nl=False)
        return
    rows = []
    for a, e, p in files:
        checked = next((line.split(":", 1)[1].strip() for line in p.read_text().splitlines()
                        if line.startswith("# Checked:")), "")
        rows.append({"algo": a, "env": e, "path": str(p), "checked": checked})
    if json_output:
        emit_json(rows)
        return
    from rich.table import Table

    from autolearn.cli._common import stdout_console

    table = Table()
    for col in ("algo", "env", "checked"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["algo"], r["env"], r["checked"])
    stdout_console().print(table)


class TuneSampler(enum.StrEnum):
    """Samplers ``autolearn rl tune`` offers."""

    tpe = "tpe"
    random = "random"
    gp = "gp"
    smac = "smac"
    auto = "auto"


class TunePruner(enum.StrEnum):
    """Pruners ``autolearn rl tune`` offers (steps are evaluation points)."""

    median = "median"
    asha = "asha"
    hyperband = "hyperband"
    none = "none"


def _tune_sampler(kind: TuneSampler, seed: int) -> Any:
    from autolearn import samplers

    cls = {TuneSampler.tpe: "TPESampler", TuneSampler.random: "RandomSampler",
           TuneSampler.gp: "GPSampler", TuneSampler.smac: "SMACSampler",
           TuneSampler.auto: "AutoSampler"}[kind]
    return getattr(samplers, cls)(seed=seed)


def _tune_pruner(kind: TunePruner, evaluations: int) -> Any:
    from autolearn import pruners

    # the trials report at evaluation points 1, 2, ... (autolearn.rl.tune.objective)
    if kind == TunePruner.median:
        from autolearn.rl.tune import default_pruner

        return default_pruner(evaluations)
    if kind == TunePruner.asha:
        return pruners.SuccessiveHalvingPruner(min_resource=1)
    if kind == TunePruner.hyperband:
        return pruners.HyperbandPruner(min_resource=1, max_resource=evaluations)
    return pruners.NopPruner()


def tune_cmd(
    algo: Annotated[str, typer.Option("--algo", help="ppo, a2c, a3c, dqn, reinforce or async_q.")],
    env: Annotated[str, typer.Option("--env", help="gymnasium id, e.g. CartPole-v1.")],
    steps: Annotated[int, typer.Option("--steps", help="Env steps each trial trains.")],
    trials: Annotated[int | None, typer.Option(
        "--trials", help="Trials to run now (default 20; with --timeout only: no limit).")
    ] = None,
    evaluations: Annotated[int, typer.Option(
        "--evaluations", help="Evaluations per trial (reported to the pruner).")] = 10,
    eval_episodes: Annotated[int, typer.Option(
        "--eval-episodes", help="Deterministic episodes per evaluation.")] = 5,
    storage: Annotated[str | None, typer.Option(
        "--storage", help="Study storage URL, e.g. sqlite:///rl.db (default: in memory); "
                          "an existing study of the same name is resumed.")] = None,
    study_name: Annotated[str | None, typer.Option(
        "--study-name", help="Default: rl-<algo>-<env>.")] = None,
    sampler: Annotated[TuneSampler, typer.Option(help="Searcher.")] = TuneSampler.tpe,
    pruner: Annotated[TunePruner, typer.Option(help="Early stopping of bad trials.")
                      ] = TunePruner.median,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", help="Fix one key for every trial, e.g. --set n_envs=8 or --set "
                      "normalize=both (repeatable).", metavar="KEY=VALUE")] = None,
    seed: SeedOpt = 0,
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="Trial worker processes.")] = 1,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", help="Seconds after which no new trial starts.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the best trial's resolved config here (YAML for "
                      "`autolearn rl train --config`).", dir_okay=False)] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="torch CPU threads per trial.")] = 1,
    trial_seeds: Annotated[int, typer.Option(
        "--trial-seeds", help="Seeds each trial trains; its value is their mean final return "
                              "(the pruner watches the first).")] = 1,
    confirm_top: Annotated[int, typer.Option(
        "--confirm", help="Retrain the K best trials on fresh seeds after the search and pick "
                          "the best confirmed mean return (0: the search's best).")] = 0,
    confirm_seeds: Annotated[int, typer.Option(
        "--confirm-seeds", help="Fresh seeds per confirmed trial (10000, 10001, ...).")] = 3,
    confirm_episodes: Annotated[int, typer.Option(
        "--confirm-episodes", help="Deterministic episodes evaluating each confirmation "
                                   "run.")] = 10,
    json_output: JsonOpt = False,
) -> None:
    """Search hyperparameters: `autolearn rl tune --algo ppo --env CartPole-v1 --steps 20000`."""
    from autolearn.rl.configs import dump_yaml, parse_overrides
    from autolearn.rl.tune import SEARCH_SPACES, best_run, confirm, tune

    if confirm_top < 0:
        fail(f"--confirm must be >= 0, but got {confirm_top}")
    if confirm_top and (confirm_seeds < 1 or confirm_episodes < 1):  # before the search
        fail(f"--confirm-seeds and --confirm-episodes must be >= 1, but got {confirm_seeds} "
             f"and {confirm_episodes}")
    if trial_seeds < 1:
        fail(f"--trial-seeds must be >= 1, but got {trial_seeds}")
    if out is not None and not out.parent.is_dir():  # before the search, not after it
        fail(f"--out {str(out)!r}: no directory {str(out.parent)!r} to write it in")
    if algo not in SEARCH_SPACES:
        fail(f"--algo must be one of {', '.join(sorted(SEARCH_SPACES))}, but got {algo!r}")
    if steps < 1:
        fail(f"--steps must be >= 1, but got {steps}")
    if trials is not None and trials < 1:
        fail(f"--trials must be >= 1, but got {trials}")
    if evaluations < 1 or evaluations > steps:
        fail(f"--evaluations must be in [1, --steps], but got {evaluations}")
    _set_threads(threads)
    fixed = parse_overrides(overrides or [])
    n_trials = trials if trials is not None else (None if timeout is not None else 20)
    study = tune(algo, env, n_trials=n_trials, n_timesteps=steps, n_evaluations=evaluations,
                 n_eval_episodes=eval_episodes, fixed=fixed,
                 storage=storage, study_name=study_name or f"rl-{algo}-{env}",
                 sampler=_tune_sampler(sampler, seed),
                 pruner=_tune_pruner(pruner, evaluations), seed=seed, n_jobs=n_jobs,
                 timeout=timeout, show_progress_bar=not json_output and sys.stderr.isatty(),
                 n_seeds=trial_seeds)
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    confirmed = (confirm(study, top=confirm_top, n_seeds=confirm_seeds,
                         n_eval_episodes=confirm_episodes) if confirm_top else None)
    best = best_run(study)
    best_trial = study.trials[confirmed[0]["trial"]] if confirmed else study.best_trial
    if out is not None:
        how = (f", confirmed mean return {confirmed[0]['mean']:.6g} over {confirm_seeds} fresh "
               f"seeds, the best of the top {confirm_top}" if confirmed else "")
        seeds = f" (mean of {trial_seeds} seeds)" if trial_seeds > 1 else ""
        header = (f"Best trial ({best_trial.number}, mean return {best_trial.value:.6g}{seeds} "
                  f"after {steps} steps{how}) of study {study.study_name!r}, by autolearn rl "
                  f"tune.\nTrain it: autolearn rl train --config {out} --steps N")
        best["n_timesteps"] = steps
        out.write_text(dump_yaml(best, header), encoding="utf-8")
    if json_output:
        emit_json({"study": study.study_name, "trials": counts, "best_trial": best_trial.number,
                   "best_value": best_trial.value, "best_params": best_trial.params,
                   "best_config": best, "out": None if out is None else str(out),
                   "confirmation": study.user_attrs.get("rl_confirmation")
                   if confirmed else None})
        return
    states = ", ".join(f"{n} {k}" for k, n in counts.items())
    for row in confirmed or []:
        typer.echo(f"confirmed trial {row['trial']} (search {row['search_value']:.4g}): mean "
                   f"{row['mean']:.4g} over " + ", ".join(f"{v:.4g}" for v in row["returns"]))
    typer.echo(f"{sum(counts.values())} trials ({states}); best: trial {best_trial.number}, "
               f"mean return {best_trial.value:.4g}" + (
                   f" (confirmed {confirmed[0]['mean']:.4g})" if confirmed else ""))
    typer.echo("best parameters: " + ", ".join(f"{k}={v}" for k, v in best_trial.params.items()
                                               if k not in fixed))
    if fixed:  # what --set fixed wins over what the sampler drew under the same name
        typer.echo("fixed (--set): " + ", ".join(f"{k}={v}" for k, v in fixed.items()))
    if out is not None:
        typer.echo(f"config written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``rl`` command group to ``app``."""
    add_group(app, "rl", "Reinforcement learning: train, tune and evaluate agents on "
              "gymnasium environments.", {"train": train, "tune": tune_cmd,
                                          "eval": evaluate_cmd, "defaults": defaults})
