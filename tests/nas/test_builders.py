"""Builders: decisions -> nn.Module, shapes across reductions and concatenations, N @ F."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from autolearn.exceptions import ConfigError  # noqa: E402
from autolearn.nas import (  # noqa: E402
    MacroSpace,
    MLPSpace,
    NASNetSpace,
    NB201Space,
    make_space,
    register_op,
)
from autolearn.nas._builders import Block, NASNetCell, NASNetwork  # noqa: E402
from autolearn.nas._ops import OPS, FactorizedReduce, make_op  # noqa: E402

torch.set_num_threads(1)


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def forward(net: torch.nn.Module, shape: tuple[int, ...], batch: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        return net.eval()(torch.randn(batch, *shape, generator=g))


@pytest.mark.parametrize("shape", [(1, 41), (2, 9, 9)])
@pytest.mark.parametrize("name", ["macro", "nasnet", "nb201"])
def test_conv_spaces_give_logits_for_1d_and_2d_inputs(name: str, shape: tuple) -> None:
    space = make_space(name)
    size = {} if name == "macro" else {"cells": 1, "filters": 4}
    for seed in range(3):
        decisions = space.search_space().sample(seed=seed)
        net = space.build(decisions, shape, 7, **size)
        out = forward(net, shape)
        assert out.shape == (3, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("shape", [(13,), (1, 8, 8)])
def test_mlp_space_gives_logits_and_flattens(shape: tuple) -> None:
    space = MLPSpace()
    for seed in range(3):
        net = space.build(space.search_space().sample(seed=seed), shape, 4)
        assert forward(net, shape).shape == (3, 4)


@pytest.mark.parametrize("shape", [(1, 40), (1, 11, 11)])
def test_nasnet_b5_random_cells_with_reductions(shape: tuple) -> None:
    space = NASNetSpace(num_blocks=5, combines=["add", "concat"])
    dim = len(shape) - 1
    for seed in range(12):
        decisions = space.search_space().sample(seed=seed)
        net = space.build(decisions, shape, 5, cells=1, filters=4)
        sizes: list[tuple[int, ...]] = []

        def record(module, inputs, output, sizes=sizes):
            sizes.append(tuple(output.shape[2:]))

        for cell in net.cells:
            cell.register_forward_hook(record)
        out = forward(net, shape, batch=2)
        assert out.shape == (2, 5)
        # N=1: normal, reduce, normal, reduce, normal; reductions halve rounding up.
        s0 = shape[1:]
        s1 = tuple(math.ceil(s / 2) for s in s0)
        s2 = tuple(math.ceil(s / 2) for s in s1)
        assert sizes == [s0, s1, s1, s2, s2], (seed, sizes)
        assert len(net.cells) == 5 and dim in (1, 2)


def test_nasnet_train_mode_backward_and_batch_of_one_in_eval() -> None:
    space = NASNetSpace()
    net = space.build(space.search_space().sample(seed=7), (1, 20), 3, cells=2, filters=4)
    loss = net.train()(torch.randn(4, 1, 20)).logsumexp(dim=1).sum()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    assert forward(net, (1, 20), batch=1).shape == (1, 3)


def test_nasnet_unused_blocks_are_concatenated() -> None:
    chain = [Block(1, 1, "conv_1x1", "identity")] + [Block(k + 1, k + 1, "conv_1x1", "identity")
                                                    for k in range(1, 5)]
    cell = NASNetCell(chain, 8, 8, 4, reduction=False, reduction_prev=False, dim=1)
    assert cell.outputs == (4,) and cell.out_channels == 4
    fan = [Block(0, 1, "max_pool_3x3", "identity") for _ in range(5)]
    cell = NASNetCell(fan, 8, 8, 4, reduction=True, reduction_prev=True, dim=2)
    assert cell.outputs == (0, 1, 2, 3, 4) and cell.out_channels == 20
    out = cell(torch.randn(2, 8, 10, 10), torch.randn(2, 8, 5, 5))
    assert out.shape == (2, 20, 3, 3)


def test_larger_n_at_f_gives_more_parameters_and_filters_double() -> None:
    space = NASNetSpace()
    d = space.search_space().sample(seed=1)
    p = {(n, f): n_params(space.build(d, (1, 40), 10, cells=n, filters=f))
         for n in (1, 2) for f in (8, 16)}
    assert p[(1, 8)] < p[(2, 8)] < p[(2, 16)] and p[(1, 8)] < p[(1, 16)] < p[(2, 16)]
    net = space.build(d, (1, 40), 10, cells=1, filters=8)
    assert isinstance(net, NASNetwork)
    widths = [cell.preprocess_1[1].out_channels for cell in net.cells]
    assert widths == [8, 16, 16, 32, 32]
    nb = NB201Space()
    d = dict.fromkeys(nb.edge_names(), "nor_conv_3x3")
    assert n_params(nb.build(d, (1, 16), 10, cells=1, filters=8)) < n_params(
        nb.build(d, (1, 16), 10, cells=3, filters=8))


def test_parameter_counts_match_hand_counts() -> None:
    # Macro: one conv layer kernel 3 x 24 filters (no bias) + BN + linear 24 -> 10.
    space = MacroSpace(num_layers=1, reductions=["none"])
    net = space.build({"layer0_kernel": 3, "layer0_filters": 24}, (1, 40), 10)
    assert n_params(net) == 1 * 24 * 3 + 2 * 24 + (24 * 10 + 10)
    # width scales the filters.
    net = space.build({"layer0_kernel": 3, "layer0_filters": 24}, (1, 40), 10, width=0.5)
    assert n_params(net) == 12 * 3 + 2 * 12 + (12 * 10 + 10)
    # MLP chain 5 -> 8 -> 4 -> 3 classes.
    mlp = MLPSpace(num_layers=2, units=[4, 8], skips=False)
    d = {"layer0_units": 8, "layer0_activation": "relu", "layer1_units": 4,
         "layer1_activation": "tanh"}
    assert n_params(mlp.build(d, (5,), 3)) == (5 * 8 + 8) + (8 * 4 + 4) + (4 * 3 + 3)
    # Ops: separable conv applied twice, 1-D, C=8, k=3: 2 x (depthwise 24 + pointwise 64 + BN 16).
    assert n_params(make_op("sep_conv_3x3", 8, 1, 1)) == 2 * (24 + 64 + 16)
    assert n_params(make_op("conv_3x3", 8, 1, 2)) == 8 * 8 * 9 + 16
    assert n_params(make_op("max_pool_7x7", 8, 2, 2)) == 0
    assert n_params(make_op("none", 8, 1, 1)) == 0
    # NB201 cell of convs: 3x3 / 1x1 edges carry C*C*k^2 + 2C each.
    nb = NB201Space()
    zeros = dict.fromkeys(nb.edge_names(), "none")
    convs = {**zeros, "edge_1_0": "nor_conv_3x3"}
    diff = n_params(nb.build(convs, (1, 16), 10, filters=8)) - n_params(
        nb.build(zeros, (1, 16), 10, filters=8))
    assert diff == sum(c * c * 3 + 2 * c for c in (8, 16, 32))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("dim", [1, 2])
def test_every_op_keeps_channels_and_halves_with_stride_2(op: str, dim: int) -> None:
    shape = (2, 6) + (9,) * dim
    for stride in (1, 2):
        out = forward(make_op(op, 6, stride, dim), shape[1:], batch=2)
        want = 9 if stride == 1 else 5
        assert out.shape == (2, 6) + (want,) * dim, (op, stride)


def test_factorized_reduce_handles_odd_sizes() -> None:
    assert FactorizedReduce(3, 8, 2)(torch.randn(2, 3, 7, 8)).shape == (2, 8, 4, 4)
    assert FactorizedReduce(3, 7, 1)(torch.randn(2, 3, 1)).shape == (2, 7, 1)


def test_macro_pads_mismatched_inputs_and_pools_unconsumed_layers() -> None:
    space = MacroSpace(num_layers=3)
    d = {"layer0_kernel": 3, "layer0_filters": 24, "layer0_reduce": "none",
         "layer1_kernel": 3, "layer1_filters": 36, "layer1_reduce": "stride2", "layer1_skip0": 1,
         "layer2_kernel": 3, "layer2_filters": 48, "layer2_reduce": "maxpool",
         "layer2_skip0": 1, "layer2_skip1": 1}
    net = space.build(d, (1, 9, 9), 4)
    assert net.convs[2][0].in_channels == 24 + 36 and net.outputs == (2,)
    assert forward(net, (1, 9, 9)).shape == (3, 4)
    d2 = {**d, "layer2_skip0": 0}  # layer 2 takes only layer 1; layer 0 still feeds layer 1
    assert space.build(d2, (1, 9, 9), 4).outputs == (2,)
    d3 = {**d, "layer1_skip0": 0, "layer2_skip0": 0}  # layer 0 feeds nobody -> concatenated
    net3 = space.build(d3, (1, 9, 9), 4)
    assert net3.outputs == (0, 2) and net3.classifier.in_features == 24 + 48


@pytest.mark.parametrize("name", ["macro", "nasnet", "nb201"])
def test_conv_spaces_reject_tabular_and_4d_shapes(name: str) -> None:
    space = make_space(name)
    d = space.search_space().sample(seed=0)
    with pytest.raises(ConfigError, match="mlp"):
        space.build(d, (40,), 3)
    with pytest.raises(ConfigError, match="input_shape"):
        space.build(d, (1, 2, 8, 8), 3)
    with pytest.raises(ConfigError, match="positive"):
        space.build(d, (1, 0), 3)
    with pytest.raises(ConfigError, match="num_classes"):
        space.build(d, (1, 8), 0)


def test_size_keywords_are_checked() -> None:
    space = NASNetSpace()
    d = space.search_space().sample(seed=0)
    with pytest.raises(ConfigError, match="unknown size keys"):
        space.build(d, (1, 8), 3, width=2.0)
    with pytest.raises(ConfigError, match="cells"):
        space.build(d, (1, 8), 3, cells=0)
    for width in (-1, 1e300, float("nan")):
        with pytest.raises(ConfigError, match="width"):
            MacroSpace().build(MacroSpace().search_space().sample(seed=0), (1, 8), 3,
                               width=width)
    with pytest.raises(ConfigError, match="mlp"):
        MLPSpace().build(MLPSpace().search_space().sample(seed=0), (), 3)


def test_registered_op_is_searchable_and_built() -> None:
    from autolearn.nas._ops import ReLUConvBN

    register_op("test_conv_5x5", lambda c, s, d: ReLUConvBN(c, c, 5, s, d))
    try:
        with pytest.raises(ConfigError, match="already registered"):
            register_op("test_conv_5x5", lambda c, s, d: ReLUConvBN(c, c, 5, s, d))
        space = NASNetSpace(num_blocks=2, ops=["test_conv_5x5"])
        net = space.build(space.search_space().sample(seed=0), (1, 12), 3, filters=4)
        assert forward(net, (1, 12)).shape == (3, 3)
    finally:
        del OPS["test_conv_5x5"]


def test_macro_1d_five_layers_with_filters_reductions_and_skips() -> None:
    # The space of benchmarks/nas_mnist1d_macro.py: every random architecture's module
    # wires each layer to the layers its skip decisions select (channels add up), applies
    # its filters, stride and pooling, and classifies the unconsumed layers.
    space = MacroSpace(num_layers=5, kernel_sizes=[1, 3, 5, 7], filters=[8, 16, 32, 64],
                       reductions=["none", "stride2", "maxpool"], skips=True)
    assert len(space.search_space()) == 5 * 3 + 10
    for seed in range(8):
        d = space.search_space().sample(seed=seed)
        net = space.build(d, (1, 40), 10)
        lengths: list[int] = []
        for i, (layer, conv) in enumerate(zip(space.layers(d), net.convs, strict=True)):
            skips = tuple(j for j in range(i) if d[f"layer{i}_skip{j}"] == 1)
            assert layer.inputs == skips
            c_in = sum(d[f"layer{j}_filters"] for j in skips) if skips else 1
            assert conv[0].in_channels == c_in
            assert conv[0].out_channels == d[f"layer{i}_filters"]
            assert conv[0].kernel_size == (d[f"layer{i}_kernel"],)
            length = max(lengths[j] for j in skips) if skips else 40
            if d[f"layer{i}_reduce"] != "none":
                length = (length + 1) // 2
            lengths.append(length)
            assert conv[0].stride == ((2,) if d[f"layer{i}_reduce"] == "stride2" else (1,))
            assert isinstance(conv[-1], torch.nn.MaxPool1d) == (d[f"layer{i}_reduce"] == "maxpool")
        consumed = {j for i in range(5) for j in range(i) if d[f"layer{i}_skip{j}"] == 1}
        outputs = tuple(i for i in range(5) if i not in consumed)
        assert net.outputs == outputs
        assert net.classifier.in_features == sum(d[f"layer{i}_filters"] for i in outputs)
        hidden: list[torch.Tensor] = []
        hooks = [c.register_forward_hook(lambda m, a, out, hidden=hidden: hidden.append(out))
                 for c in net.convs]
        assert forward(net, (1, 40)).shape == (3, 10)
        for h in hooks:
            h.remove()
        assert [h.shape[-1] for h in hidden] == lengths
