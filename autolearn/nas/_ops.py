"""Candidate operations of the cell spaces, for 1-D ``(B, C, L)`` and 2-D ``(B, C, H, W)`` maps.

Every operation maps ``C`` channels to ``C`` channels; with ``stride=2`` it halves each
spatial size, rounding up (``L -> ceil(L / 2)``), so all operations of one block agree on
the output shape for any input size, odd ones included. The registry :data:`OPS` maps a
name to a factory ``factory(channels, stride, dim) -> nn.Module``; :func:`register_op`
adds one (see ``docs/nas_spaces.md``, "How to add an operation").

The NASNet set (Zoph et al. 2018, section 3) and its 1-D analogues:

=================  ==========================================  ===========================
name               2-D                                         1-D
=================  ==========================================  ===========================
identity           x (factorized reduce when stride 2)         same
conv_1x3_3x1       ReLU, 1x3 conv, 3x1 conv, BN                ReLU, conv k3, conv k3, BN
conv_1x7_7x1       ReLU, 1x7 conv, 7x1 conv, BN                ReLU, conv k7, conv k7, BN
dil_conv_3x3       ReLU, 3x3 conv dilation 2, BN               kernel 3, dilation 2
avg_pool_3x3       3x3 average pooling                         kernel 3
max_pool_3x3       3x3 max pooling                             kernel 3
max_pool_5x5       5x5 max pooling                             kernel 5
max_pool_7x7       7x7 max pooling                             kernel 7
conv_1x1           ReLU, 1x1 conv, BN                          kernel 1
conv_3x3           ReLU, 3x3 conv, BN                          kernel 3
sep_conv_3x3       (ReLU, depthwise 3x3, pointwise, BN) x 2    kernel 3
sep_conv_5x5       same with 5x5                               kernel 5
sep_conv_7x7       same with 7x7                               kernel 7
=================  ==========================================  ===========================

NAS-Bench-201 (Dong & Yang 2020) adds ``none`` (zeros), ``skip_connect`` (identity),
``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU, conv, BN) and ``avg_pool_3x3``.

References:
    Zoph, Vasudevan, Shlens, Le. Learning Transferable Architectures for Scalable Image
    Recognition. CVPR 2018.
    Dong, Yang. NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
    Search. ICLR 2020.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from autolearn.exceptions import ConfigError

__all__ = [
    "NASNET_OPS",
    "NB201_OPS",
    "OPS",
    "FactorizedReduce",
    "ReLUConvBN",
    "available_ops",
    "make_op",
    "register_op",
]

OpFactory = Callable[[int, int, int], nn.Module]

#: The 13 operations of the NASNet search space, in the paper's order.
NASNET_OPS: tuple[str, ...] = (
    "identity",
    "conv_1x3_3x1",
    "conv_1x7_7x1",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
)

#: The 5 operations of NAS-Bench-201, in its order.
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)


def conv_cls(dim: int) -> type[nn.Module]:
    return nn.Conv1d if dim == 1 else nn.Conv2d


def bn_cls(dim: int) -> type[nn.Module]:
    return nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d


def _conv(dim: int, c_in: int, c_out: int, kernel: int, *, stride: int = 1, dilation: int = 1,
          groups: int = 1, bias: bool = False) -> nn.Module:
    pad = dilation * (kernel - 1) // 2
    return conv_cls(dim)(c_in, c_out, kernel, stride=stride, padding=pad, dilation=dilation,
                         groups=groups, bias=bias)


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution (``kernel``, ``stride``, ``dilation``; "same" padding), batch norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dim: int, *,
                 dilation: int = 1) -> None:
        super().__init__(
            nn.ReLU(),
            _conv(dim, c_in, c_out, kernel, stride=stride, dilation=dilation),
            bn_cls(dim)(c_out),
        )


class SepConv(nn.Sequential):
    """Depthwise-separable convolution applied twice (NASNet, appendix A.4)."""

    def __init__(self, c: int, kernel: int, stride: int, dim: int) -> None:
        super().__init__(
            nn.ReLU(),
            _conv(dim, c, c, kernel, stride=stride, groups=c),
            _conv(dim, c, c, 1),
            bn_cls(dim)(c),
            nn.ReLU(),
            _conv(dim, c, c, kernel, groups=c),
            _conv(dim, c, c, 1),
            bn_cls(dim)(c),
        )


class FactorizedConv(nn.Sequential):
    """``1xk`` then ``kx1`` convolution in 2-D; two stacked kernel-``k`` convolutions in 1-D."""

    def __init__(self, c: int, kernel: int, stride: int, dim: int) -> None:
        p = kernel // 2
        first: nn.Module
        second: nn.Module
        if dim == 2:
            first = nn.Conv2d(c, c, (1, kernel), stride=(1, stride), padding=(0, p), bias=False)
            second = nn.Conv2d(c, c, (kernel, 1), stride=(stride, 1), padding=(p, 0), bias=False)
        else:
            first = nn.Conv1d(c, c, kernel, stride=stride, padding=p, bias=False)
            second = nn.Conv1d(c, c, kernel, padding=p, bias=False)
        super().__init__(nn.ReLU(), first, second, bn_cls(dim)(c))


class FactorizedReduce(nn.Module):
    """Halve the spatial size (rounding up) with two offset stride-2 1x1 convolutions.

    The second branch sees the input shifted by one position (zero-padded at the end), so
    the two branches together cover every position; their outputs are concatenated. Used
    for a stride-2 identity and to match ``h[i-2]`` to ``h[i-1]`` after a reduction cell.
    """

    def __init__(self, c_in: int, c_out: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        half = c_out // 2
        self.relu = nn.ReLU()
        self.conv_1 = _conv(dim, c_in, half, 1, stride=2)
        self.conv_2 = _conv(dim, c_in, c_out - half, 1, stride=2)
        self.bn = bn_cls(dim)(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1) * self.dim)[(..., *[slice(1, None)] * self.dim)]  # type: ignore[index]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    """NAS-Bench-201's ``none``: zeros of the output shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        idx = (..., *[slice(None, None, self.stride)] * (x.dim() - 2))
        return x[idx].mul(0.0)  # type: ignore[index]


def _pool(kind: str, kernel: int, stride: int, dim: int) -> nn.Module:
    if kind == "max":
        max_cls = nn.MaxPool1d if dim == 1 else nn.MaxPool2d
        return max_cls(kernel, stride=stride, padding=kernel // 2)
    avg_cls = nn.AvgPool1d if dim == 1 else nn.AvgPool2d
    return avg_cls(kernel, stride=stride, padding=kernel // 2, count_include_pad=False)


def _identity(c: int, stride: int, dim: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c, dim)


#: Name -> ``factory(channels, stride, dim)``; extend with :func:`register_op`.
OPS: dict[str, OpFactory] = {
    "identity": _identity,
    "conv_1x3_3x1": lambda c, s, d: FactorizedConv(c, 3, s, d),
    "conv_1x7_7x1": lambda c, s, d: FactorizedConv(c, 7, s, d),
    "dil_conv_3x3": lambda c, s, d: ReLUConvBN(c, c, 3, s, d, dilation=2),
    "avg_pool_3x3": lambda c, s, d: _pool("avg", 3, s, d),
    "max_pool_3x3": lambda c, s, d: _pool("max", 3, s, d),
    "max_pool_5x5": lambda c, s, d: _pool("max", 5, s, d),
    "max_pool_7x7": lambda c, s, d: _pool("max", 7, s, d),
    "conv_1x1": lambda c, s, d: ReLUConvBN(c, c, 1, s, d),
    "conv_3x3": lambda c, s, d: ReLUConvBN(c, c, 3, s, d),
    "sep_conv_3x3": lambda c, s, d: SepConv(c, 3, s, d),
    "sep_conv_5x5": lambda c, s, d: SepConv(c, 5, s, d),
    "sep_conv_7x7": lambda c, s, d: SepConv(c, 7, s, d),
    "none": lambda c, s, d: Zero(s),
    "skip_connect": _identity,
    "nor_conv_1x1": lambda c, s, d: ReLUConvBN(c, c, 1, s, d),
    "nor_conv_3x3": lambda c, s, d: ReLUConvBN(c, c, 3, s, d),
}


def available_ops() -> list[str]:
    """Names of every registered operation."""
    return sorted(OPS)


def register_op(name: str, factory: OpFactory, *, overwrite: bool = False) -> None:
    """Register ``factory(channels, stride, dim) -> nn.Module`` under ``name``.

    The module must map ``(B, channels, *spatial)`` to ``(B, channels, *out)`` with
    ``out = spatial`` when ``stride == 1`` and ``out = ceil(spatial / 2)`` when ``stride == 2``,
    for ``dim`` 1 (``(B, C, L)``) and 2 (``(B, C, H, W)``).

    Example:
        >>> from torch import nn
        >>> register_op("conv_5x5", lambda c, s, d: ReLUConvBN(c, c, 5, s, d))
        >>> make_op("conv_5x5", 8, 2, 1)(torch.zeros(2, 8, 9)).shape
        torch.Size([2, 8, 5])
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"an operation name must be a non-empty string, but got {name!r}")
    if name in OPS and not overwrite:
        raise ConfigError(f"operation {name!r} is already registered; pass overwrite=True "
                          "to replace it")
    if not callable(factory):
        raise ConfigError(f"`factory` must be callable (channels, stride, dim) -> nn.Module, "
                          f"but got {factory!r}")
    OPS[name] = factory


def check_ops(ops: tuple[str, ...], field: str) -> None:
    """Raise ConfigError if ``ops`` is empty, repeats a name, or names an unknown operation."""
    if len(ops) == 0:
        raise ConfigError(f"`{field}` must list at least one operation, but got ()")
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise ConfigError(f"`{field}` names unknown operations {unknown}; registered: "
                          f"{available_ops()} (add one with autolearn.nas.register_op)")
    if len(set(ops)) != len(ops):
        raise ConfigError(f"`{field}` must not repeat an operation, but got {list(ops)}")


def make_op(name: str, channels: int, stride: int, dim: int) -> nn.Module:
    """Instantiate the registered operation ``name`` (``channels`` in and out)."""
    if name not in OPS:
        raise ConfigError(f"unknown operation {name!r}; registered: {available_ops()}")
    return OPS[name](channels, stride, dim)
