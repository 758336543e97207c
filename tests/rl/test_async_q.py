"""Asynchronous one-step / n-step Q-learning: conformance suite (not bit-reproducible with
several learners, as A3C), its targets, exploration draws and a CartPole learning check."""

import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import AsyncQ, AsyncQConfig, Linear
from autolearn.rl.async_q import one_step_targets
from autolearn.rl.common.returns import nstep_returns
from autolearn.testing.envs import Chain
from autolearn.testing.rl import RLAgentConformance


class TestAsyncNStepQ(RLAgentConformance):
    config_cls = AsyncQConfig
    bad_values = {"gamma": 1.5, "n_steps": 0, "n_workers": 0, "method": "sarsa",
                  "final_epsilon_probs": (0.5, 0.5), "target_update_interval": 0,
                  "rows_per_message": 0}
    bandit_steps, chain_steps = 512, 4096
    n_envs_learn = 2  # per learner: 2 learners x 2 envs
    method = "n_step"

    @classmethod
    def make_agent(cls, env_fn, seed, n_envs=1):
        # learning rate annealed to 0, as in the paper: with a constant rate two Hogwild
        # learners left near-tied Q-values of the chain flipped in ~1 run in 6
        cfg = AsyncQConfig(method=cls.method, n_workers=2, n_envs=n_envs, n_steps=8,
                           learning_rate=Linear(1e-2), hidden=(32,), gamma=0.95,
                           target_update_interval=32, exploration_fraction=0.3)
        return AsyncQ(env_fn, cfg, seed=seed)

    def test_same_seed_same_actions_and_losses(self):
        pytest.skip("asynchronous Q-learning is not bit-reproducible: the interleaving of "
                    "Hogwild updates from several processes depends on OS scheduling (the "
                    "single-learner case is checked in test_one_learner_is_reproducible)")


class TestAsyncOneStepQ(TestAsyncNStepQ):
    method = "one_step"
    chain_steps = 6144  # one-step targets move value back one state per target refresh


@pytest.mark.parametrize("method", ["one_step", "n_step"])
def test_one_learner_is_reproducible(method):
    cfg = AsyncQConfig(method=method, n_workers=1, n_envs=2, n_steps=8, hidden=(16,),
                       target_update_interval=32)
    a, b = (AsyncQ(Chain, cfg, seed=3).learn(400) for _ in range(2))
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    np.testing.assert_array_equal(a.predict(np.eye(5)), b.predict(np.eye(5)))


def test_targets_match_hand_computed_values():
    r = torch.tensor([[1.0], [0.0], [2.0]])
    d = torch.tensor([[0.0], [1.0], [0.0]])
    next_max = torch.tensor([[5.0], [7.0], [3.0]])  # max_a Q'(s_{t+1}, a)
    torch.testing.assert_close(one_step_targets(r, d, next_max, 0.5),
                               torch.tensor([[3.5], [0.0], [3.5]]))
    # n-step: R_2 = 2 + 0.5 * 3, R_1 = 0 (terminal after t=1), R_0 = 1 + 0.5 * R_1
    torch.testing.assert_close(nstep_returns(r, d, torch.tensor([3.0]), 0.5),
                               torch.tensor([[1.0], [0.0], [3.5]]))


def test_final_epsilons_follow_the_papers_distribution():
    cfg = AsyncQConfig(n_workers=1, hidden=(8,))
    agent = AsyncQ(Chain, cfg, seed=0)
    draws = [agent._make_learner(agent.env, 0, np.random.default_rng(i)).final_eps
             for i in range(300)]
    values, counts = np.unique(draws, return_counts=True)
    assert set(values) == {0.01, 0.1, 0.5}
    np.testing.assert_allclose(counts[list(values).index(0.1)] / 300, 0.4, atol=0.1)


def test_target_network_is_refreshed_every_interval():
    cfg = AsyncQConfig(n_workers=1, n_envs=1, n_steps=5, hidden=(8,),
                       target_update_interval=1_000)
    agent = AsyncQ(Chain, cfg, seed=0).learn(500)  # no refresh yet: target = initial net
    init = AsyncQ(Chain, cfg, seed=0)
    for p, q in zip(agent.q_target.parameters(), init.q_net.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    agent.learn(600)  # crosses step 1,000
    assert any(not torch.equal(p, q) for p, q in
               zip(agent.q_target.parameters(), init.q_net.parameters(), strict=True))


def test_continuous_actions_are_rejected():
    with pytest.raises(ConfigError, match="Discrete"):
        AsyncQ("Pendulum-v1", AsyncQConfig(n_workers=1))


def solved_seeds(method: str, *, seeds: int = 4, need: int = 2, budget: int = 200_000,
                 **config: object) -> list[tuple[int, float]]:
    """Train 2 learners x 4 envs on CartPole-v1 with seeds 0, 1, ... until ``need`` of
    them reach 475 in a 10-episode greedy evaluation within ``budget`` steps (or the seeds
    run out); returns ``(seed, best evaluation)`` per seed tried."""
    from autolearn.rl import EvalCallback

    results: list[tuple[int, float]] = []
    for seed in range(seeds):
        evals = EvalCallback("CartPole-v1", eval_every=2_000, stop_at=475.0)
        cfg = AsyncQConfig(method=method, n_workers=2, n_envs=4, **config)  # type: ignore[arg-type]
        AsyncQ("CartPole-v1", cfg, seed=seed).learn(budget, callback=evals)
        results.append((seed, max(mean for _, mean, _ in evals.evaluations)))
        if sum(best >= 475 for _, best in results) >= need:
            break
    return results


@pytest.mark.slow
@pytest.mark.parametrize("method", ["n_step", "one_step"])
def test_solves_cartpole(method):
    """Defaults, 2 learners x 4 envs: at least 2 of seeds 0-3 reach 475 within 200k steps.

    Asynchronous, so the step count varies from run to run and with the machine's load:
    on an idle machine one-step Q-learning solved 9 of 10 seeds within 200k (median
    ~104k, one seed at 100k+ one run and 76k the next), n-step 5 of 5 within 90k. A single
    seed at 100k failed now and then; two of four at 200k fails with probability ~0.4 %
    at a 90 % per-seed rate, and always with a learner that does not learn (checked with
    a learning rate of 1e-12: best evaluations 9-14).
    """
    results = solved_seeds(method)
    assert sum(best >= 475 for _, best in results) >= 2, results


def test_example_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "examples" / "rl_async_q_cartpole.py"),
                          "--timesteps", "400", "--eval-every", "200"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "trained" in out.stdout and "evaluation return" in out.stdout
