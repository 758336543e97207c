# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import json, sys
sys.path.insert(0, "/tmp/N9"); sys.path.insert(0, "/work/main")
import numpy as np
from scipy.stats import spearmanr
from feat import features, OPS
base = json.load(open("/work/main/benchmarks/results/nas_transfer_hard.json"))["raw"]
cells = [c["decisions"] for c in base["candidates"][1:]]
large = [np.mean(c["large"]) for c in base["candidates"][1:]]
runs = {}
for l in open("/work/main/benchmarks/results/nas_transfer_hard_seeds/nas_transfer_hard_live.jsonl"):
    r = json.loads(l); runs[(r["arm"], r["seed"], r["stage"])] = r
for (a, k, st), r in runs.items():
    if st == "search":
        cells.append(r["best"]); large.append(np.mean(runs[(a, k, "large")]["large"]))
F = np.array([features(c) for c in cells]); large = np.array(large)
n = len(OPS) + 6
for j, nm in enumerate(OPS):
    cnt = F[:, j] + F[:, n + j]
    print(f"{nm:14s} count vs large acc spearman {spearmanr(cnt, large)[0]:+.2f}")
pool = F[:, 6] + F[:, 7] + F[:, n + 6] + F[:, n + 7]
sep = F[:, 1] + F[:, 2] + F[:, n + 1] + F[:, n + 2]
print("pool count vs large", spearmanr(pool, large), "sep count vs large", spearmanr(sep, large))
