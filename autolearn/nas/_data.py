"""Datasets for child networks: a train/validation split as tensors, standardised with
training statistics.

Built in: scikit-learn's 8x8 ``"digits"`` (as ``(1, 8, 8)`` images or flat ``(64,)``),
``"mnist1d"`` (Greydanus 2020; ``(1, 40)`` signals generated locally, any size) and the
tabular sets ``"iris"``, ``"wine"`` and ``"breast_cancer"``. Nothing is downloaded.
Your own arrays go through :meth:`Dataset.from_arrays`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from autolearn.exceptions import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["DATASETS", "Dataset", "load_data"]

#: Built-in dataset names -> (default n_train, default n_val, layouts).
DATASETS: dict[str, tuple[int | None, int | None, tuple[str, ...]]] = {
    "digits": (None, 360, ("image", "flat")),
    "mnist1d": (4000, 1000, ("signal", "flat")),
    "iris": (None, 30, ("flat",)),
    "wine": (None, 36, ("flat",)),
    "breast_cancer": (None, 114, ("flat",)),
}

_SKLEARN = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer"}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset split into training and validation parts.

    Attributes:
        name: Dataset name (``"custom"`` for user arrays unless named).
        X_train: ``(n_train, *input_shape)`` float32 tensor.
        y_train: ``(n_train,)`` int64 class labels in ``0..num_classes-1``.
        X_val: ``(n_val, *input_shape)`` float32 tensor.
        y_val: ``(n_val,)`` int64 labels.
        input_shape: One example's shape without the batch dimension: ``(D,)`` tabular,
            ``(C, L)`` 1-D signals, ``(C, H, W)`` images.
        num_classes: Number of classes.
        spec: How to load it again (the :func:`load_data` arguments; empty for user
            arrays); searches store it so that resuming and retraining can check it.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> data = Dataset.from_arrays(X, (X[:, 0] > 0).astype(int), seed=0)
        >>> data.input_shape, data.num_classes, len(data.y_train), len(data.y_val)
        ((3,), 2, 40, 10)
    """

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    input_shape: tuple[int, ...]
    num_classes: int
    spec: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for part in ("train", "val"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if tuple(X.shape[1:]) != tuple(self.input_shape):
                raise ConfigError(f"`X_{part}` must have shape (n, *input_shape) = (n, "
                                  f"{', '.join(map(str, self.input_shape))}), but got "
                                  f"{tuple(X.shape)}")
            if y.ndim != 1 or len(y) != len(X):
                raise ConfigError(f"`y_{part}` must be 1-D with one label per row of "
                                  f"`X_{part}`, but got shape {tuple(y.shape)} for "
                                  f"{len(X)} rows")
        if len(self.X_train) == 0 or len(self.X_val) == 0:
            raise ConfigError(f"both parts need examples, but got n_train="
                              f"{len(self.X_train)}, n_val={len(self.X_val)}")

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_val(self) -> int:
        return len(self.y_val)

    def config(self) -> dict[str, Any]:
        """A JSON-able description (name, shapes, sizes, load arguments)."""
        return {"name": self.name, "input_shape": list(self.input_shape),
                "num_classes": self.num_classes, "n_train": self.n_train,
                "n_val": self.n_val, "spec": dict(self.spec)}

    @classmethod
    def from_arrays(
        cls,
        X_train: Any,
        y_train: Any,
        X_val: Any = None,
        y_val: Any = None,
        *,
        name: str = "custom",
        val_fraction: float = 0.2,
        standardize: bool | str = True,
        seed: int = 0,
    ) -> Dataset:
        """A dataset from your own arrays (numpy, lists or tensors).

        Args:
            X_train: ``(n, *input_shape)`` features.
            y_train: ``(n,)`` integer labels (any integers: they are mapped to
                ``0..num_classes-1`` in sorted order).
            X_val, y_val: A validation part; if omitted, ``val_fraction`` of the
                training rows are held out (stratified, shuffled with ``seed``).
            name: Name stored with searches.
            val_fraction: Share held out when no validation part is given.
            standardize: True: per-feature mean/sd from the training part for flat
                ``(D,)`` inputs, per-channel for ``(C, ...)`` inputs; ``"feature"`` or
                ``"channel"`` to choose; False: leave the values as they are.
            seed: Seed of the hold-out split.
        """
        X = np.asarray(_numpy(X_train), dtype=np.float32)
        y = np.asarray(_numpy(y_train))
        if X.ndim < 2:
            raise ConfigError(f"`X_train` must be (n, *input_shape), but got shape {X.shape}")
        if X_val is None and y_val is None:
            if not 0.0 < val_fraction < 1.0:
                raise ConfigError(f"`val_fraction` must lie in (0, 1), but got "
                                  f"val_fraction={val_fraction!r}")
            tr, va = _stratified_split(y, round(len(y) * val_fraction), seed)
            Xv, yv = X[va], y[va]
            X, y = X[tr], y[tr]
        elif X_val is None or y_val is None:
            raise ConfigError("give both `X_val` and `y_val`, or neither")
        else:
            Xv = np.asarray(_numpy(X_val), dtype=np.float32)
            yv = np.asarray(_numpy(y_val))
        classes = np.unique(y)
        unseen = np.setdiff1d(np.unique(yv), classes)
        if len(unseen):
            raise ConfigError(f"validation labels {unseen.tolist()} never occur in the "
                              "training part")
        y, yv = np.searchsorted(classes, y), np.searchsorted(classes, yv)
        X, Xv = _standardize(X, Xv, standardize)
        return _make(name, X, y, Xv, yv, int(len(classes)), {})


def _numpy(a: Any) -> Any:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else a


def _make(name: str, X: np.ndarray, y: np.ndarray, Xv: np.ndarray, yv: np.ndarray,
          num_classes: int, spec: dict[str, Any]) -> Dataset:
    import torch

    return Dataset(name, torch.as_tensor(X, dtype=torch.float32),
                   torch.as_tensor(y, dtype=torch.int64),
                   torch.as_tensor(Xv, dtype=torch.float32),
                   torch.as_tensor(yv, dtype=torch.int64),
                   tuple(int(s) for s in X.shape[1:]), num_classes, spec)


def _standardize(X: np.ndarray, Xv: np.ndarray, how: bool | str) -> tuple[np.ndarray, ...]:
    """Standardise both parts with the training part's statistics."""
    if how is False:
        return X, Xv
    if how is True:
        how = "feature" if X.ndim == 2 else "channel"
    if how not in ("feature", "channel"):
        raise ConfigError(f"`standardize` must be True, False, 'feature' or 'channel', but "
                          f"got standardize={how!r}")
    # "channel": one mean/sd per channel over examples and positions, which keeps the
    # spatial structure convolutions rely on; "feature": one per input position.
    axes = (0,) if how == "feature" else (0, *range(2, X.ndim))
    mu = X.mean(axis=axes, keepdims=True)
    sd = X.std(axis=axes, keepdims=True) + 1e-6
    return ((X - mu) / sd).astype(np.float32), ((Xv - mu) / sd).astype(np.float32)


def _stratified_split(y: np.ndarray, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices; each class held out in proportion."""
    rng = np.random.default_rng(seed)
    n = len(y)
    if not 0 < n_val < n:
        raise ConfigError(f"`n_val` must lie in 1..{n - 1} for {n} examples, but got "
                          f"n_val={n_val}")
    val: list[int] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        val += idx[: round(len(idx) * n_val / n)].tolist()
    val_idx = np.array(sorted(val), dtype=np.int64)
    train_idx = rng.permutation(np.setdiff1d(np.arange(n), val_idx))
    return train_idx, val_idx


def _mnist1d(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` mnist1d sequences ``(n, 40)``: the package's ten digit templates through its
    transformation (scale, translation, correlated and i.i.d. noise, shear), drawn with a
    local generator (``mnist1d.data.make_dataset`` seeds NumPy's global one)."""
    from autolearn._imports import optional_import
    from autolearn._mnist1d import mnist1d_transform

    templates = optional_import("mnist1d.data").get_templates()
    y = rng.permutation(np.arange(n) % len(templates["y"]))
    X = mnist1d_transform(np.asarray(templates["x"], dtype=np.float64)[y], rng)
    return X.astype(np.float32), y.astype(np.int64)


def _positive(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or value < 1):
        raise ConfigError(f"`{name}` must be a positive int or None, but got {name}={value!r}")


def load_data(name: str, *, seed: int = 0, n_train: int | None = None,
              n_val: int | None = None, layout: str = "auto") -> Dataset:
    """Load a built-in dataset, split it and standardise it with training statistics.

    Args:
        name: ``"digits"``, ``"mnist1d"``, ``"iris"``, ``"wine"`` or ``"breast_cancer"``.
        seed: Seed of the split (and of mnist1d's generation): the same seed gives the
            same tensors.
        n_train: Training examples (default: all that remain after the validation part;
            mnist1d: 4,000). mnist1d generates as many as asked; the bundled sets are
            subsampled.
        n_val: Validation examples (defaults: digits 360, mnist1d 1,000, iris 30, wine
            36, breast_cancer 114 — about 20 %).
        layout: ``"auto"`` (images ``(1, 8, 8)`` for digits, signals ``(1, 40)`` for
            mnist1d, flat for the tabular sets), ``"image"``, ``"signal"`` or ``"flat"``.

    Images and signals are standardised per channel (one mean and sd, so convolutions
    see the original shape), flat inputs per feature.

    Example:
        >>> data = load_data("mnist1d", n_train=200, n_val=100)
        >>> data.input_shape, data.num_classes, tuple(data.X_train.shape)
        ((1, 40), 10, (200, 1, 40))
    """
    if name not in DATASETS:
        raise ConfigError(f"`name` must be one of {sorted(DATASETS)} (or use "
                          f"Dataset.from_arrays for your own data), but got name={name!r}")
    _positive("n_train", n_train)
    _positive("n_val", n_val)
    default_train, default_val, layouts = DATASETS[name]
    if layout == "auto":
        layout = layouts[0]
    if layout not in layouts:
        raise ConfigError(f"`layout` for {name!r} must be 'auto' or one of {list(layouts)}, "
                          f"but got layout={layout!r}")
    n_val = int(default_val or 0) if n_val is None else n_val
    rng = np.random.default_rng(seed)
    if name == "mnist1d":
        n_train = int(default_train or 0) if n_train is None else n_train
        X, y = _mnist1d(n_train + n_val, rng)
        tr, va = np.arange(n_train), np.arange(n_train, n_train + n_val)
    else:
        import sklearn.datasets

        if name == "digits":
            X, y = sklearn.datasets.load_digits(return_X_y=True)
            X = X / 16.0
        else:
            X, y = getattr(sklearn.datasets, _SKLEARN[name])(return_X_y=True)
        tr, va = _stratified_split(y, n_val, seed)
        if n_train is not None:
            if n_train > len(tr):
                raise ConfigError(f"`n_train` for {name!r} must be at most {len(tr)} with "
                                  f"n_val={n_val}, but got n_train={n_train}")
            tr = tr[:n_train]
    X = np.asarray(X, dtype=np.float32)
    if layout == "image":
        X = X.reshape(len(X), 1, 8, 8)
    elif layout == "signal":
        X = X.reshape(len(X), 1, -1)
    Xtr, Xva = _standardize(X[tr], X[va], True)
    spec = {"name": name, "seed": seed, "n_train": n_train, "n_val": n_val, "layout": layout}
    return _make(name, Xtr, np.asarray(y)[tr], Xva, np.asarray(y)[va],
                 int(len(np.unique(y))), spec)
