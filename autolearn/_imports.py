"""Lazy imports of optional dependencies with an install hint on failure."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["optional_import"]

_EXTRA_FOR = {
    "torch": "torch",
    "gymnasium": "torch",
    "mnist1d": "nas",
    "psycopg": "postgres",
    "dask": "dask",
    "ray": "ray",
    "matplotlib": "viz",
    "pandas": "viz",
}


def optional_import(name: str) -> ModuleType:
    """Import ``name`` or raise ImportError that says which extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        root = name.split(".")[0]
        extra = _EXTRA_FOR.get(root)
        hint = f"pip install 'autolearn[{extra}]'" if extra else f"pip install {root}"
        raise ImportError(
            f"{name} is needed for this feature but is not installed: {hint}"
        ) from exc
