"""Learning CartPole for real (not run by default: ``pytest -m slow``)."""

import pytest

from autolearn.rl import A2C, PPO, A2CConfig, EvalCallback, Linear, PPOConfig, evaluate


@pytest.mark.slow
def test_ppo_learns_cartpole_within_50k_steps():
    cfg = PPOConfig(n_envs=8, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98,
                    gae_lambda=0.8, learning_rate=Linear(1e-3), clip_range=Linear(0.2))
    agent = PPO("CartPole-v1", cfg, seed=0)
    ev = EvalCallback("CartPole-v1", eval_every=2048, n_episodes=10, stop_at=475)
    agent.learn(50_000, callback=ev)
    mean, _ = evaluate(agent, "CartPole-v1", n_episodes=10, seed=123)
    assert mean >= 200


@pytest.mark.slow
def test_a2c_learns_cartpole_within_50k_steps():
    agent = A2C("CartPole-v1", A2CConfig(n_envs=8), seed=0)
    ev = EvalCallback("CartPole-v1", eval_every=2048, n_episodes=10, stop_at=475)
    agent.learn(50_000, callback=ev)
    mean, _ = evaluate(agent, "CartPole-v1", n_episodes=10, seed=123)
    assert mean >= 200
