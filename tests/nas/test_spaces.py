"""Architecture spaces: decisions, counts, config round trips, typed errors, samplers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import autolearn  # noqa: E402
from autolearn import FixedTrial  # noqa: E402
from autolearn.exceptions import ConfigError, SearchSpaceError  # noqa: E402
from autolearn.nas import (  # noqa: E402
    NASNET_OPS,
    NB201_OPS,
    ArchitectureSpace,
    MacroSpace,
    MLPSpace,
    NASNetSpace,
    NB201Space,
    make_space,
    space_from_config,
)
from autolearn.samplers import RandomSampler, TPESampler  # noqa: E402
from autolearn.space import CategoricalDistribution  # noqa: E402

torch.set_num_threads(1)

SMALL = {
    "macro": {"num_layers": 3, "filters": [4, 8]},
    "mlp": {"num_layers": 2, "units": [4, 8]},
    "nasnet": {"num_blocks": 3},
    "nb201": {},
}
SHAPES = {"macro": (1, 12), "mlp": (6,), "nasnet": (1, 12), "nb201": (2, 6, 6)}
SIZES = {"macro": {"width": 1.0}, "mlp": {}, "nasnet": {"cells": 1, "filters": 4},
         "nb201": {"cells": 1, "filters": 4}}


@pytest.mark.parametrize("name", ["macro", "mlp", "nasnet", "nb201"])
def test_every_decision_is_categorical_and_config_round_trips(name: str) -> None:
    space = make_space(name)
    assert isinstance(space, ArchitectureSpace) and space.name == name
    ss = space.search_space()
    assert len(ss) > 0
    assert all(isinstance(ss[n], CategoricalDistribution) for n in ss)
    config = json.loads(json.dumps(space.config()))
    again = space_from_config(name, config)
    assert again == space and again.search_space() == ss
    assert isinstance(space.default_size(), dict)


def test_decision_counts_follow_the_papers() -> None:
    # Zoph & Le: per layer kernel, filters, reduce + one anchor decision per earlier layer.
    assert len(MacroSpace(num_layers=6).search_space()) == 6 * 3 + 15
    assert len(MacroSpace(num_layers=6, reductions=["none"], skips=False).search_space()) == 12
    assert len(MLPSpace(num_layers=3).search_space()) == 3 * 2 + 3
    # NASNet: 2 cells x B blocks x (2 inputs + 2 ops) (+ combine when it is a choice).
    assert len(NASNetSpace().search_space()) == 40
    assert len(NASNetSpace(combines=["add", "concat"]).search_space()) == 50
    assert NASNetSpace().ops == NASNET_OPS and len(NASNET_OPS) == 13
    assert len(NB201Space().search_space()) == 6 and len(NB201_OPS) == 5
    assert NB201Space().search_space().grid_size() == 5 ** 6


def test_nasnet_input_range_grows_with_block_index_and_order_is_the_papers() -> None:
    ss = NASNetSpace(num_blocks=5).search_space()
    for cell in ("normal", "reduce"):
        for b in range(5):
            assert ss[f"{cell}_b{b}_input_1"].choices == tuple(range(b + 2))
            assert ss[f"{cell}_b{b}_input_2"].choices == tuple(range(b + 2))
    names = list(ss)
    assert names[:4] == ["normal_b0_input_1", "normal_b0_input_2", "normal_b0_op_1",
                         "normal_b0_op_2"]
    assert names[20] == "reduce_b0_input_1"


def test_nb201_edge_order_and_arch_string() -> None:
    space = NB201Space()
    assert list(space.search_space()) == ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0",
                                          "edge_3_1", "edge_3_2"]
    d = dict(zip(space.edge_names(), ["nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect",
                                      "avg_pool_3x3", "nor_conv_3x3"], strict=True))
    assert space.arch_str(d) == ("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|"
                                 "avg_pool_3x3~1|nor_conv_3x3~2|")
    assert space.describe(d) == space.arch_str(d)


def test_suggest_through_a_fixed_trial_returns_the_decisions() -> None:
    space = NASNetSpace(num_blocks=2, ops=["identity", "conv_3x3"])
    decisions = space.search_space().sample(seed=3)
    assert space.suggest(FixedTrial(decisions)) == decisions


def test_macro_skip_anchors_wire_layers() -> None:
    space = MacroSpace(num_layers=3, reductions=["none", "maxpool"])
    d = {"layer0_kernel": 3, "layer0_filters": 24, "layer0_reduce": "none",
         "layer1_kernel": 5, "layer1_filters": 36, "layer1_reduce": "maxpool", "layer1_skip0": 0,
         "layer2_kernel": 1, "layer2_filters": 48, "layer2_reduce": "none",
         "layer2_skip0": 1, "layer2_skip1": 1}
    layers = space.layers(d)
    assert [layer.inputs for layer in layers] == [(), (), (0, 1)]
    assert space.describe(d) == "L0=conv3x24(x) L1=conv5x36/maxpool(x) L2=conv1x48(0,1)"
    chain = MacroSpace(num_layers=3, skips=False).layers(
        {k: v for k, v in d.items() if "skip" not in k} | {"layer2_reduce": "stride2"})
    assert [layer.inputs for layer in chain] == [(), (0,), (1,)]


def test_describe_nasnet_names_inputs_and_ops() -> None:
    space = NASNetSpace(num_blocks=1, ops=["identity", "max_pool_3x3"])
    d = {"normal_b0_input_1": 1, "normal_b0_input_2": 0, "normal_b0_op_1": "identity",
         "normal_b0_op_2": "max_pool_3x3", "reduce_b0_input_1": 0, "reduce_b0_input_2": 0,
         "reduce_b0_op_1": "max_pool_3x3", "reduce_b0_op_2": "max_pool_3x3"}
    assert space.describe(d) == ("normal: b0=identity(h[i-1]) + max_pool_3x3(h[i-2])\n"
                                 "reduce: b0=max_pool_3x3(h[i-2]) + max_pool_3x3(h[i-2])")


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("nasnet", {"ops": ["sep_conv_3x3", "conv_9x9"]}, "unknown operations"),
    ("nasnet", {"ops": []}, "non-empty"),
    ("nasnet", {"num_blocks": 0}, "num_blocks"),
    ("nasnet", {"combines": ["add", "mul"]}, "combines"),
    ("nb201", {"ops": ["none", "bogus"]}, "unknown operations"),
    ("macro", {"kernel_sizes": [2, 3]}, "odd"),
    ("macro", {"reductions": ["none", "avgpool"]}, "reductions"),
    ("macro", {"filters": [0, 8]}, "filters"),
    ("mlp", {"activations": ["relu", "swoosh"]}, "swoosh"),
    ("mlp", {"num_layers": 0}, "num_layers"),
    ("nasnet", {"nonsense": 1}, "nonsense"),
    ("resnet", {}, "unknown architecture space"),
])
def test_typed_errors_for_bad_space_arguments(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_space(name, **kwargs)


def test_bad_decisions_raise_search_space_errors_and_extra_keys_are_ignored() -> None:
    space = NB201Space()
    good = dict.fromkeys(space.edge_names(), "skip_connect")
    assert space.op_list({**good, "lr": 0.1}) == ["skip_connect"] * 6
    with pytest.raises(SearchSpaceError, match="edge_3_2"):
        space.op_list({k: v for k, v in good.items() if k != "edge_3_2"})
    with pytest.raises(SearchSpaceError):
        space.op_list({**good, "edge_1_0": "conv_11x11"})


@pytest.mark.parametrize("name", ["macro", "mlp", "nasnet", "nb201"])
@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_every_space_is_searchable_by_autolearn_samplers(name: str, sampler: str) -> None:
    space = make_space(name, **SMALL[name])
    shape = SHAPES[name]

    def objective(trial: autolearn.BaseTrial) -> float:
        decisions = space.suggest(trial)
        net = space.build(decisions, shape, 3, **SIZES[name]).eval()
        with torch.no_grad():
            out = net(torch.randn(2, *shape, generator=torch.Generator().manual_seed(0)))
        assert out.shape == (2, 3)
        return float(sum(p.numel() for p in net.parameters()))

    s = (RandomSampler(seed=0) if sampler == "random"
         else TPESampler(seed=0, n_startup_trials=2))
    study = autolearn.create_study(direction="minimize", sampler=s)
    study.optimize(objective, n_trials=4)
    trials = study.trials
    assert len(trials) == 4 and all(t.state == autolearn.TrialState.COMPLETE for t in trials)
    assert set(trials[-1].params) == set(space.search_space().active_names(trials[-1].params))


def test_import_autolearn_does_not_import_torch() -> None:
    code = "import sys, autolearn; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
