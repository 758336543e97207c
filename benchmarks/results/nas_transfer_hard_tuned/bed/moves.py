# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import json, sys, math
sys.path.insert(0, "/tmp/N9"); sys.path.insert(0, "/work/main")
import numpy as np, torch
torch.set_num_threads(1)
import autolearn
from autolearn.nas import make_space
from autolearn.samplers import ControllerSampler
from benchmarks.nas_transfer import DEFAULT_OPS
from scipy.stats import spearmanr
space = make_space("nasnet", num_blocks=5, ops=list(DEFAULT_OPS))
ss = space.search_space()
rep = {(r["arm"], r["seed"]): r for r in json.load(open("/tmp/N9/replayed.json"))}
logu = -sum(math.log(len(d.choices)) for d in ss.values())
dists = dict(ss.items())
print("log uniform prob of a cell", round(logu, 3))
for k in range(5):
    r, rr = rep[("ppo", k)], rep[("random", k)]
    it = iter(r["values"])
    def obj(trial):
        space.suggest(trial); return next(it)
    s = ControllerSampler(algorithm="ppo", batch_size=8, seed=k, action_mask=space.action_mask)
    study = autolearn.create_study(direction="maximize", sampler=s)
    held = [c for c in rr["cells"]]; hv = np.array(rr["values"])
    def lp(cells): return np.array([math.log(s.probability(c, dists)) for c in cells])
    line = []
    lp0 = None
    for u in range(6):
        study.optimize(obj, n_trials=8)
        if u == 0:
            lp0 = lp(held)
            # KL(initial policy || uniform) estimated on the 8 cells drawn from the initial policy
            kl = np.mean(lp(r["cells"][:8])) - logu
        s._learn(study)
        d = lp(held) - lp0
        line.append(f"{spearmanr(d, hv)[0]:+.2f}/{d.std():.2f}")
    top = hv >= np.quantile(hv, 0.75)
    print(f"seed {k}: KL(init||uniform)~{kl:.3f} nats; after updates 1..6, spearman(dlogp, proxy) on the 48 random-arm cells / sd dlogp:", " ".join(line),
          f"| final dlogp top-quartile {d[top].mean():+.3f} vs rest {d[~top].mean():+.3f}")
