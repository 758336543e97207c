"""PPO's recompute_advantages option and the BLAS thread limit of learn()."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from autolearn.exceptions import ConfigError
from autolearn.rl import A2C, PPO, A2CConfig, PPOConfig
from autolearn.rl.common.buffers import PolicyBatch
from autolearn.rl.common.returns import gae
from autolearn.testing.envs import Chain

CFG = dict(n_envs=2, n_steps=8, batch_size=8, n_epochs=3, learning_rate=1e-3)


def _agent(recompute: bool, **kw) -> PPO:
    return PPO(lambda: Chain(length=4, max_steps=6),
               PPOConfig(**{**CFG, **kw}, recompute_advantages=recompute), seed=3)


def test_one_epoch_is_unchanged_and_more_epochs_differ():
    a = _agent(False, n_epochs=1).learn(64)
    b = _agent(True, n_epochs=1).learn(64)
    assert [r["policy_loss"] for r in a.history] == [r["policy_loss"] for r in b.history]
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = _agent(False).learn(64)
    d = _agent(True).learn(64)
    assert [r["value_loss"] for r in c.history] != [r["value_loss"] for r in d.history]


def test_recomputed_batch_is_gae_of_the_current_values():
    agent = _agent(True)
    rng = np.random.default_rng(0)
    t, n = 8, 2
    obs = torch.as_tensor(rng.normal(size=(t * n, agent.spec.obs_dim)), dtype=torch.float32)
    last_obs = torch.as_tensor(rng.normal(size=(n, agent.spec.obs_dim)), dtype=torch.float32)
    rewards = rng.normal(size=(t, n)).astype(np.float32)
    dones = (rng.random((t, n)) < 0.2).astype(np.float32)
    zeros = torch.zeros(t * n)
    batch = PolicyBatch(obs, torch.zeros(t * n, dtype=torch.long), zeros, zeros.clone(),
                        zeros.clone(), zeros.clone(), None)
    out = agent._recompute(rewards, dones, last_obs, batch)
    with torch.no_grad():
        values = agent.policy.value(obs).numpy().reshape(t, n)
        last = agent.policy.value(last_obs).numpy()
    adv, ret = gae(rewards, values, dones, last, 0.99, 0.95)
    np.testing.assert_allclose(out.advantages.numpy(), adv.reshape(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.returns.numpy(), ret.reshape(-1), rtol=1e-5, atol=1e-6)
    assert out.old_values is batch.old_values  # value clipping keeps the collection values


def test_off_the_cpu_the_recomputation_stays_in_torch():
    """On an accelerator the return inputs are tensors on the device: the recomputation
    must not mix them with numpy (checked here through the torch branch on CPU tensors)."""
    agent = _agent(True)
    rng = np.random.default_rng(1)
    t, n = 8, 2
    obs = torch.as_tensor(rng.normal(size=(t * n, agent.spec.obs_dim)), dtype=torch.float32)
    last_obs = torch.as_tensor(rng.normal(size=(n, agent.spec.obs_dim)), dtype=torch.float32)
    rewards = torch.as_tensor(rng.normal(size=(t, n)), dtype=torch.float32)
    dones = torch.as_tensor(rng.random((t, n)) < 0.2, dtype=torch.float32)
    zeros = torch.zeros(t * n)
    batch = PolicyBatch(obs, torch.zeros(t * n, dtype=torch.long), zeros, zeros.clone(),
                        zeros.clone(), zeros.clone(), None)
    on_cpu = agent._recompute(rewards.numpy(), dones.numpy(), last_obs, batch)
    agent.device = torch.device("meta")  # any non-CPU device type takes the torch branch
    in_torch = agent._recompute(rewards, dones, last_obs, batch)
    torch.testing.assert_close(in_torch.advantages, on_cpu.advantages, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(in_torch.returns, on_cpu.returns, rtol=1e-5, atol=1e-6)


def test_recompute_learns_the_chain_and_is_deterministic():
    runs = [_agent(True, n_epochs=4).learn(2_000) for _ in range(2)]
    assert runs[0].history == runs[1].history
    assert runs[0].history[-1]["ep_return_mean"] > 0.9


def test_recompute_survives_save_and_load(tmp_path):
    agent = _agent(True).learn(16)
    agent.save(tmp_path / "a")
    assert PPO.load(tmp_path / "a").config.recompute_advantages is True


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_learn_gives_numpy_blas_torchs_thread_count_and_restores_it(algo):
    if not _blas_threads():
        pytest.skip("numpy has no BLAS that threadpoolctl sees")
    before = _blas_threads()
    seen: list[set[int]] = []

    def callback(agent, row):
        seen.append(_blas_threads())
        return True

    make = (lambda: PPO("CartPole-v1", PPOConfig(n_envs=2, n_steps=8, batch_size=16), seed=0)) \
        if algo == "ppo" else (lambda: A2C("CartPole-v1", A2CConfig(n_envs=2), seed=0))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        make().learn(32, callback=callback)
    finally:
        torch.set_num_threads(threads)
    assert seen and all(s == {1} for s in seen)
    assert _blas_threads() == before


def test_bad_flag_values_are_typed_errors_naming_the_field():
    with pytest.raises(ConfigError, match="recompute_advantages"):
        PPOConfig(recompute_advantages="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="normalize_advantage"):
        PPOConfig(normalize_advantage=1)  # type: ignore[arg-type]
