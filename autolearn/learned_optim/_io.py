"""Saving and loading LSTM-optimizer weights; the weights shipped with autolearn."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from autolearn._files import atomic_write
from autolearn.exceptions import ConfigError
from autolearn.learned_optim._lstm import LSTMOptimizerConfig, LSTMOptimizerNet

__all__ = ["SHIPPED_WEIGHTS", "load_weights", "save_weights", "weights_metadata"]

#: Weights shipped in ``autolearn/learned_optim/weights/`` (built by
#: ``scripts/train_learned_optimizers.py``, meta-training seed 0).
SHIPPED_WEIGHTS: dict[str, str] = {
    "quadratic": "quadratic.pt",  # 10-d quadratics, batches of 128, 100 steps
    "mlp": "mlp.pt",  # digits MLP 64-20-10 sigmoid, batch 128, 100 steps
}

_FORMAT = 1


def save_weights(net: LSTMOptimizerNet, path: str | os.PathLike[str], *,
                 metadata: dict[str, Any] | None = None) -> Path:
    """Write ``net``'s configuration and weights (float32) to ``path``.

    Args:
        net: The optimizer network.
        path: Target file (conventionally ``.pt``).
        metadata: JSON-like facts to keep beside the weights (problem, seed, budget...).

    Returns:
        The path written.
    """
    path = Path(path)
    payload = {
        "format": _FORMAT,
        "config": net.config.to_dict(),
        "state_dict": {k: v.detach().to("cpu", torch.float32).clone()
                       for k, v in net.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda fh: torch.save(payload, fh))


def _resolve(source: str | os.PathLike[str]) -> Path | Any:
    if isinstance(source, str) and source in SHIPPED_WEIGHTS:
        return resources.files("autolearn.learned_optim") / "weights" / SHIPPED_WEIGHTS[source]
    path = Path(source)
    if not path.exists():
        raise ConfigError(
            f"`weights` must be a file or one of the shipped names {sorted(SHIPPED_WEIGHTS)}, "
            f"but got {str(source)!r} (no such file)")
    return path


def _payload(source: str | os.PathLike[str]) -> dict[str, Any]:
    with _resolve(source).open("rb") as fh:
        try:
            payload = torch.load(fh, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
            raise ConfigError(f"`weights` {str(source)!r} is not an autolearn LSTM-optimizer "
                              f"file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ConfigError(f"`weights` {str(source)!r} is not an autolearn LSTM-optimizer file")
    return payload


def load_weights(source: str | os.PathLike[str]) -> LSTMOptimizerNet:
    """An :class:`LSTMOptimizerNet` from a file written by :func:`save_weights`.

    Args:
        source: A path, or a shipped name: ``"quadratic"`` or ``"mlp"``.

    Example:
        >>> net = load_weights("quadratic")
        >>> net.config.hidden_size
        20
    """
    payload = _payload(source)
    net = LSTMOptimizerNet(LSTMOptimizerConfig(**payload["config"]))
    net.load_state_dict(payload["state_dict"])
    return net.eval()


def weights_metadata(source: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata`` stored with a weights file (how and on what it was trained)."""
    return dict(_payload(source)["metadata"])
