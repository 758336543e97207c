"""PPO on MountainCarContinuous-v0 with the RL Zoo's settings, autolearn and SB3 side by side.

Checks the tuned default file ``autolearn/rl/hyperparams/ppo/MountainCarContinuous-v0.yaml``
(the zoo's entry: 1 env, n_steps 8, batch_size 256, 10 epochs, gamma 0.9999, lr 7.77e-5,
ent_coef 0.00429, clip 0.1, gae_lambda 0.9, max_grad_norm 5, vf_coef 0.19, gSDE with
log_std_init -3.29, ortho_init False, observation + reward normalisation, 20,000 steps) on
both libraries with the same numbers. Per seed and library: train the zoo's 20,000 steps,
then one 10-episode deterministic evaluation (env seeds ``10_000 + seed + i``, observations
normalised with the training statistics; gymnasium's solved threshold is 90), and the
training CPU seconds. Libraries alternate per seed; medians over seeds.

Usage (from the repository root)::

    python -m benchmarks.rl.mountaincar_continuous --seeds 5

writes ``benchmarks/results/rl_mountaincar_continuous.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ENV = "MountainCarContinuous-v0"
STEPS = 20_000
THRESHOLD = 90.0
GAMMA = 0.9999
ZOO: dict[str, Any] = dict(batch_size=256, n_steps=8, gamma=GAMMA, learning_rate=7.77e-5,
                           ent_coef=0.00429, clip_range=0.1, n_epochs=10, gae_lambda=0.9,
                           max_grad_norm=5.0, vf_coef=0.19, use_sde=True)
POLICY: dict[str, Any] = dict(log_std_init=-3.29, ortho_init=False)
RESULTS = Path(__file__).resolve().parents[1] / "results"


def _evaluate(predict: Any, mean: np.ndarray, var: np.ndarray, seed: int) -> float:
    import gymnasium as gym

    env = gym.vector.SyncVectorEnv([lambda: gym.make(ENV)] * 10,
                                   autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = env.reset(seed=10_000 + seed)
    ret, active = np.zeros(10), np.ones(10, bool)
    while active.any():
        x = np.clip((obs - mean) / np.sqrt(var + 1e-8), -10, 10).astype(np.float32)
        obs, r, term, trunc, _ = env.step(predict(x))
        ret += r * active
        active &= ~(term | trunc)
    env.close()
    return float(ret.mean())


def tuned_file_mismatches() -> list[str]:
    """Where the shipped tuned file ``ppo/MountainCarContinuous-v0.yaml`` differs from the
    numbers this benchmark runs (empty: it is what the benchmark checks)."""
    from autolearn.rl.configs import resolve

    spec = resolve("ppo", ENV)
    out = [f"{k}: {getattr(spec, k)} vs {v}" for k, v in
           (("n_timesteps", STEPS), ("normalize", "both")) if getattr(spec, k) != v]
    for k, v in {**ZOO, **POLICY, "n_envs": 1}.items():
        got = getattr(spec.config, k)
        if (got(0.0) if callable(got) else got) != v:
            out.append(f"{k}: {got} vs {v}")
    return out


def run_autolearn(seed: int) -> dict[str, float]:
    from autolearn.rl import (
        PPO,
        NormalizeObservation,
        NormalizeReward,
        PPOConfig,
        make_vec_env,
    )

    obs_norm = NormalizeObservation(make_vec_env(ENV, 1))
    agent = PPO(NormalizeReward(obs_norm, gamma=GAMMA),
                PPOConfig(n_envs=1, **POLICY, **ZOO), seed=seed)
    cpu = time.process_time()
    agent.learn(STEPS)
    cpu = time.process_time() - cpu
    ret = _evaluate(agent.predict, obs_norm.rms.mean, obs_norm.rms.var, seed)
    return {"return": ret, "cpu": cpu}


def run_sb3(seed: int) -> dict[str, float]:
    import warnings

    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = VecNormalize(make_vec_env(ENV, n_envs=1, seed=seed), gamma=GAMMA)
    with warnings.catch_warnings():  # batch_size 256 > the 8-step rollout: the zoo's numbers
        warnings.simplefilter("ignore", UserWarning)
        model = PPO("MlpPolicy", venv, seed=seed, device="cpu", policy_kwargs=POLICY, **ZOO)
    cpu = time.process_time()
    model.learn(STEPS)
    cpu = time.process_time() - cpu
    # SB3 annotates obs_rms as its dict-observation variant only
    ret = _evaluate(lambda x: model.predict(x, deterministic=True)[0],
                    venv.obs_rms.mean,  # type: ignore[attr-defined]
                    venv.obs_rms.var, seed)  # type: ignore[attr-defined]
    return {"return": ret, "cpu": cpu}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if mismatches := tuned_file_mismatches():
        raise SystemExit(f"the tuned file and this benchmark disagree: {mismatches}")
    command = "python -m benchmarks.rl.mountaincar_continuous " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    runs: list[dict[str, Any]] = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        order = [("autolearn", run_autolearn), ("sb3", run_sb3)]
        for lib, fn in order if seed % 2 == 0 else order[::-1]:
            runs.append({"seed": seed, "lib": lib, **fn(seed)})
            print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for lib in ("autolearn", "sb3"):
        rs = [r for r in runs if r["lib"] == lib]
        summary[lib] = {"median_return": float(np.median([r["return"] for r in rs])),
                        "solved": sum(r["return"] >= THRESHOLD for r in rs), "runs": len(rs),
                        "median_cpu": float(np.median([r["cpu"] for r in rs]))}
    meta = {"command": command, "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": platform.platform(), "python": platform.python_version()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rl_mountaincar_continuous.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=1) + "\n")
    a, s = summary["autolearn"], summary["sb3"]
    lines = [
        f"# PPO on {ENV}, RL Zoo settings, autolearn vs SB3", "",
        f"Command: `{command}` ({meta['date']}, {meta['machine']}).", "",
        "| | autolearn | SB3 |", "|---|---|---|",
        f"| median final return ({STEPS:,} steps, 10 episodes) | {a['median_return']:.1f} | "
        f"{s['median_return']:.1f} |",
        f"| runs at or above {THRESHOLD:g} | {a['solved']}/{a['runs']} | "
        f"{s['solved']}/{s['runs']} |",
        f"| median training CPU-s | {a['median_cpu']:.1f} | {s['median_cpu']:.1f} |", "",
        "Per seed (return, CPU-s):", "",
        "| seed | autolearn | SB3 |", "|---|---|---|",
    ]
    for seed in sorted({r["seed"] for r in runs}):
        cell = {r["lib"]: f"{r['return']:.1f}, {r['cpu']:.1f}" for r in runs
                if r["seed"] == seed}
        lines.append(f"| {seed} | {cell['autolearn']} | {cell['sb3']} |")
    lines += ["", "Protocol: the module docstring of `benchmarks/rl/mountaincar_continuous.py`. "
              "autolearn's PPO recomputes the advantages before every epoch (its default); "
              "SB3 warns that batch_size 256 exceeds the 8-step rollout (one minibatch of 8, "
              "on both sides)."]
    (RESULTS / "rl_mountaincar_continuous.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
