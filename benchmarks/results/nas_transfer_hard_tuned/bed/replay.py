# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
"""Replay the recorded searches (no training): same samplers, recorded values as objective."""
import json, sys
sys.path.insert(0, "/work/main")
import numpy as np, torch
torch.set_num_threads(1)
import autolearn
from autolearn.nas import make_space
from benchmarks.nas_transfer import DEFAULT_OPS
from autolearn.samplers import ControllerSampler, RandomSampler
autolearn.logging.set_verbosity(autolearn.logging.WARNING) if hasattr(autolearn, "logging") else None
space = make_space("nasnet", num_blocks=5, ops=list(DEFAULT_OPS))
runs = {}
for l in open("/work/main/benchmarks/results/nas_transfer_hard_seeds/nas_transfer_hard_live.jsonl"):
    r = json.loads(l)
    runs[(r["arm"], r["seed"], r["stage"])] = r
out = []
for (arm, k, st), r in sorted(runs.items()):
    if st != "search":
        continue
    vals = r["values"]
    it = iter(vals)
    cells = []
    def obj(trial):
        d = space.suggest(trial)
        cells.append(d)
        v = next(it)
        return float("nan") if v is None else v
    if arm == "random":
        s = RandomSampler(seed=k)
    else:
        s = ControllerSampler(algorithm="ppo", batch_size=8, seed=k, action_mask=space.action_mask)
    study = autolearn.create_study(direction="maximize", sampler=s)
    study.optimize(obj, n_trials=len(vals))
    bi = int(np.nanargmax([np.nan if v is None else v for v in vals]))
    ok = cells[bi] == r["best"]
    print(arm, k, "best matches:", ok, "distinct", len({json.dumps(c, sort_keys=True) for c in cells}), flush=True)
    hist = getattr(s, "history", None)
    out.append({"arm": arm, "seed": k, "values": vals, "cells": cells, "best_ok": ok,
                "history": hist})
json.dump(out, open("/tmp/N9/replayed.json", "w"))
