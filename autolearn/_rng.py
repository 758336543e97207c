"""Seed handling: every stochastic component takes ``seed: int | Generator | None``."""

from __future__ import annotations

import numpy as np

__all__ = ["SeedLike", "as_generator", "derive_seed", "spawn"]

SeedLike = int | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a Generator for ``seed`` (an int, an existing Generator, or None for entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (not isinstance(seed, int | np.integer) or isinstance(seed, bool)):
        from autolearn.exceptions import ConfigError

        raise ConfigError(f"`seed` must be an int, a numpy Generator or None, but got {seed!r}")
    if seed is not None and seed < 0:
        from autolearn.exceptions import ConfigError

        raise ConfigError(f"`seed` must be >= 0 (numpy seeds are non-negative), but got {seed}")
    return np.random.default_rng(seed)


def derive_seed(*keys: int) -> int:
    """A 63-bit seed derived deterministically from non-negative integer ``keys``.

    Used for per-trial seeds: ``derive_seed(study_seed, trial_number)`` gives the same
    stream whichever worker process runs the trial.
    """
    ss = np.random.SeedSequence([int(k) & 0xFFFFFFFFFFFFFFFF for k in keys])
    return int(ss.generate_state(1, dtype=np.uint64)[0]) >> 1


def spawn(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """``n`` independent child generators, e.g. one per worker process."""
    return list(as_generator(seed).spawn(n))
