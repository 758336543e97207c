# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import json, sys
sys.path.insert(0, "/tmp/N9"); sys.path.insert(0, "/work/main")
import numpy as np
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor, ExtraTreesRegressor
from sklearn.linear_model import RidgeCV
from feat import features, raw
rep = json.load(open("/tmp/N9/replayed.json"))
X, y, g = [], [], []
for r in rep:
    for c, v in zip(r["cells"], r["values"]):
        if v is None: continue
        X.append(features(c) + raw(c)); y.append(v); g.append(r["seed"])
X, y, g = np.array(X, float), np.array(y), np.array(g)
nf = len(features(rep[0]["cells"][0]))
# per-seed centering
yc = y.copy()
for k in range(5): yc[g == k] -= y[g == k].mean()
base = json.load(open("/work/main/benchmarks/results/nas_transfer_hard.json"))["raw"]
pr = np.array([c["proxy"] for c in base["candidates"]])
print("proxy seed sd (12 random + searched cell, 3 seeds):", np.sqrt(np.mean(pr.var(1, ddof=1))).round(4),
      "total sd of y", y.std().round(4))
# ceiling: corr of two proxy seeds across the 13 candidates
print("two-seed spearman of proxy among candidates:", [round(spearmanr(pr[:, a], pr[:, b])[0], 3) for a, b in ((0, 1), (0, 2), (1, 2))])
for name, cols in (("engineered", slice(0, nf)), ("raw", slice(nf, None)), ("both", slice(None))):
    for mname, mk in (("rf", lambda: RandomForestRegressor(300, min_samples_leaf=5, max_features=0.33, random_state=0, n_jobs=1)),
                      ("ridge", lambda: RidgeCV(alphas=np.logspace(-2, 3, 12)))):
        rhos = []
        for k in range(5):
            m = mk().fit(X[g != k][:, cols], yc[g != k])
            rhos.append(spearmanr(m.predict(X[g == k][:, cols]), y[g == k])[0])
        print(name, mname, "leave-one-seed-out spearman", np.round(rhos, 3), "mean", round(float(np.mean(rhos)), 3))
m = RidgeCV(alphas=np.logspace(-2, 3, 12)).fit(X[:, :nf], yc)
from feat import OPS
lab = [f"{c}:{o}" for c in ("N", "R") for o in OPS + ["in0", "in1", "inblk", "nout", "depth", "id_on_h1"]]
print("ridge coefs:", sorted(zip(np.round(m.coef_ * 100, 2), lab)))
