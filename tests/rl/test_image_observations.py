"""Image observations: the CNN features extractor (``features_extractor``), for every agent;
image detection and layout, typed errors, learning, determinism, save/load, uint8 replay."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
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
    PPOConfig,
    REINFORCEConfig,
    evaluate,
    make_vec_env,
)
from autolearn.rl.common.agent import policy_input
from autolearn.rl.common.env import space_info
from autolearn.rl.common.extractors import (
    CnnExtractor,
    CombinedExtractor,
    image_layout,
    is_image_space,
)
from autolearn.rl.common.npbackward import ActorCriticGrad
from autolearn.rl.configs import resolve

#: a CNN for 12x12 images (the default Nature CNN needs at least 36x36)
SMALL = dict(cnn_channels=(8, 16), cnn_kernels=(3, 3), cnn_strides=(1, 2), features_dim=32,
             hidden=())


class ImageBandit(gym.Env):  # type: ignore[type-arg]
    """A white 2x2 square in the left or right half of a black 12x12 image; reward 1 for
    action 0 / 1 matching the half. One-step episodes. ``layout``: ``"hwc"``, ``"chw"`` or
    ``"hw"``."""

    action_space = gym.spaces.Discrete(2)

    def __init__(self, layout: str = "hwc") -> None:
        self.layout = layout
        shape = {"hwc": (12, 12, 1), "chw": (1, 12, 12), "hw": (12, 12)}[layout]
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)

    def _obs(self) -> np.ndarray:
        self.side = int(self.np_random.integers(2))
        img = np.zeros((12, 12), np.uint8)
        r, c = int(self.np_random.integers(0, 11)), int(self.np_random.integers(0, 5))
        img[r:r + 2, 6 * self.side + c:6 * self.side + c + 2] = 255
        return {"hwc": img[:, :, None], "chw": img[None], "hw": img}[self.layout]

    def reset(self, *, seed: int | None = None, options: dict | None = None  # type: ignore[type-arg]
              ) -> tuple[np.ndarray, dict]:  # type: ignore[type-arg]
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:  # type: ignore[type-arg]
        reward = float(int(action) == self.side)
        return self._obs(), reward, False, True, {}


def test_image_space_detection_and_layout() -> None:
    assert is_image_space(gym.spaces.Box(0, 255, (84, 84, 3), np.uint8))
    assert is_image_space(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8))
    assert is_image_space(gym.spaces.Box(0, 255, (84, 84), np.uint8))
    assert not is_image_space(gym.spaces.Box(0, 1, (84, 84, 3), np.float32))
    assert not is_image_space(gym.spaces.Box(0, 10, (84, 84, 3), np.uint8))
    assert not is_image_space(gym.spaces.Box(0, 255, (84,), np.uint8))
    assert image_layout((84, 84, 3)) == (3, 84, 84, False)
    assert image_layout((4, 84, 80)) == (4, 84, 80, True)
    assert image_layout((10, 12)) == (1, 10, 12, True)
    with pytest.raises(ConfigError, match="first or the last"):
        image_layout((84, 3, 84))
    with pytest.raises(ConfigError, match="features_extractor='flatten'"):
        image_layout((2, 3, 4, 5))


def test_cnn_reads_either_layout_the_same_and_scales() -> None:
    def build(shape: tuple[int, ...], scale: float = 1.0) -> CnnExtractor:
        return CnnExtractor(shape, channels=(4,), kernels=(3,), strides=(1,), features_dim=5,
                            scale=scale, generator=torch.Generator().manual_seed(0))

    chw = torch.rand(6, 2, 7, 9)
    out = build((2, 7, 9))(chw)
    assert out.shape == (6, 5)
    torch.testing.assert_close(build((7, 9, 2))(chw.permute(0, 2, 3, 1)), out)
    torch.testing.assert_close(build((7, 9, 2), 0.5)(2 * chw.permute(0, 2, 3, 1)), out)
    one = torch.rand(3, 7, 9)
    torch.testing.assert_close(build((7, 9))(one), CnnExtractor(
        (1, 7, 9), channels=(4,), kernels=(3,), strides=(1,), features_dim=5,
        generator=torch.Generator().manual_seed(0))(one[:, None]))
    assert build((2, 7, 9))(chw.to(torch.uint8)).dtype == torch.float32


def test_image_too_small_for_the_default_cnn_is_a_typed_error() -> None:
    with pytest.raises(ConfigError, match="too small.*cnn_kernels"):
        PPO(ImageBandit, PPOConfig(n_steps=8, batch_size=8), seed=0)


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("features_extractor", "resnet", "'auto', 'flatten', 'cnn' or 'package.module:name'"),
    ("cnn_channels", (8, 0), "positive ints"),
    ("cnn_kernels", (), "non-empty"),
    ("features_dim", 0, "int >= 1"),
    ("normalize_images", "yes", "True or False"),
])
def test_bad_features_fields_name_the_field(field: str, value: object, rule: str) -> None:
    with pytest.raises(ConfigError, match=f"`{field}` must .*{rule}"):
        PPOConfig(**{field: value})  # type: ignore[arg-type]


def test_cnn_lists_of_different_lengths_are_a_typed_error() -> None:
    with pytest.raises(ConfigError, match="same length"):
        DQNConfig(cnn_channels=(8, 16), cnn_kernels=(3,), cnn_strides=(1,))


def test_features_fields_from_the_command_line() -> None:
    spec = resolve("ppo", "CartPole-v1", overrides=[
        "features_extractor=cnn", "cnn_channels=8,16", "cnn_kernels=[3, 3]", "cnn_strides=1,2",
        "features_dim=64", "normalize_images=false"])
    cfg = spec.config
    assert (cfg.features_extractor, cfg.cnn_channels, cfg.cnn_kernels, cfg.features_dim,
            cfg.normalize_images) == ("cnn", (8, 16), (3, 3), 64, False)


@pytest.mark.parametrize(("cls", "config"), [
    (PPO, PPOConfig(n_envs=4, n_steps=64, batch_size=64, **SMALL)),  # type: ignore[arg-type]
    (A2C, A2CConfig(n_envs=4, n_steps=8, **SMALL)),  # type: ignore[arg-type]
    (DQN, DQNConfig(learning_starts=200, train_freq=1, target_update_interval=100,  # type: ignore[arg-type]
                    exploration_fraction=0.3, **SMALL)),
])
def test_agents_learn_to_read_an_image(cls: type, config: object) -> None:
    agent = cls(ImageBandit, config, seed=0)
    net = agent.q_net if cls is DQN else agent.policy
    assert isinstance(net.features, CnnExtractor)
    assert net.features.scale == pytest.approx(1 / 255)
    agent.learn(4_000)
    mean, _ = evaluate(agent, ImageBandit, n_episodes=50, seed=1)
    assert mean >= 0.9  # chance: 0.5


@pytest.mark.parametrize(("cls", "config"), [
    (REINFORCE, REINFORCEConfig(n_envs=2, **SMALL)),  # type: ignore[arg-type]
    (A3C, A3CConfig(n_workers=2, n_envs=2, **SMALL)),  # type: ignore[arg-type]
    (AsyncQ, AsyncQConfig(n_workers=2, n_envs=2, **SMALL)),  # type: ignore[arg-type]
])
def test_other_agents_train_and_act_on_images(cls: type, config: object) -> None:
    agent = cls(ImageBandit, config, seed=0).learn(400)
    net = agent.q_net if cls is AsyncQ else agent.policy
    assert isinstance(net.features, CnnExtractor)
    obs = np.stack([ImageBandit().reset(seed=s)[0] for s in range(3)])
    assert agent.predict(obs).shape == (3,)


@pytest.mark.parametrize("layout", ["chw", "hw"])
def test_other_layouts_learn_too(layout: str) -> None:
    agent = PPO(lambda: ImageBandit(layout), PPOConfig(n_envs=4, n_steps=64, batch_size=64,
                                                       **SMALL), seed=0).learn(4_000)
    assert evaluate(agent, lambda: ImageBandit(layout), n_episodes=50, seed=1)[0] >= 0.9


def test_same_seed_same_training_and_save_load(tmp_path: object) -> None:
    cfg = PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=2, **SMALL)  # type: ignore[arg-type]
    a = PPO(ImageBandit, cfg, seed=3).learn(96)
    b = PPO(ImageBandit, cfg, seed=3).learn(96)
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
        assert torch.equal(pa, pb)
    path = tmp_path / "ppo.pt"  # type: ignore[operator]
    a.save(path)
    loaded = PPO.load(path)
    assert loaded.spec.image and isinstance(loaded.policy.features, CnnExtractor)
    obs = np.stack([ImageBandit().reset(seed=s)[0] for s in range(8)])
    assert np.array_equal(loaded.predict(obs), a.predict(obs))
    assert np.array_equal(loaded.predict(obs[0]), a.predict(obs[0]))  # one raw observation


def test_dqn_stores_images_as_uint8_and_its_replay_file_round_trips(tmp_path: object) -> None:
    cfg = DQNConfig(learning_starts=50, buffer_size=500, **SMALL)  # type: ignore[arg-type]
    agent = DQN(ImageBandit, cfg, seed=0).learn(120)
    buf = agent._buffer
    assert buf is not None and buf.obs.dtype == torch.uint8 and buf.next_obs.dtype == torch.uint8
    assert buf.obs.numpy()[:120].max() == 255
    path = tmp_path / "replay.npz"  # type: ignore[operator]
    agent.save_replay_buffer(path)
    other = DQN(ImageBandit, cfg, seed=1)
    other.load_replay_buffer(path)
    assert other._buffer is not None and torch.equal(other._buffer.obs[:120], buf.obs[:120])
    other.learn(60)  # trains on the loaded transitions


def test_flatten_keeps_the_mlp_and_its_numpy_paths() -> None:
    agent = A2C(ImageBandit, A2CConfig(features_extractor="flatten"), seed=0)
    assert agent.policy.features is None and agent.policy.numpy_ok
    assert ActorCriticGrad.supports(agent.policy)
    assert agent.policy.trunk.first.in_features == 144
    agent.learn(50)
    dqn = DQN(ImageBandit, DQNConfig(features_extractor="flatten", learning_starts=10), seed=0)
    dqn.learn(40)  # uint8 replay rows into the MLP
    assert dqn.q_net.features is None


def test_cnn_on_float_maps_does_not_scale() -> None:
    class FloatMaps(ImageBandit):
        def __init__(self) -> None:
            super().__init__("chw")
            self.observation_space = gym.spaces.Box(0.0, 1.0, (1, 12, 12), np.float32)

        def _obs(self) -> np.ndarray:
            return (super()._obs() / 255).astype(np.float32)

    agent = PPO(FloatMaps, PPOConfig(n_steps=16, batch_size=16, features_extractor="cnn",
                                     **SMALL), seed=0)  # type: ignore[arg-type]
    assert not agent.spec.image and agent.policy.features is not None
    assert agent.policy.features.scale == 1.0
    agent.learn(32)
    with pytest.raises(ConfigError, match="2-d .* or 3-d"):
        PPO("CartPole-v1", PPOConfig(features_extractor="cnn"), seed=0)


def test_ortho_init_false_draws_the_cnn_from_torch_default_ranges() -> None:
    agent = PPO(ImageBandit, PPOConfig(ortho_init=False, **SMALL), seed=0)  # type: ignore[arg-type]
    conv = agent.policy.features.convs[1]
    bound = 1 / np.sqrt(8 * 3 * 3)
    assert float(conv.weight.detach().abs().max()) <= bound
    assert float(conv.bias.detach().abs().max()) > 0
    again = PPO(ImageBandit, PPOConfig(ortho_init=False, **SMALL), seed=0)  # type: ignore[arg-type]
    assert torch.equal(again.policy.features.convs[1].weight, conv.weight)


def test_normalized_images_are_no_longer_images() -> None:
    venv = NormalizeObservation(make_vec_env(ImageBandit, 2))
    assert venv.single_observation_space.dtype == np.float32
    assert not space_info(venv).image
    assert space_info(make_vec_env(ImageBandit, 2)).image


def test_multi_dimensional_box_observations_on_the_torch_path() -> None:
    class Grid(gym.Env):  # type: ignore[type-arg]
        observation_space = gym.spaces.Box(-1, 1, (2, 3), np.float32)
        action_space = gym.spaces.MultiDiscrete([2, 3])

        def reset(self, *, seed: int | None = None, options: dict | None = None  # type: ignore[type-arg]
                  ) -> tuple[np.ndarray, dict]:  # type: ignore[type-arg]
            super().reset(seed=seed)
            return self.observation_space.sample(), {}

        def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:  # type: ignore[type-arg]
            return self.observation_space.sample(), float(action[0]), False, True, {}

    agent = PPO(Grid, PPOConfig(n_steps=16, batch_size=8), seed=0).learn(64)
    assert agent.predict(np.zeros((4, 2, 3), np.float32)).shape == (4, 2)


def test_the_benchmarks_pixel_grid() -> None:
    from benchmarks.rl.images import PixelGrid
    from benchmarks.rl.images_throughput import _pixels

    assert _pixels().observation_space.shape == (84, 84, 1)

    env = PixelGrid()
    obs, _ = env.reset(seed=0)
    assert obs.shape == (36, 36, 1) and obs.dtype == np.uint8
    assert sorted(np.unique(obs)) == [0, 128, 255]
    (ar, ac), (gr, gc) = env.agent, env.goal
    moves = [1 if gr > ar else 0] * abs(gr - ar) + [3 if gc > ac else 2] * abs(gc - ac)
    for i, a in enumerate(moves):
        obs, reward, term, trunc, _ = env.step(a)
        assert (reward, term, trunc) == ((1.0, True, False) if i == len(moves) - 1
                                          else (0.0, False, False))
    env.reset(seed=1)
    env.goal = (9, 9)  # unreachable: the episode is cut at 16 steps
    for _ in range(16):
        _, reward, term, trunc, _ = env.step(0)
    assert (reward, term, trunc) == (0.0, False, True)


class DictImage(gym.Env):  # type: ignore[type-arg]
    """``{"flip": Discrete(2), "image": ImageBandit's image}``: reward 1 for the action
    ``side XOR flip``, so both components must be read. One-step episodes."""

    observation_space = gym.spaces.Dict({
        "image": gym.spaces.Box(0, 255, (12, 12, 1), np.uint8), "flip": gym.spaces.Discrete(2)})
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.bandit = ImageBandit()

    def _obs(self) -> dict[str, object]:
        image = self.bandit._obs()
        self.target = self.bandit.side ^ int(self.np_random.integers(2))
        return {"image": image, "flip": self.target ^ self.bandit.side}

    def reset(self, *, seed: int | None = None, options: dict | None = None  # type: ignore[type-arg]
              ) -> tuple[dict, dict]:  # type: ignore[type-arg]
        super().reset(seed=seed)
        self.bandit.np_random = self.np_random
        return self._obs(), {}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:  # type: ignore[type-arg]
        reward = float(int(action) == self.target)
        return self._obs(), reward, False, True, {}


def test_dict_observations_with_an_image_get_a_cnn_for_it() -> None:
    agent = PPO(DictImage, PPOConfig(n_steps=16, batch_size=16, **SMALL), seed=0)  # type: ignore[arg-type]
    ext = agent.policy.features
    assert isinstance(ext, CombinedExtractor) and agent.spec.encoding is not None
    assert [p.image for p in agent.spec.encoding.parts] == [False, True]  # sorted: flip, image
    assert ext.features_dim == 32 + 2 and ext.rest.tolist() == [0, 1]
    cnn = CnnExtractor((12, 12, 1), channels=(8, 16), kernels=(3, 3), strides=(1, 2),
                       features_dim=32, scale=1 / 255, generator=torch.Generator())
    cnn.load_state_dict(ext.cnns[0].state_dict())
    env = DictImage()
    raw = [env.reset(seed=s)[0] for s in range(4)]
    encoded = torch.as_tensor(np.stack([policy_input(agent.spec, o) for o in raw]))
    images = torch.as_tensor(np.stack([o["image"] for o in raw]))
    flips = torch.nn.functional.one_hot(torch.tensor([o["flip"] for o in raw]), 2).float()
    with torch.no_grad():
        torch.testing.assert_close(ext(encoded), torch.cat([cnn(images), flips], dim=1))


def test_ppo_reads_both_the_image_and_the_other_entry() -> None:
    config = PPOConfig(n_envs=4, n_steps=64, batch_size=64, **{**SMALL, "hidden": (64,)})  # type: ignore[arg-type]
    agent = PPO(DictImage, config, seed=0).learn(8_000)
    assert evaluate(agent, DictImage, n_episodes=100, seed=1)[0] >= 0.75  # chance 0.5


def test_dict_with_images_save_load_and_choices(tmp_path: object) -> None:
    agent = DQN(DictImage, DQNConfig(learning_starts=20, **SMALL), seed=0).learn(40)  # type: ignore[arg-type]
    assert isinstance(agent.q_net.features, CombinedExtractor)
    path = tmp_path / "dqn.pt"  # type: ignore[operator]
    agent.save(path)
    loaded = DQN.load(path)
    assert loaded.spec == agent.spec and loaded.spec.encoding.parts[1].image  # type: ignore[union-attr]
    obs = DictImage().reset(seed=3)[0]
    assert loaded.predict(obs) == agent.predict(obs)  # one raw dict observation
    flat = PPO(DictImage, PPOConfig(features_extractor="flatten"), seed=0)
    assert flat.policy.features is None
    vector_dict = gym.spaces.Dict({"a": gym.spaces.Box(-1, 1, (3,)), "b": gym.spaces.Discrete(2)})

    class NoImages(DictImage):
        observation_space = vector_dict

        def _obs(self) -> dict[str, object]:
            self.target = 0
            return vector_dict.sample()

    assert PPO(NoImages, PPOConfig(), seed=0).policy.features is None  # auto: nothing to see
    with pytest.raises(ConfigError, match="features_extractor='cnn' needs a 2-d or 3-d"):
        PPO(NoImages, PPOConfig(features_extractor="cnn"), seed=0)


CUSTOM = '''
import torch
from torch import nn


class TinyConv(nn.Module):
    def __init__(self, obs_shape, features_dim):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2)
        self.out = nn.Linear(4 * 5 * 5, features_dim)

    def forward(self, obs):
        x = obs.permute(0, 3, 1, 2) / 255.0
        return torch.relu(self.out(torch.relu(self.conv(x)).flatten(1)))


def no_dim(obs_shape, features_dim):
    return nn.Sequential(nn.Flatten(), nn.Linear(144, 7))


def wrong_rank(obs_shape, features_dim):
    return nn.Identity()


not_callable = 3
'''


@pytest.fixture
def custom_module(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_extractors.py").write_text(CUSTOM)  # type: ignore[operator]
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_extractors"


def test_a_custom_extractor_from_an_import_path(custom_module: str, tmp_path: object) -> None:
    cfg = PPOConfig(n_envs=4, n_steps=64, batch_size=64, hidden=(),
                    features_extractor=f"{custom_module}:TinyConv", features_dim=16)
    agent = PPO(ImageBandit, cfg, seed=0)
    assert type(agent.policy.features).__name__ == "TinyConv"
    assert agent.policy.pi_head.in_features == 16
    again = PPO(ImageBandit, cfg, seed=0)  # the agent's seed fixes the module's weights
    assert torch.equal(again.policy.features.conv.weight, agent.policy.features.conv.weight)
    state = torch.random.get_rng_state()
    PPO(ImageBandit, cfg, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG left alone
    agent.learn(4_000)
    assert evaluate(agent, ImageBandit, n_episodes=50, seed=1)[0] >= 0.9
    path = tmp_path / "agent.pt"  # type: ignore[operator]
    agent.save(path)
    obs = np.stack([ImageBandit().reset(seed=s)[0] for s in range(6)])
    assert np.array_equal(PPO.load(path).predict(obs), agent.predict(obs))
    flat = PPO(ImageBandit, PPOConfig(features_extractor=f"{custom_module}:no_dim"), seed=0)
    assert flat.policy.features.features_dim == 7  # found by a forward pass


@pytest.mark.parametrize(("name", "message"), [
    ("nowhere_module:Thing", "cannot be imported"),
    ("my_extractors:Missing", "cannot be imported"),
    ("my_extractors:not_callable", "must name a class or function"),
    ("my_extractors:wrong_rank", r"must map a batch \(B, \*\(12, 12, 1\)\) to \(B, features\)"),
])
def test_custom_extractor_errors(custom_module: str, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PPO(ImageBandit, PPOConfig(features_extractor=name), seed=0)


def test_features_extractor_value_forms() -> None:
    assert PPOConfig(features_extractor="pkg.sub:Factory.build").features_extractor
    for bad in ("pkg:", ":Thing", "pkg.sub", "pkg:bad name", 3):
        with pytest.raises(ConfigError, match="`features_extractor` must be"):
            PPOConfig(features_extractor=bad)  # type: ignore[arg-type]


def test_ortho_init_false_leaves_a_custom_extractor_alone(custom_module: str) -> None:
    def build(ortho: bool) -> PPO:
        cfg = PPOConfig(features_extractor=f"{custom_module}:TinyConv", features_dim=16,
                        ortho_init=ortho)
        return PPO(ImageBandit, cfg, seed=0)

    a, b = build(True), build(False)
    assert torch.equal(a.policy.features.conv.weight, b.policy.features.conv.weight)
    assert not torch.equal(a.policy.pi_head.weight, b.policy.pi_head.weight)
