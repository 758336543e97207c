"""Hartmann-6 stall diagnosis: is it the GP (model) or the acquisition maximiser?

Runs ``GPSampler(seed, restarts=False)`` for ``n`` trials on Hartmann-6, refits the GP as
the sampler would for the next trial, and compares the maximiser's proposal with the best
of a dense scrambled Sobol set (2^16 points); prints the posterior at the global and the
second minimiser, and the same for Optuna's GP fitted to the same points (when Optuna is
installed; private API, Optuna 5.1). Usage (from the repository root)::

    python -m benchmarks.samplers.gp_stall SEED N
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

#: Hartmann-6's global minimiser and the minimiser of its second basin (value -3.203).
X_GLOBAL = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
X_SECOND = np.array([0.4047, 0.8824, 0.8461, 0.5740, 0.1389, 0.0385])


def main(seed: int, n: int) -> None:
    from scipy.stats import qmc

    import autolearn
    from autolearn._rng import derive_seed
    from autolearn.samplers._gp import GPSampler
    from autolearn.samplers.bo._base import CubeSpace
    from autolearn.samplers.bo.acquisition import log_ei
    from autolearn.samplers.bo.gp import GPPosterior
    from autolearn.space import UnitCubeTransform
    from benchmarks.samplers._space import suggest_all
    from benchmarks.samplers.problems import PROBLEMS

    objective, opt = PROBLEMS["hartmann6"].load()
    assert opt is not None  # Hartmann-6's minimum is known
    space = PROBLEMS["hartmann6"].space

    def f(x: np.ndarray) -> float:
        return float(objective({f"x{i}": x[i] for i in range(6)}))

    # The main search alone: the restarts (on by default since 2026-12-07) exist because of
    # what this script shows.
    sampler = GPSampler(seed=seed, restarts=False)
    study = autolearn.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda t: objective(suggest_all(t, space)), n_trials=n)
    X = np.array([[t.params[f"x{i}"] for i in range(6)] for t in study.trials])
    y = np.array([t.value for t in study.trials])
    best = float(y.min())
    print(f"seed {seed}, {n} trials: regret {best - opt:.3g} at {X[y.argmin()].round(3)}")
    rng = np.random.default_rng(derive_seed(sampler._seed, n))
    cube = CubeSpace.build(UnitCubeTransform(study.trials[0].distributions))
    post = sampler.surrogate.fit(X, y, cube, rng)
    assert isinstance(post, GPPosterior)
    print("lengthscales", post.lengthscales.round(3), f"amplitude {post.amplitude[0]:.3g}",
          f"mean {post.mean[0]:.3g} (standardised)")
    dense = qmc.Sobol(6, seed=1).random_base2(16)
    dist = np.linalg.norm(X - X_GLOBAL, axis=1)
    print(f"closest trial to the global minimiser: {dist.min():.2f} away")

    def report(name: str, predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
               proposal: np.ndarray | None = None) -> None:
        def score(Z: np.ndarray) -> np.ndarray:
            return log_ei(*predict(Z), best)

        le = np.concatenate([score(dense[i:i + 8192]) for i in range(0, len(dense), 8192)])
        top = np.argsort(-le)[:20]
        on_face = np.mean(np.any((dense[top] < 0.05) | (dense[top] > 0.95), axis=1))
        print(f"{name}: dense max log-EI {le.max():.2f} at {dense[le.argmax()].round(3)}; "
              f"top-20 on a face: {on_face:.0%}")
        if proposal is not None:
            print(f"  maximiser's proposal {proposal.round(3)}: log-EI "
                  f"{score(proposal[None])[0]:.2f}, regret {f(proposal) - opt:.3g}")
        for label, x in (("global minimiser", X_GLOBAL), ("second minimiser", X_SECOND)):
            m, v = predict(x[None])
            print(f"  {label}: mean {m[0, 0]:.3f} sd {np.sqrt(v[0, 0]):.3f} "
                  f"(true {f(x):.3f}), log-EI {score(x[None])[0]:.2f}")

    def ours(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return post.predict(Z)

    proposal = sampler.maximizer(lambda Z: log_ei(*post.predict(Z), best), cube,
                                 X[np.argsort(y, kind="stable")], rng)
    report("ours", ours, proposal)
    try:
        import torch
        from optuna._gp import gp as ogp
        from optuna._gp import prior as oprior
    except ImportError:
        return
    Y = -(y - y.mean()) / y.std()
    gpr = ogp.fit_kernel_params(X, Y, np.zeros(6, bool), oprior.default_log_prior, 1e-6, True)

    def optuna(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            m, v = gpr.posterior(torch.from_numpy(Z))
        return (y.mean() - m.numpy() * y.std())[None], (v.numpy() * y.std() ** 2)[None]

    report("Optuna's GP on the same points", optuna)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
