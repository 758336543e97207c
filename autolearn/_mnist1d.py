"""mnist1d's sequence transformation, shared by the meta-learning tasks and NAS data.

Generated locally with a local generator: nothing is downloaded and NumPy's global RNG is
left alone (``mnist1d.data.make_dataset`` seeds it).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mnist1d_transform"]


def mnist1d_transform(templates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """mnist1d's ``transform`` vectorised over rows with a local generator.

    Same steps and default constants as ``mnist1d.transform.transform``: pad with 36-60
    zeros, dilate to 72 points, scale by 1 +- 0.2, translate by up to 48, correlated
    noise where the signal is zero, i.i.d. noise, shear, subsample to 40 points.
    """
    from scipy.ndimage import gaussian_filter1d

    n, length = templates.shape
    pad_lo, pad_hi, mid, final = 36, 60, 72, 40
    padded = np.zeros((n, length + pad_hi))
    padded[:, :length] = templates + 1e-8
    p = pad_lo + (np.asarray(rng.random(size=n)) * (pad_hi - pad_lo + 1)).astype(int)
    pos = np.linspace(0.0, 1.0, mid)[None, :] * (length + p - 1)[:, None]
    lo = np.minimum(np.floor(pos).astype(int), length + p[:, None] - 2)
    frac = pos - lo
    rows = np.arange(n)[:, None]
    x = padded[rows, lo] * (1 - frac) + padded[rows, lo + 1] * frac
    x *= 1 + 0.4 * (rng.random((n, 1)) - 0.5)
    k = np.asarray(rng.integers(0, 48, size=n))
    x = x[rows, (np.arange(mid)[None, :] - k[:, None]) % mid]
    corr = gaussian_filter1d(0.25 * rng.standard_normal(x.shape), 2, axis=-1)
    x = np.where(x != 0, x, corr) + 2e-2 * rng.standard_normal(x.shape)
    x = x - (0.75 * (rng.random((n, 1)) - 0.5)) * np.linspace(-0.5, 0.5, mid)[None, :]
    sub = np.linspace(0.0, mid - 1, final)
    lo2 = np.minimum(np.floor(sub).astype(int), mid - 2)
    return x[:, lo2] * (1 - (sub - lo2)) + x[:, lo2 + 1] * (sub - lo2)
