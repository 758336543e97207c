"""EvalCallback: best-model saving, evaluations.npz, on_new_best, and evaluation behind the
training env's observation statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autolearn.exceptions import ConfigError
from autolearn.rl import (
    A2C,
    A3C,
    PPO,
    A2CConfig,
    A3CConfig,
    EvalCallback,
    NormalizeObservation,
    PPOConfig,
    evaluate_episodes,
    make_vec_env,
)


def test_best_model_and_evaluations_file(tmp_path: Path) -> None:
    ev = EvalCallback("CartPole-v1", eval_every=1_000, n_episodes=3,
                      best_model_save_path=tmp_path / "best", log_path=tmp_path / "logs")
    agent = A2C("CartPole-v1", A2CConfig(n_envs=4), seed=0).learn(6_000, callback=ev)
    means = [m for _, m, _ in ev.evaluations]
    assert len(means) == 6 and ev.best_mean_reward == max(means)
    data = np.load(tmp_path / "logs" / "evaluations.npz")
    assert data["timesteps"].tolist() == [t for t, _, _ in ev.evaluations]
    assert data["results"].shape == data["ep_lengths"].shape == (6, 3)
    np.testing.assert_allclose(data["results"].mean(axis=1), means)
    assert (data["ep_lengths"] == data["results"]).all()  # CartPole: reward 1 per step
    best = A2C.load(tmp_path / "best" / "best_model.pt")
    returns, _ = evaluate_episodes(best, "CartPole-v1", 3)
    assert returns.mean() == pytest.approx(max(means))  # the agent of the best evaluation
    assert agent.history[-1]["eval_length_mean"] == data["ep_lengths"][-1].mean()


def test_on_new_best_can_stop_training() -> None:
    calls: list[float] = []

    def stop(agent: object, row: dict[str, float]) -> bool:
        calls.append(row["eval_return_mean"])
        return False

    ev = EvalCallback("CartPole-v1", eval_every=500, n_episodes=2, on_new_best=stop)
    agent = A2C("CartPole-v1", A2CConfig(n_envs=4), seed=0).learn(5_000, callback=ev)
    assert len(calls) == 1 and len(ev.evaluations) == 1 and agent.num_timesteps < 1_000


def test_evaluation_sees_the_training_observation_statistics() -> None:
    train_env = NormalizeObservation(make_vec_env("CartPole-v1", 4))
    ev = EvalCallback("CartPole-v1", eval_every=512, n_episodes=4)
    raw = EvalCallback("CartPole-v1", eval_every=512, n_episodes=4, sync_normalization=False)
    agent = PPO(train_env, PPOConfig(n_envs=4, n_steps=128, batch_size=128), seed=0)
    agent.learn(1_024, callback=[ev, raw])
    frozen = ev._eval_env
    assert isinstance(frozen, NormalizeObservation) and not frozen.training
    assert frozen.rms is train_env.rms  # the live statistics, not a copy
    assert raw._eval_env is None
    manual = NormalizeObservation(make_vec_env("CartPole-v1", 4))
    manual.training = False
    manual.load_state_dict(train_env.state_dict())
    returns, _ = evaluate_episodes(agent, manual, 4)
    assert ev.evaluations[-1][1] == pytest.approx(returns.mean())


def test_no_second_normalisation() -> None:
    agent = A3C("CartPole-v1", A3CConfig(n_workers=1, n_envs=2, normalize_obs=True), seed=0)
    ev = EvalCallback("CartPole-v1", eval_every=100, n_episodes=2)
    agent.learn(200, callback=ev)
    assert ev._eval_env is None and ev.evaluations  # A3C.predict normalises itself
    wrapped = NormalizeObservation(make_vec_env("CartPole-v1", 2))
    own = EvalCallback(wrapped, eval_every=100, n_episodes=2)
    ppo = PPO(NormalizeObservation(make_vec_env("CartPole-v1", 2)),
              PPOConfig(n_envs=2, n_steps=64, batch_size=64), seed=0)
    ppo.learn(128, callback=own)
    assert own._eval_env is None  # the given env normalises already


def test_bad_episode_count() -> None:
    with pytest.raises(ConfigError, match="`n_episodes` must be >= 1"):
        EvalCallback("CartPole-v1", eval_every=100, n_episodes=0)


def test_sync_with_encoded_observations() -> None:
    import gymnasium as gym

    from autolearn.rl import EncodeObservation

    def lake() -> gym.Env:
        return gym.make("FrozenLake-v1", is_slippery=False, max_episode_steps=20)

    train_env = NormalizeObservation(EncodeObservation(make_vec_env(lake, 2)))
    ev = EvalCallback(lake, eval_every=64, n_episodes=2)
    PPO(train_env, PPOConfig(n_envs=2, n_steps=32, batch_size=32), seed=0).learn(128,
                                                                                 callback=ev)
    assert isinstance(ev._eval_env, NormalizeObservation) and ev.evaluations
    assert isinstance(ev._eval_env.env, EncodeObservation)
