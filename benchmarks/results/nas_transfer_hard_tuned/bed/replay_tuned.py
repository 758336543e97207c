# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
"""Replay the confirmation's tuned PPO searches (recorded proxy scores as the objective): the
policy's entropy by update and the ops of the cells it wrote, against the random arm."""
import json, sys
sys.path.insert(0, "/tmp/N9"); sys.path.insert(0, "/work/main")
import numpy as np, torch
torch.set_num_threads(1)
import autolearn
from autolearn.nas import make_space
from autolearn.samplers import ControllerSampler, RandomSampler
from benchmarks.nas_transfer import DEFAULT_OPS
from benchmarks.nas_transfer_hard import TUNED_CONTROLLER
from feat import features, OPS
space = make_space("nasnet", num_blocks=5, ops=list(DEFAULT_OPS))
runs = {}
for l in open("/work/main/benchmarks/results/nas_transfer_hard_tuned/nas_transfer_hard_live.jsonl"):
    r = json.loads(l); runs[(r["arm"], r["seed"], r["stage"])] = r
n = len(OPS) + 6
for (arm, k, st), r in sorted(runs.items()):
    if st != "search":
        continue
    it = iter(r["values"]); cells = []
    def obj(trial):
        d = space.suggest(trial); cells.append(d); v = next(it)
        return float("nan") if v is None else v
    s = (ControllerSampler(**TUNED_CONTROLLER, seed=k, action_mask=space.action_mask)
         if arm == "ppo" else RandomSampler(seed=k))
    study = autolearn.create_study(direction="maximize", sampler=s)
    study.optimize(obj, n_trials=len(r["values"]))
    vals = np.array([np.nan if v is None else v for v in r["values"]])
    ok = cells[int(np.nanargmax(vals))] == r["best"]
    F = np.array([features(c) for c in cells[-16:]])
    pool = (F[:, 6] + F[:, 7] + F[:, n + 6] + F[:, n + 7]).mean()
    sep = (F[:, 1] + F[:, 2] + F[:, n + 1] + F[:, n + 2]).mean()
    distinct = len({json.dumps(c, sort_keys=True) for c in cells})
    ent = " ".join(f"{h['entropy']:.1f}" for h in getattr(s, "history", []))
    print(f"{arm:6s} seed {k}: best matches {ok}, distinct {distinct}, last16 pool ops {pool:.1f} "
          f"sep-conv ops {sep:.1f} (of 20), proxy first/last16 {np.nanmean(vals[:16]):.3f}/"
          f"{np.nanmean(vals[-16:]):.3f}; entropy by update {ent}")
