"""What the GP knows after ``n`` trials (BBOB f15 / f21 notes in docs/samplers_gp.md).

Runs ``GPSampler(seed)`` for ``n`` trials on each problem, fits the GP by maximum
likelihood to all ``n`` points (raw values, and the log of the regret), and prints its
lengthscales, fitted noise, the Spearman correlation of its mean with the true value on
2,048 scrambled Sobol points of the cube (all of them, and the best 10 %), and the median
distance of the last 20 proposals to the incumbent. Usage (from the repository root)::

    python -m benchmarks.samplers.gp_model_check bbob_f15_d5_i1,bbob_f21_d5_i1 0,1,2 50
"""

from __future__ import annotations

import json
import logging
import sys

import numpy as np


def check(problem: str, seed: int, n: int) -> dict[str, object]:
    from scipy.stats import qmc, spearmanr
    from threadpoolctl import threadpool_limits

    import autolearn
    from autolearn.samplers._gp import GPSampler
    from autolearn.samplers.bo._base import CubeSpace
    from autolearn.samplers.bo.gp import GaussianProcess
    from autolearn.space import UnitCubeTransform
    from benchmarks.samplers._space import suggest_all
    from benchmarks.samplers.problems import PROBLEMS

    prob = PROBLEMS[problem]
    objective, optimum = prob.load()
    study = autolearn.create_study(sampler=GPSampler(seed=seed))
    with threadpool_limits(limits=1):
        study.optimize(lambda t: objective(suggest_all(t, prob.space)), n_trials=n)
        transform = UnitCubeTransform(study.trials[0].distributions)
        X = np.stack([transform.encode(t.params) for t in study.trials])
        y = np.array([t.value for t in study.trials]) - optimum
        space = CubeSpace.build(transform)
        Z = qmc.Sobol(X.shape[1], scramble=True, seed=1).random_base2(11)
        truth = np.array([objective(transform.decode(z)) for z in Z]) - optimum
        top = truth < np.quantile(truth, 0.1)
        out: dict[str, object] = {"problem": problem, "seed": seed, "n": n,
                                  "best": float(y.min())}
        d = X.shape[1]
        for name, values in (("raw", y), ("log", np.log(y))):
            post = GaussianProcess(hyperparameters="mll").fit(X, values, space,
                                                             np.random.default_rng(0))
            mean = post.predict(Z)[0].mean(0)
            out[name] = {"spearman_cube": float(spearmanr(mean, truth)[0]),
                         "spearman_top10pct": float(spearmanr(mean[top], truth[top])[0]),
                         "lengthscales": np.round(np.exp(post.theta[0, :d]), 3).tolist(),
                         "noise_var": float(np.exp(post.theta[0, d + 1]))}
    incumbent = X[int(np.argmin(y))]
    out["last20_median_dist_to_incumbent"] = float(
        np.median(np.linalg.norm(X[-20:] - incumbent, axis=1)))
    return out


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    for p in sys.argv[1].split(","):
        for s in map(int, sys.argv[2].split(",")):
            print(json.dumps(check(p, s, int(sys.argv[3]))), flush=True)
