"""Builders: architecture decisions -> ``torch.nn.Module`` (logits of shape ``(B, num_classes)``).

One network class per space. Each takes *resolved* structure (lists of per-layer or
per-block choices, built by the matching :class:`~autolearn.nas.ArchitectureSpace`), so it
can also be used directly. Convolutional networks accept ``(B, C, L)`` (``dim=1``) or
``(B, C, H, W)`` (``dim=2``) inputs; :class:`MLPNet` accepts ``(B, D)`` (or any shape, which
it flattens).

References:
    Zoph, Le. Neural Architecture Search with Reinforcement Learning. ICLR 2017.
    Zoph, Vasudevan, Shlens, Le. Learning Transferable Architectures for Scalable Image
    Recognition. CVPR 2018.
    Dong, Yang. NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
    Search. ICLR 2020.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from autolearn.nas._ops import FactorizedReduce, ReLUConvBN, _conv, bn_cls, make_op

__all__ = ["MLPNet", "MacroNet", "NASNetwork", "NB201Network"]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "swish": nn.SiLU,
}


def _global_pool(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, *spatial) -> (B, C)`` by averaging over the spatial axes."""
    return x.flatten(2).mean(dim=2)


def _pad_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Zero-pad the spatial axes of ``x`` at the end (right / bottom) up to ``size``."""
    pads: list[int] = []
    for have, want in zip(reversed(x.shape[2:]), reversed(size), strict=True):
        pads += [0, want - have]
    return F.pad(x, pads) if any(pads) else x


# --- Zoph & Le macro network ---------------------------------------------------------------
@dataclass(frozen=True)
class MacroLayer:
    """One layer of :class:`MacroNet`: conv ``kernel`` x ``filters``, a reduction, its inputs.

    ``inputs`` lists earlier layer indices (empty: the layer reads the network input);
    ``reduce`` is ``"none"``, ``"stride2"`` (stride-2 convolution) or ``"maxpool"``
    (3-wide max pooling with stride 2 after the convolution).
    """

    kernel: int
    filters: int
    reduce: str
    inputs: tuple[int, ...]


class MacroNet(nn.Module):
    """Zoph & Le's convolutional network: layers conv-BN-ReLU wired by skip "anchors".

    A layer's input is the channel-concatenation of the layers it selects, zero-padded at
    the end to the largest spatial size among them (the paper's rule); a layer that selects
    none reads the image. Every layer no later layer consumes is global-average-pooled and
    the pooled vectors are concatenated and fed to a linear classifier.
    """

    def __init__(self, layers: Sequence[MacroLayer], input_shape: tuple[int, ...],
                 num_classes: int) -> None:
        super().__init__()
        dim = len(input_shape) - 1
        self.layers_spec = tuple(layers)
        channels: list[int] = []
        self.convs = nn.ModuleList()
        for layer in self.layers_spec:
            c_in = sum(channels[j] for j in layer.inputs) if layer.inputs else input_shape[0]
            stride = 2 if layer.reduce == "stride2" else 1
            block: list[nn.Module] = [
                _conv(dim, c_in, layer.filters, layer.kernel, stride=stride),
                bn_cls(dim)(layer.filters),
                nn.ReLU(),
            ]
            if layer.reduce == "maxpool":
                pool = nn.MaxPool1d if dim == 1 else nn.MaxPool2d
                block.append(pool(3, stride=2, padding=1))
            self.convs.append(nn.Sequential(*block))
            channels.append(layer.filters)
        consumed = {j for layer in self.layers_spec for j in layer.inputs}
        self.outputs = tuple(i for i in range(len(self.layers_spec)) if i not in consumed)
        self.classifier = nn.Linear(sum(channels[i] for i in self.outputs), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden: list[torch.Tensor] = []
        for layer, conv in zip(self.layers_spec, self.convs, strict=True):
            if layer.inputs:
                xs = [hidden[j] for j in layer.inputs]
                size = [max(s) for s in zip(*(h.shape[2:] for h in xs), strict=True)]
                inp = torch.cat([_pad_to(h, size) for h in xs], dim=1)
            else:
                inp = x
            hidden.append(conv(inp))
        pooled = [_global_pool(hidden[i]) for i in self.outputs]
        return self.classifier(torch.cat(pooled, dim=1))


# --- MLP ----------------------------------------------------------------------------------
class MLPNet(nn.Module):
    """Fully connected layers (Linear + activation) wired by optional skip anchors.

    ``layers`` holds ``(units, activation, inputs)``; ``inputs`` lists earlier layers whose
    outputs are concatenated (empty: the flattened network input). Layers no later layer
    consumes are concatenated and fed to a linear classifier.
    """

    def __init__(self, layers: Sequence[tuple[int, str, tuple[int, ...]]], in_features: int,
                 num_classes: int) -> None:
        super().__init__()
        self.inputs = tuple(tuple(inp) for _, _, inp in layers)
        units = [u for u, _, _ in layers]
        self.linears = nn.ModuleList()
        for u, act, inp in layers:
            d_in = sum(units[j] for j in inp) if inp else in_features
            self.linears.append(nn.Sequential(nn.Linear(d_in, u), _ACTIVATIONS[act]()))
        consumed = {j for inp in self.inputs for j in inp}
        self.outputs = tuple(i for i in range(len(units)) if i not in consumed)
        self.classifier = nn.Linear(sum(units[i] for i in self.outputs), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        hidden: list[torch.Tensor] = []
        for inp, lin in zip(self.inputs, self.linears, strict=True):
            h = torch.cat([hidden[j] for j in inp], dim=1) if inp else x
            hidden.append(lin(h))
        return self.classifier(torch.cat([hidden[i] for i in self.outputs], dim=1))


# --- NASNet -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One NASNet block: ``combine(op_1(input_1), op_2(input_2))``.

    Inputs index the cell's hidden states: 0 = ``h[i-2]``, 1 = ``h[i-1]``, ``2 + k`` = block k.
    """

    input_1: int
    input_2: int
    op_1: str
    op_2: str
    combine: str = "add"


class NASNetCell(nn.Module):
    """A normal or reduction cell: preprocess both inputs to ``c`` channels, run the blocks,
    concatenate the outputs of the blocks no other block of the cell uses.

    In a reduction cell the operations applied to the cell inputs have stride 2. After a
    reduction (``reduction_prev``), ``h[i-2]`` is halved by a factorized reduce so that it
    matches ``h[i-1]``; otherwise both inputs go through ReLU-1x1 conv-BN.
    """

    def __init__(self, blocks: Sequence[Block], c_prev_prev: int, c_prev: int, c: int, *,
                 reduction: bool, reduction_prev: bool, dim: int) -> None:
        super().__init__()
        self.blocks = tuple(blocks)
        self.preprocess_0 = (FactorizedReduce(c_prev_prev, c, dim) if reduction_prev
                             else ReLUConvBN(c_prev_prev, c, 1, 1, dim))
        self.preprocess_1 = ReLUConvBN(c_prev, c, 1, 1, dim)
        self.ops = nn.ModuleList()
        self.combines = nn.ModuleList()
        for b in self.blocks:
            for inp, op in ((b.input_1, b.op_1), (b.input_2, b.op_2)):
                stride = 2 if reduction and inp < 2 else 1
                self.ops.append(make_op(op, c, stride, dim))
            self.combines.append(ReLUConvBN(2 * c, c, 1, 1, dim) if b.combine == "concat"
                                 else nn.Identity())
        used = {i for b in self.blocks for i in (b.input_1, b.input_2)}
        self.outputs = tuple(k for k in range(len(self.blocks)) if k + 2 not in used)
        self.out_channels = c * len(self.outputs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess_0(s0), self.preprocess_1(s1)]
        for k, b in enumerate(self.blocks):
            h1 = self.ops[2 * k](states[b.input_1])
            h2 = self.ops[2 * k + 1](states[b.input_2])
            if b.combine == "concat":
                states.append(self.combines[k](torch.cat([h1, h2], dim=1)))
            else:
                states.append(h1 + h2)
        return torch.cat([states[k + 2] for k in self.outputs], dim=1)


class NASNetwork(nn.Module):
    """The stacked NASNet network "N @ F" (CIFAR layout of Zoph et al. 2018, figure 2).

    Stem (3x3 conv to ``stem_multiplier * F`` channels, BN), then ``N`` normal cells,
    a reduction cell, ``N`` normal cells, a reduction cell, ``N`` normal cells; the cells
    work at ``F`` filters, doubled at each reduction cell. Then ReLU, global average
    pooling and a linear classifier.
    """

    def __init__(self, normal: Sequence[Block], reduce: Sequence[Block],
                 input_shape: tuple[int, ...], num_classes: int, *, cells: int, filters: int,
                 stem_multiplier: int = 3) -> None:
        super().__init__()
        dim = len(input_shape) - 1
        c_stem = stem_multiplier * filters
        self.stem = nn.Sequential(_conv(dim, input_shape[0], c_stem, 3), bn_cls(dim)(c_stem))
        c_pp, c_p, c = c_stem, c_stem, filters
        self.cells = nn.ModuleList()
        reduction_prev = False
        for stage in range(3):
            if stage > 0:
                c *= 2
                cell = NASNetCell(reduce, c_pp, c_p, c, reduction=True,
                                  reduction_prev=reduction_prev, dim=dim)
                self.cells.append(cell)
                c_pp, c_p, reduction_prev = c_p, cell.out_channels, True
            for _ in range(cells):
                cell = NASNetCell(normal, c_pp, c_p, c, reduction=False,
                                  reduction_prev=reduction_prev, dim=dim)
                self.cells.append(cell)
                c_pp, c_p, reduction_prev = c_p, cell.out_channels, False
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(_global_pool(F.relu(s1)))


# --- NAS-Bench-201 ------------------------------------------------------------------------
#: The six edges ``(to, from)`` of the NAS-Bench-201 cell, in its arch-string order.
NB201_EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class NB201Cell(nn.Module):
    """Four nodes; node ``j`` is the sum over ``i < j`` of ``op_(j,i)(node i)``; outputs node 3."""

    def __init__(self, ops: Sequence[str], c: int, dim: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, c, 1, dim) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(self.edges[k](nodes[i])
                             for k, (to, i) in enumerate(NB201_EDGES) if to == j))
        return nodes[3]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's residual block between stages: ``c -> 2c`` channels, size halved.

    Main path ReLU-conv3x3(stride 2)-BN, ReLU-conv3x3-BN; shortcut 3-wide average pooling
    with stride 2 (NAS-Bench-201 uses 2-wide; 3-wide with padding keeps odd sizes exact)
    then a 1x1 convolution.
    """

    def __init__(self, c: int, dim: int) -> None:
        super().__init__()
        self.a = ReLUConvBN(c, 2 * c, 3, 2, dim)
        self.b = ReLUConvBN(2 * c, 2 * c, 3, 1, dim)
        pool = nn.AvgPool1d if dim == 1 else nn.AvgPool2d
        self.shortcut = nn.Sequential(pool(3, stride=2, padding=1, count_include_pad=False),
                                      _conv(dim, c, 2 * c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.shortcut(x)


class NB201Network(nn.Module):
    """Stem (3x3 conv, BN), 3 stages of ``cells`` cells at ``filters``, ``2 filters``,
    ``4 filters`` with a residual reduction block between stages, BN-ReLU, global average
    pooling, linear (Dong & Yang 2020, section 2.1)."""

    def __init__(self, ops: Sequence[str], input_shape: tuple[int, ...], num_classes: int, *,
                 cells: int, filters: int) -> None:
        super().__init__()
        dim = len(input_shape) - 1
        c = filters
        layers: list[nn.Module] = [_conv(dim, input_shape[0], c, 3), bn_cls(dim)(c)]
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, dim))
                c *= 2
            layers += [NB201Cell(ops, c, dim) for _ in range(cells)]
        layers += [bn_cls(dim)(c), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(_global_pool(self.features(x)))
