"""PPO training throughput with the Nature CNN on Atari-sized frames, autolearn and SB3.

:class:`~benchmarks.rl.images.PixelGrid` drawn at 21 pixels per cell, an 84x84 one-channel
uint8 image (Atari's frame size after the usual preprocessing; its 4-frame stack would
change only the first convolution's input channels), the same networks and PPO numbers as
``benchmarks.rl.images`` (8 envs, n_steps 128, 4 epochs of 256-sample minibatches).
Per seed and library: one ``learn`` of a warm-up rollout, then the training CPU time of
``--steps`` more env steps (process CPU, torch threads 1); libraries alternate per seed.
Reported: env steps per CPU-s, median over seeds, and the ratio; also autolearn with
``recompute_advantages=False`` (its default recomputes them before every epoch).

Usage (from the repository root)::

    python -m benchmarks.rl.images_throughput --seeds 3

writes ``benchmarks/results/rl_images_throughput.{md,json}``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from benchmarks.rl._sidebyside import command_line, header, interleaved, metadata, write
from benchmarks.rl.images import N_ENVS, PPO_ARGS, PixelGrid

CELL = 21  # 4 cells x 21 pixels = 84
WARMUP = N_ENVS * PPO_ARGS["n_steps"]


def _pixels() -> PixelGrid:
    return PixelGrid(cell=CELL)


def run_autolearn(seed: int, steps: int, recompute: bool = True) -> float:
    from autolearn.rl import PPO, PPOConfig

    agent = PPO(_pixels, PPOConfig(n_envs=N_ENVS, hidden=(), recompute_advantages=recompute,
                                   **PPO_ARGS), seed=seed)
    agent.learn(WARMUP)
    t = time.process_time()
    agent.learn(steps)
    return steps / (time.process_time() - t)


def run_sb3(seed: int, steps: int) -> float:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    model = PPO("CnnPolicy", make_vec_env(_pixels, n_envs=N_ENVS, seed=seed), seed=seed,
                device="cpu", **PPO_ARGS)
    model.learn(WARMUP)
    t = time.process_time()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.process_time() - t)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4 * WARMUP)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    command = command_line("benchmarks.rl.images_throughput", argv)
    load_before = os.getloadavg()

    def measure(fn: Any) -> Any:
        return lambda seed: {"steps_per_cpu_s": fn(seed, args.steps)}

    runs = interleaved(range(args.seeds), [
        ("autolearn", measure(run_autolearn)), ("sb3", measure(run_sb3)),
        ("autolearn_once", measure(lambda seed, steps: run_autolearn(seed, steps, False)))])
    med = {lib: float(np.median([r["steps_per_cpu_s"] for r in runs if r["lib"] == lib]))
           for lib in ("autolearn", "sb3", "autolearn_once")}
    meta = metadata(command, load_before)
    per_seed = ", ".join(
        f"seed {r['seed']} {r['lib']} {r['steps_per_cpu_s']:.0f}" for r in runs)
    lines = [
        *header("PPO training throughput, Nature CNN on 84x84 frames, autolearn vs SB3", meta),
        "| measure | autolearn | SB3 | ratio |", "|---|---|---|---|",
        f"| training env steps per CPU-s, 8 envs (median of {args.seeds}) | "
        f"{med['autolearn']:.0f} | {med['sb3']:.0f} | {med['autolearn'] / med['sb3']:.2f} |",
        f"| the same, autolearn with `recompute_advantages=False` (advantages once per "
        f"rollout, as SB3) | {med['autolearn_once']:.0f} | {med['sb3']:.0f} | "
        f"{med['autolearn_once'] / med['sb3']:.2f} |",
        "", f"Per run: {per_seed}.", "",
        "Protocol: the module docstring of `benchmarks/rl/images_throughput.py`. No issue "
        "sets a goal for this row. autolearn's PPO recomputes the advantages before every "
        "epoch by default (three more forward passes over each rollout here); SB3's does "
        "not ('autolearn_once' runs: recompute_advantages=False).",
    ]
    write("rl_images_throughput", {"meta": meta, "median": med, "runs": runs}, lines)


if __name__ == "__main__":
    main()
