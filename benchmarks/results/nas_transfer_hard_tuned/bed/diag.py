# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import json, sys, math
sys.path.insert(0, "/tmp/N9"); sys.path.insert(0, "/work/main")
import numpy as np
from scipy.stats import spearmanr
from feat import features, raw
rep = json.load(open("/tmp/N9/replayed.json"))
print("arm seed  mean  first16 last16  max   sd   entropy-by-update")
for r in rep:
    v = np.array([np.nan if x is None else x for x in r["values"]])
    h = r["history"] or []
    print(r["arm"], r["seed"], f"{np.nanmean(v):.3f} {np.nanmean(v[:16]):.3f} {np.nanmean(v[-16:]):.3f} {np.nanmax(v):.3f} {np.nanstd(v):.3f}",
          " ".join(f"{x['entropy']:.2f}" for x in h), "nan:", int(np.isnan(v).sum()))
for arm in ("ppo", "random"):
    V = np.array([[np.nan if x is None else x for x in r["values"]] for r in rep if r["arm"] == arm])
    print(arm, "mean over seeds: all %.4f first16 %.4f last16 %.4f best %.4f" % (np.nanmean(V), np.nanmean(V[:, :16]), np.nanmean(V[:, -16:]), np.nanmean(np.nanmax(V, 1))))
# per seed means paired
for k in range(5):
    a = [r for r in rep if r["seed"] == k]
    print("seed", k, {r["arm"]: round(float(np.nanmean([np.nan if x is None else x for x in r["values"]])), 4) for r in a})
