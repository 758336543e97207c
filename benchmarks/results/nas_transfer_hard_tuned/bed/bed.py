# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
"""Tuning bed: ControllerSampler on a surrogate of the proxy score (no training)."""
import json, sys, time, itertools, os
sys.path.insert(0, "/tmp/N9"); sys.path.insert(0, "/work/main")
import numpy as np, torch
torch.set_num_threads(1)
import logging
import autolearn
from autolearn.nas import make_space
from autolearn.samplers import ControllerSampler, RandomSampler
from benchmarks.nas_transfer import DEFAULT_OPS
from sklearn.linear_model import RidgeCV
from sklearn.ensemble import RandomForestRegressor
from feat import features, raw
logging.getLogger("autolearn").setLevel(logging.WARNING)
try:
    autolearn.logging.set_verbosity(logging.WARNING)
except Exception:
    pass
space = make_space("nasnet", num_blocks=5, ops=list(DEFAULT_OPS))
rep = json.load(open("/tmp/N9/replayed.json"))
X, y, g = [], [], []
for r in rep:
    for c, v in zip(r["cells"], r["values"]):
        if v is not None:
            X.append(features(c) + raw(c)); y.append(v); g.append(r["seed"])
X, y, g = np.array(X, float), np.array(y), np.array(g)
nf = len(features(rep[0]["cells"][0]))
yc = y.copy()
for k in range(5): yc[g == k] -= y[g == k].mean()
yc += y.mean()
NOISE = 0.061
KIND = os.environ.get("BED", "ridge")
if KIND == "ridge":
    model = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(X[:, :nf], yc)
    w, b0 = model.coef_, model.intercept_
    def surrogate(d): return float(np.dot(w, features(d)) + b0)
else:
    model = RandomForestRegressor(200, min_samples_leaf=5, max_features=0.33, random_state=0).fit(X[:, :nf], yc)
    def surrogate(d): return float(model.predict(np.array([features(d)]))[0])

def search(make_sampler, seed, n=48):
    noise = np.random.default_rng([seed, 7])
    true = []
    def obj(trial):
        d = space.suggest(trial)
        t = surrogate(d); true.append(t)
        return t + NOISE * noise.standard_normal()
    study = autolearn.create_study(direction="maximize", sampler=make_sampler(seed))
    study.optimize(obj, n_trials=n)
    vals = [t.value for t in study.trials]
    bi = int(np.argmax(vals))
    return true[bi], float(np.mean(true[-16:])), float(np.mean(true))

def ctrl(**kw):
    return lambda s: ControllerSampler(algorithm="ppo", seed=s, action_mask=space.action_mask, persist=False, **kw)

def evaluate(name, mk, seeds):
    t0 = time.process_time()
    res = np.array([search(mk, s) for s in seeds])
    out = {"name": name, "best": res[:, 0].mean(), "last16": res[:, 1].mean(), "all": res[:, 2].mean(),
           "best_se": res[:, 0].std(ddof=1) / np.sqrt(len(seeds)), "cpu": time.process_time() - t0,
           "per_seed_best": res[:, 0].tolist(), "per_seed_last16": res[:, 1].tolist()}
    print(f"{name:60s} best {out['best']:.4f}±{out['best_se']:.4f} last16 {out['last16']:.4f} all {out['all']:.4f} ({out['cpu']:.0f}s)", flush=True)
    return out
