"""DQN: the conformance suite, the replay buffer, targets, epsilon and a slow CartPole run."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import DQN, DQNConfig, EvalCallback, evaluate
from autolearn.rl.common.optim import FlatAdam
from autolearn.rl.common.qnet import QNetwork
from autolearn.rl.common.replay import ReplayBuffer
from autolearn.rl.dqn import dqn_targets, linear_epsilon
from autolearn.testing.envs import Chain
from autolearn.testing.rl import RLAgentConformance


def _small(n_envs=1, **kw):
    base = dict(n_envs=n_envs, learning_rate=3e-3, buffer_size=2_000, learning_starts=64,
                batch_size=32, gamma=0.9, target_update_interval=64, train_freq=4,
                gradient_steps=2, exploration_fraction=0.5, exploration_final_eps=0.05,
                hidden=(32,))
    return DQNConfig(**{**base, **kw})


class TestDQN(RLAgentConformance):
    config_cls = DQNConfig
    bad_values = {"gamma": 1.5, "batch_size": 0, "tau": 0.0, "exploration_fraction": 0.0,
                  "train_freq": 0, "learning_starts": -1}
    bandit_steps, chain_steps = 512, 2048

    @staticmethod
    def make_agent(env_fn, seed, n_envs=1):
        return DQN(env_fn, _small(n_envs), seed=seed)


def test_dueling_soft_update_and_vanilla_targets_learn_chain():
    agent = DQN(Chain, _small(4, dueling=True, double_q=False, tau=0.1,
                              target_update_interval=4), seed=0).learn(2048)
    assert evaluate(agent, Chain, n_episodes=2)[0] == 1.0
    row = agent.history[-1]
    assert {"loss", "q_mean", "epsilon", "n_updates"} <= row.keys() and row["n_updates"] == 2


def test_continuous_actions_are_refused():
    with pytest.raises(ConfigError, match="Discrete"):
        DQN("Pendulum-v1", _small(), seed=0)


def test_replay_wraps_and_samples_only_filled_rows():
    buf = ReplayBuffer(5, (1,))
    rng = np.random.default_rng(0)

    def add(values):
        x = torch.tensor(values, dtype=torch.float32)
        buf.add(x[:, None], x.long(), x, x[:, None] + 0.5, torch.zeros(len(values)))

    add([1, 2, 3])
    assert len(buf) == 3 and buf.pos == 3
    assert set(buf.sample(200, rng).rewards.tolist()) == {1.0, 2.0, 3.0}  # rows 3, 4 empty
    add([4, 5, 6, 7])  # wraps: 6, 7 overwrite the two oldest rows
    assert len(buf) == 5 and buf.pos == 2
    assert buf.rewards.tolist() == [6, 7, 3, 4, 5]
    b = buf.sample(500, rng)
    assert set(b.rewards.tolist()) == {3.0, 4.0, 5.0, 6.0, 7.0}
    np.testing.assert_array_equal(b.next_obs[:, 0], b.rewards + 0.5)  # rows stay aligned
    with pytest.raises(ConfigError, match="capacity"):
        add(list(range(6)))


def test_double_dqn_target_matches_hand_computation():
    rewards = torch.tensor([1.0, 0.5, 2.0])
    terminated = torch.tensor([0.0, 0.0, 1.0])
    next_q_target = torch.tensor([[1.0, 4.0], [3.0, 2.0], [9.0, 9.0]])
    next_q_online = torch.tensor([[5.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    # Double DQN evaluates the online argmax under the target net: a* = 0, 1, (terminal)
    y = dqn_targets(rewards, terminated, next_q_target, 0.9, next_q_online)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.9 * 1.0, 0.5 + 0.9 * 2.0, 2.0]))
    # Vanilla DQN takes the target net's own max
    y = dqn_targets(rewards, terminated, next_q_target, 0.9)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.9 * 4.0, 0.5 + 0.9 * 3.0, 2.0]))
    # A mask restricts the argmax / max to allowed actions
    mask = torch.tensor([[False, True], [True, False], [False, False]])
    y = dqn_targets(rewards, terminated, next_q_target, 0.9, next_q_online, mask)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.9 * 4.0, 0.5 + 0.9 * 3.0, 2.0]))


def test_epsilon_schedule():
    kw = dict(initial=1.0, final=0.04, fraction=0.16)
    assert linear_epsilon(0.0, **kw) == 1.0
    assert linear_epsilon(0.08, **kw) == pytest.approx(0.52)
    assert linear_epsilon(0.16, **kw) == pytest.approx(0.04)
    assert linear_epsilon(0.9, **kw) == pytest.approx(0.04)
    agent = DQN(Chain, _small(exploration_fraction=0.5, learning_starts=10_000), seed=0)
    agent.learn(400)  # rows every 4 steps; epsilon at the last step of each phase
    eps = [r["epsilon"] for r in agent.history]
    assert eps[0] == pytest.approx(1.0 - 0.95 * 3 / 200)
    assert eps[-1] == pytest.approx(0.05) and all(np.diff(eps) <= 0)


def test_truncation_bootstraps_and_termination_does_not():
    # Chain(length=1): action 1 terminates at once; with max_steps=1 action 0 is truncated.
    env_fn = lambda: Chain(length=1, max_steps=1)  # noqa: E731
    agent = DQN(env_fn, _small(2, buffer_size=64, learning_starts=10_000), seed=0).learn(64)
    buf = agent._buffer
    right = buf.actions[: buf.size] == 1
    assert (buf.terminated[: buf.size][right] == 1).all()
    assert (buf.terminated[: buf.size][~right] == 0).all() and (~right).any()
    # the stored successor of a truncation is the final obs (pos 0), not the reset obs
    torch.testing.assert_close(buf.next_obs[: buf.size][~right],
                               torch.tensor([[1.0, 0.0]]).expand(int((~right).sum()), 2))
    # so its target bootstraps from Q'(s'), while the termination's is just r
    net = QNetwork(2, 2, hidden=(), generator=torch.Generator().manual_seed(0))
    b = buf.sample(64, np.random.default_rng(0))
    with torch.no_grad():
        nq = net(b.next_obs)
    y = dqn_targets(b.rewards, b.terminated, nq, 0.5)
    term = b.terminated > 0
    torch.testing.assert_close(y[term], b.rewards[term])
    torch.testing.assert_close(y[~term], b.rewards[~term] + 0.5 * nq[~term].max(-1).values)


@pytest.mark.slow
def test_dqn_learns_cartpole_with_zoo_settings():
    cfg = DQNConfig(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                    learning_starts=1000, target_update_interval=10, train_freq=256,
                    gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
                    hidden=(256, 256))
    agent = DQN(gym.make("CartPole-v1"), cfg, seed=0)
    ev = EvalCallback("CartPole-v1", eval_every=2048, n_episodes=10, stop_at=475)
    agent.learn(50_000, callback=ev)
    mean, _ = evaluate(agent, "CartPole-v1", n_episodes=10, seed=123)
    assert mean >= 150


@pytest.mark.parametrize("dueling", [False, True])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_numpy_q_matches_torch_and_follows_updates(dueling: bool, activation: str) -> None:
    net = QNetwork(5, 3, hidden=(16, 8), dueling=dueling, activation=activation,
                   generator=torch.Generator().manual_seed(0))
    opt = FlatAdam(net.parameters(), lr=0.1)
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(1))
    for _ in range(3):  # the numpy views see the optimiser's in-place updates
        with torch.no_grad():
            expected = net(x).numpy()
        np.testing.assert_allclose(net.q_numpy(x.numpy()), expected, rtol=1e-6, atol=1e-6)
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.flat_step()


def test_replay_buffer_saves_and_loads_oldest_first(tmp_path):
    cfg = DQNConfig(learning_starts=50, buffer_size=300, train_freq=4, hidden=(16,))
    agent = DQN(Chain, cfg, seed=0).learn(500)  # the ring has wrapped
    buf = agent._buffer
    assert len(buf) == 300 and buf.pos != 0
    path = tmp_path / "replay.npz"
    agent.save_replay_buffer(path)
    agent.save(tmp_path / "agent.pt")
    loaded = DQN.load(tmp_path / "agent.pt", env=Chain, seed=1)
    loaded.load_replay_buffer(path)
    a, b = buf.arrays(), loaded._buffer.arrays()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # the newest transition is the last one written before the save
    np.testing.assert_array_equal(a["obs"][-1], buf.obs.numpy()[(buf.pos - 1) % 300])
    loaded.learn(200)  # training goes on, adding to the loaded experience
    assert len(loaded._buffer) == 300
    small = ReplayBuffer(100, buf.obs.shape[1:])
    small.load_arrays(a)  # a smaller buffer keeps the newest transitions
    np.testing.assert_array_equal(small.arrays()["obs"], a["obs"][-100:])
    assert small.pos == 0 and len(small) == 100


def test_replay_buffer_of_masked_env_and_mismatches(tmp_path):
    from autolearn.testing.envs import copy_sequence_env

    cfg = DQNConfig(learning_starts=20, buffer_size=200, train_freq=4, hidden=(16,))
    masked = DQN(lambda: copy_sequence_env((2, 0, 1)), cfg, seed=0).learn(100)
    path = tmp_path / "masked.npz"
    masked.save_replay_buffer(path)
    other = DQN(lambda: copy_sequence_env((2, 0, 1)), cfg, seed=1)
    other.load_replay_buffer(path)
    np.testing.assert_array_equal(other._buffer.arrays()["masks"],
                                  masked._buffer.arrays()["masks"])
    other.learn(40)
    plain = DQN(Chain, cfg, seed=0)
    with pytest.raises(ConfigError, match="shape"):
        plain.load_replay_buffer(path)
    empty = tmp_path / "empty.npz"
    DQN(Chain, cfg, seed=0).save_replay_buffer(empty)  # before any learn: nothing stored
    fresh = DQN(Chain, cfg, seed=0)
    fresh.load_replay_buffer(empty)
    assert fresh._buffer is None
