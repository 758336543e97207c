"""NaN / inf from an environment or a diverging update: a typed error, nothing corrupted.

Every agent and normalisation wrapper refuses a non-finite observation, reward or gradient
with ``NonFiniteError`` before it reaches the networks, the optimiser state, the running
statistics or the replay buffer; the parameters are those after the last finite update.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import AutolearnError, NonFiniteError
from autolearn.rl import (
    A2C,
    A3C,
    DQN,
    PPO,
    REINFORCE,
    A2CConfig,
    A3CConfig,
    AsyncQ,
    AsyncQConfig,
    DQNConfig,
    NormalizeObservation,
    NormalizeReward,
    PPOConfig,
    REINFORCEConfig,
    make_vec_env,
)
from autolearn.rl.common.env import RunningMeanStd, SharedRunningMeanStd
from autolearn.rl.common.finite import all_finite, check_gradient, clipped_norm


class Inject(gym.Wrapper):  # type: ignore[type-arg]
    """CartPole whose ``at``-th step (counted per instance) returns ``value`` as the reward
    (``what="reward"``), the first observation entry (``"obs"``), or every reward is
    multiplied by ``value`` (``"scale"``)."""

    def __init__(self, what: str, value: float = float("nan"), at: int = 150) -> None:
        super().__init__(gym.make("CartPole-v1"))
        self.what, self.value, self.at, self.n = what, value, at, 0

    def step(self, action: Any) -> tuple[Any, ...]:
        obs, rew, term, trunc, info = self.env.step(action)
        self.n += 1
        if self.what == "scale":
            rew = float(rew) * self.value
        elif self.n == self.at and self.what == "reward":
            rew = self.value
        elif self.n == self.at and self.what == "obs":
            obs = obs.copy()
            obs[0] = self.value
        return obs, rew, term, trunc, info


def _net(agent: Any) -> torch.nn.Module:
    return agent.q_net if hasattr(agent, "q_net") else agent.policy


def _params(agent: Any) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in _net(agent).parameters()]


AGENTS = {
    "a2c": lambda env, **kw: A2C(env, A2CConfig(n_envs=2, **kw), seed=0),
    "ppo": lambda env, **kw: PPO(env, PPOConfig(n_envs=2, n_steps=32, batch_size=32, **kw),
                                 seed=0),
    "reinforce": lambda env, **kw: REINFORCE(env, REINFORCEConfig(n_envs=2, n_steps=32, **kw),
                                             seed=0),
    "dqn": lambda env, **kw: DQN(env, DQNConfig(learning_starts=20, train_freq=4, **kw),
                                 seed=0),
    "a3c": lambda env, **kw: A3C(env, A3CConfig(n_workers=1, n_envs=2, **kw), seed=0),
    "async_q": lambda env, **kw: AsyncQ(env, AsyncQConfig(n_workers=1, n_envs=2, **kw),
                                        seed=0),
}


def _learn_until_error(agent: Any, steps: int = 3_000) -> tuple[NonFiniteError, list[Any]]:
    """Train until the error; the parameters as of the last logged update."""
    snapshots = [_params(agent)]

    def keep(a: Any, row: dict[str, Any]) -> bool:
        snapshots.append(_params(a))
        return True

    with pytest.raises(NonFiniteError) as info:
        agent.learn(steps, callback=keep)
    return info.value, snapshots[-1]


@pytest.mark.parametrize("algo", sorted(AGENTS))
@pytest.mark.parametrize("what,value", [("reward", float("nan")), ("reward", float("inf")),
                                        ("obs", float("nan")), ("obs", -float("inf"))])
def test_agents_refuse_non_finite_env_values(algo: str, what: str, value: float,
                                             tmp_path: Any) -> None:
    agent = AGENTS[algo](lambda: Inject(what, value))
    err, last = _learn_until_error(agent)
    msg = str(err)
    assert "the environment returned" in msg and ("rewards" if what == "reward"
                                                  else "observations") in msg
    assert "not finite" in msg and "Fix the environment" in msg and "sub-env" in msg
    assert isinstance(err, AutolearnError) and isinstance(err, FloatingPointError)
    now = _params(agent)
    for a, b in zip(now, last, strict=True):  # nothing applied since the last finite update
        assert np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)
    if algo == "dqn":  # the replay buffer holds only finite transitions
        buf = agent._buffer
        for x in (buf.obs, buf.rewards, buf.next_obs):
            assert torch.isfinite(x[: len(buf)]).all()
    # the agent is intact: saved and loaded with a good env, it trains on
    agent.save(tmp_path / "agent.pt")
    again = type(agent).load(tmp_path / "agent.pt", env="CartPole-v1")
    for a, b in zip(_params(again), now, strict=True):
        np.testing.assert_array_equal(a, b)
    again.learn(200)
    assert all(np.isfinite(p).all() for p in _params(again))


@pytest.mark.parametrize("algo", ["a2c", "ppo", "reinforce", "a3c", "async_q"])
def test_a_diverging_update_is_refused(algo: str) -> None:
    """Finite rewards of 1e30: the squared value errors overflow float32, the gradient is
    not finite; the update is refused (even with gradient clipping, which cannot fix it)."""
    kw: dict[str, Any] = {"max_grad_norm": None} if algo in ("a2c", "ppo") else {}
    agent = AGENTS[algo](lambda: Inject("scale", 1e30), **kw)
    if algo == "reinforce":
        agent = REINFORCE(lambda: Inject("scale", 1e30),
                          REINFORCEConfig(n_envs=2, n_steps=32, baseline="value"), seed=0)
    err, last = _learn_until_error(agent)
    assert "non-finite gradient" in str(err) and "learning_rate" in str(err)
    for a, b in zip(_params(agent), last, strict=True):
        assert np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)


def test_a2c_optimiser_state_unchanged_by_a_refused_update() -> None:
    agent = A2C(lambda: Inject("reward", at=40), A2CConfig(n_envs=1, n_steps=5), seed=0)
    states = []

    def keep(a: Any, row: dict[str, Any]) -> bool:
        states.append(copy.deepcopy(a.optimizer.state_dict()))
        return True

    with pytest.raises(NonFiniteError):
        agent.learn(1_000, callback=keep)
    now = agent.optimizer.state_dict()
    for key, st in now["state"].items():
        for name, value in st.items():
            torch.testing.assert_close(value, states[-1]["state"][key][name], rtol=0, atol=0)


def test_a3c_forked_worker_error_keeps_its_type() -> None:
    """Only the forked worker's env (built in another process) returns the NaN: its error
    reaches the caller as a NonFiniteError naming the worker."""
    parent = os.getpid()

    def env() -> gym.Env:  # type: ignore[type-arg]
        return Inject("reward", at=60) if os.getpid() != parent else gym.make("CartPole-v1")

    agent = A3C(env, A3CConfig(n_workers=2, n_envs=1), seed=0)
    with pytest.raises(NonFiniteError, match=r"(?s)A3C worker 1 failed.*rewards"):
        agent.learn(20_000)
    assert all(np.isfinite(p).all() for p in _params(agent))


@pytest.mark.parametrize("shared", [False, True])
def test_a3c_shared_normalisation_refuses_nan(shared: bool) -> None:
    agent = A3C(lambda: Inject("obs", at=30), A3CConfig(
        n_workers=2 if shared else 1, n_envs=2, normalize_obs=True, normalize_reward=True),
        seed=0)
    before = agent.normalizer.state_dict()
    with pytest.raises(NonFiniteError, match="NormalizeObservation"):
        agent.learn(5_000)
    after = agent.normalizer.state_dict()
    assert all(np.isfinite(after["obs"]["mean"])) and all(np.isfinite(after["obs"]["var"]))
    assert after["obs"]["count"] >= before["obs"]["count"]


def _venv(what: str, at: int = 3) -> Any:
    return make_vec_env(lambda: Inject(what, at=at), 3, lean=True)


def test_normalize_observation_refuses_nan_and_keeps_its_statistics() -> None:
    env = NormalizeObservation(_venv("obs"))
    env.reset(seed=0)
    env.step(np.zeros(3, np.int64))
    env.step(np.zeros(3, np.int64))
    before = copy.deepcopy(env.state_dict())
    with pytest.raises(NonFiniteError, match=r"NormalizeObservation: .*observations.*sub-env "
                                            r"0, 1, 2.*left unchanged"):
        env.step(np.zeros(3, np.int64))
    assert env.state_dict() == before


def test_normalize_reward_refuses_nan_and_keeps_statistics_and_returns() -> None:
    env = NormalizeReward(_venv("reward"))
    env.reset(seed=0)
    env.step(np.zeros(3, np.int64))
    env.step(np.zeros(3, np.int64))
    before, returns = copy.deepcopy(env.state_dict()), env.returns.copy()
    with pytest.raises(NonFiniteError, match=r"NormalizeReward: .*rewards"):
        env.step(np.zeros(3, np.int64))
    assert env.state_dict() == before
    np.testing.assert_array_equal(env.returns, returns)


def test_normalize_reward_still_bitwise_the_running_returns() -> None:
    """The returns are computed in a second array and swapped in: the same values as the
    in-place update they replace."""
    env = NormalizeReward(_venv("none"), gamma=0.9)
    env.reset(seed=0)
    ret = np.zeros(3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        _, _, term, trunc, _ = env.step(rng.integers(0, 2, 3))
        ret = ret * 0.9 + 1.0
        ret[np.logical_or(term, trunc)] = 0.0
        np.testing.assert_array_equal(env.returns, ret)


@pytest.mark.parametrize("stats", [RunningMeanStd, SharedRunningMeanStd])
@pytest.mark.parametrize("shape", [(), (4,), (40,), (2, 3)])
def test_running_statistics_refuse_non_finite_batches(stats: Any, shape: tuple[int, ...]
                                                      ) -> None:
    rms = stats(shape)
    rms.update(np.ones((5, *shape)))
    before = copy.deepcopy(rms.state_dict())
    for bad in (np.nan, np.inf):
        x = np.ones((5, *shape))
        x.reshape(5, -1)[2, 0] = bad
        with pytest.raises(NonFiniteError, match="left unchanged"):
            rms.update(x)
        assert rms.state_dict() == before
    huge = np.full((5, *shape), 1e300)  # finite, but its variance overflows
    with pytest.raises(NonFiniteError, match="overflow"):
        rms.update(huge)
    assert rms.state_dict() == before


def test_all_finite() -> None:
    assert all_finite(np.ones(3)) and all_finite(np.arange(3)) and all_finite(np.zeros(0))
    assert not all_finite(np.array([1.0, np.nan])) and not all_finite(np.array([np.inf]))
    assert not all_finite(np.array([np.inf, -np.inf]))
    big = np.full(4, 3e38, np.float32)  # the float32 sum overflows; every value is finite
    assert all_finite(big)
    assert all_finite(torch.ones(2)) and not all_finite(torch.tensor([0.0, float("nan")]))
    assert all_finite(torch.arange(3)) and all_finite(np.array([True]))


def test_check_gradient_and_clipped_norm() -> None:
    check_gradient(3.0, "X", 10)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(NonFiniteError, match="X: an update produced a non-finite "
                                                 "gradient .* after 10 env steps"):
            check_gradient(bad, "X", 10)
    w = torch.nn.Parameter(torch.zeros(3))
    w.grad = torch.tensor([3.0, 4.0, 0.0])
    assert clipped_norm([w], None) == pytest.approx(5.0)
    assert torch.equal(w.grad, torch.tensor([3.0, 4.0, 0.0]))
    assert clipped_norm([w], 1.0) == pytest.approx(5.0)
    assert float(w.grad.norm()) == pytest.approx(1.0, rel=1e-5)
    assert clipped_norm([torch.nn.Parameter(torch.zeros(2))], None) == 0.0


class NanAt400(Inject):
    def __init__(self) -> None:
        super().__init__("reward", at=400)


def _cli_train_a2c(env_cls: Any, out: Any) -> Any:
    """``autolearn rl train`` of A2C (one env, 2,000 steps) on ``env_cls`` registered for
    the call; the CliRunner result."""
    from typer.testing import CliRunner

    from autolearn.cli import app

    env_id = f"AutolearnTest{env_cls.__name__}-v0"
    gym.register(id=env_id, entry_point=env_cls)
    try:
        return CliRunner().invoke(app, [
            "rl", "train", "--algo", "a2c", "--env", env_id, "--steps", "2000", "--set",
            "n_envs=1", "--out", str(out), "--no-progress"])
    finally:
        gym.registry.pop(env_id)


def test_cli_train_saves_the_agent_when_training_stops_on_a_nan(tmp_path: Any) -> None:
    out = tmp_path / "run"
    result = _cli_train_a2c(NanAt400, out)
    assert result.exit_code == 1, result.output
    assert "A2C: the environment returned rewards that are not finite" in result.stderr
    assert "saved to" in result.stderr and "Traceback" not in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"].startswith("NonFiniteError") and summary["timesteps"] < 400
    agent = A2C.load(out / "model.pt")
    assert all(np.isfinite(p).all() for p in _params(agent))


class RaisesAt300(gym.Wrapper):  # type: ignore[type-arg]
    def __init__(self) -> None:
        super().__init__(gym.make("CartPole-v1"))
        self.steps = 0

    def step(self, action):  # type: ignore[no-untyped-def]
        self.steps += 1
        if self.steps == 300:
            raise RuntimeError("the simulator crashed")
        return self.env.step(action)


def test_cli_train_saves_the_agent_when_the_env_raises(tmp_path: Any) -> None:
    out = tmp_path / "run"
    result = _cli_train_a2c(RaisesAt300, out)
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "RuntimeError: the simulator crashed"
    assert 0 < summary["timesteps"] < 300
    assert A2C.load(out / "model.pt").num_timesteps == summary["timesteps"]
