"""PPO from pixels (the Nature CNN), autolearn and SB3 side by side on a pixel grid world.

No Atari ROMs can be downloaded here, so the task is :class:`PixelGrid`: a 4x4 grid drawn
as a 36x36 one-channel uint8 image (the smallest the Nature CNN takes), the agent's cell
white, the goal's grey, both placed at random each episode; four moves; reward 1 on
reaching the goal (which ends the episode), truncation after 16 steps. The policy has to
find both squares in the image and move towards the goal.

Both libraries run the same network and numbers: the Nature CNN (32 8x8/4, 64 4x4/2, 64
3x3/1 convolutions, 512 features, ReLU; pixels / 255) shared by linear policy and value
heads (SB3's ``CnnPolicy``, autolearn's defaults with ``hidden=()``), orthogonal
initialisation, and the RL Zoo's Atari PPO settings with constant rates (the zoo decays
them linearly over 10M steps): 8 envs, n_steps 128, batch_size 256, 4 epochs, lr 2.5e-4,
clip 0.1, ent_coef 0.01, vf_coef 0.5, gamma 0.99, gae_lambda 0.95, max_grad_norm 0.5.
autolearn's PPO recomputes the advantages before every epoch (its default); SB3 once per
rollout.

Per seed and library: train in chunks of 5,120 steps (5 rollouts); after each, a
20-episode deterministic evaluation on env seeds ``10_000 + i`` (its CPU time not counted);
solved when every one of the 20 episodes reaches the goal; budget 102,400 steps. Reported:
steps and training CPU-s to solve (medians; an unsolved run counts at the budget), and
training env steps per CPU-s. Libraries alternate per seed.

Usage (from the repository root)::

    python -m benchmarks.rl.images --seeds 5

writes ``benchmarks/results/rl_images.{md,json}``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.rl._sidebyside import command_line, header, interleaved, metadata, write

CHUNK = 5_120
BUDGET = 20 * CHUNK
EVAL_EPISODES = 20
PPO_ARGS: dict[str, Any] = dict(n_steps=128, batch_size=256, n_epochs=4, learning_rate=2.5e-4,
                                clip_range=0.1, ent_coef=0.01, vf_coef=0.5, gamma=0.99,
                                gae_lambda=0.95, max_grad_norm=0.5)
N_ENVS = 8


class PixelGrid(gym.Env):  # type: ignore[type-arg]
    """An ``n x n`` grid drawn at ``cell`` pixels per cell in one uint8 channel (agent 255,
    goal 128); actions up, down, left, right; reward 1 on reaching the goal (terminated),
    truncated after ``4 n`` steps."""

    action_space = gym.spaces.Discrete(4)
    observation_space: gym.spaces.Box
    _MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))

    def __init__(self, n: int = 4, cell: int = 9) -> None:
        self.n, self.cell, self.max_steps = n, cell, 4 * n
        self.observation_space = gym.spaces.Box(0, 255, (n * cell, n * cell, 1), np.uint8)

    def _obs(self) -> np.ndarray:
        img = np.zeros(self.observation_space.shape, np.uint8)
        c = self.cell
        for (r, col), value in ((self.goal, 128), (self.agent, 255)):
            img[r * c:(r + 1) * c, col * c:(col + 1) * c] = value
        return img

    def reset(self, *, seed: int | None = None, options: dict | None = None  # type: ignore[type-arg]
              ) -> tuple[np.ndarray, dict]:  # type: ignore[type-arg]
        super().reset(seed=seed)
        a, g = self.np_random.choice(self.n * self.n, 2, replace=False)
        self.agent, self.goal = divmod(int(a), self.n), divmod(int(g), self.n)
        self.t = 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:  # type: ignore[type-arg]
        dr, dc = self._MOVES[int(action)]
        r, c = self.agent
        self.agent = (min(max(r + dr, 0), self.n - 1), min(max(c + dc, 0), self.n - 1))
        self.t += 1
        done = self.agent == self.goal
        return self._obs(), float(done), done, not done and self.t >= self.max_steps, {}


def evaluate(predict: Any) -> float:
    """Mean return of :data:`EVAL_EPISODES` deterministic episodes (env seeds 10_000 + i)."""
    env = gym.vector.SyncVectorEnv([PixelGrid] * EVAL_EPISODES,
                                   autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = env.reset(seed=10_000)
    ret, active = np.zeros(EVAL_EPISODES), np.ones(EVAL_EPISODES, bool)
    while active.any():
        obs, r, term, trunc, _ = env.step(predict(obs))
        ret += r * active
        active &= ~(term | trunc)
    env.close()
    return float(ret.mean())


def _train(learn_chunk: Any, predict: Any, steps_done: Any) -> dict[str, Any]:
    cpu, curve = 0.0, []
    solved_at = None
    while steps_done() < BUDGET:
        t = time.process_time()
        learn_chunk()
        cpu += time.process_time() - t
        ret = evaluate(predict)
        curve.append((steps_done(), round(ret, 3)))
        if ret >= 1.0:
            solved_at = steps_done()
            break
    return {"solved_at": solved_at, "steps": steps_done(), "cpu": cpu, "curve": curve}


def run_autolearn(seed: int) -> dict[str, Any]:
    from autolearn.rl import PPO, PPOConfig

    agent = PPO(PixelGrid, PPOConfig(n_envs=N_ENVS, hidden=(), **PPO_ARGS), seed=seed)
    return _train(lambda: agent.learn(CHUNK), agent.predict, lambda: agent.num_timesteps)


def run_sb3(seed: int) -> dict[str, Any]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    model = PPO("CnnPolicy", make_vec_env(PixelGrid, n_envs=N_ENVS, seed=seed), seed=seed,
                device="cpu", **PPO_ARGS)
    return _train(lambda: model.learn(CHUNK, reset_num_timesteps=False),
                  lambda x: model.predict(x, deterministic=True)[0], lambda: model.num_timesteps)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    command = command_line("benchmarks.rl.images", argv)
    load_before = os.getloadavg()
    runs = interleaved(range(args.first_seed, args.first_seed + args.seeds),
                       [("autolearn", run_autolearn), ("sb3", run_sb3)])
    summary = {}
    for lib in ("autolearn", "sb3"):
        rs = [r for r in runs if r["lib"] == lib]
        summary[lib] = {
            "solved": sum(r["solved_at"] is not None for r in rs), "runs": len(rs),
            "median_steps": float(np.median([r["solved_at"] or BUDGET for r in rs])),
            "median_cpu": float(np.median([r["cpu"] for r in rs])),
            "median_steps_per_cpu_s": float(np.median([r["steps"] / r["cpu"] for r in rs]))}
    meta = metadata(command, load_before)
    a, s = summary["autolearn"], summary["sb3"]
    lines = [
        *header("PPO from pixels (Nature CNN) on PixelGrid 4x4 (36x36 pixels), autolearn vs "
                "SB3", meta),
        "| measure | autolearn | SB3 | ratio |", "|---|---|---|---|",
        f"| runs solved (20/20 episodes reach the goal) within {BUDGET:,} steps | "
        f"{a['solved']}/{a['runs']} | {s['solved']}/{s['runs']} | |",
        f"| env steps to solve (median) | {a['median_steps']:,.0f} | {s['median_steps']:,.0f} | "
        f"{a['median_steps'] / s['median_steps']:.2f} |",
        f"| training CPU-s to solve (median) | {a['median_cpu']:.1f} | {s['median_cpu']:.1f} | "
        f"{a['median_cpu'] / s['median_cpu']:.2f} |",
        f"| training env steps per CPU-s (median) | {a['median_steps_per_cpu_s']:,.0f} | "
        f"{s['median_steps_per_cpu_s']:,.0f} | "
        f"{a['median_steps_per_cpu_s'] / s['median_steps_per_cpu_s']:.2f} |", "",
        "Per seed (steps to solve or '-', training CPU-s):", "",
        "| seed | autolearn | SB3 |", "|---|---|---|",
    ]
    for seed in sorted({r["seed"] for r in runs}):
        cell = {r["lib"]: f"{r['solved_at'] or '-'}, {r['cpu']:.1f}" for r in runs
                if r["seed"] == seed}
        lines.append(f"| {seed} | {cell['autolearn']} | {cell['sb3']} |")
    lines += ["", "Protocol: the module docstring of `benchmarks/rl/images.py`. No issue sets a "
              "goal for this row. Ratios are autolearn / SB3. CPU-s: process CPU time, torch "
              "threads 1, evaluation excluded."]
    write("rl_images", {"meta": meta, "summary": summary, "runs": runs}, lines)


if __name__ == "__main__":
    main()
