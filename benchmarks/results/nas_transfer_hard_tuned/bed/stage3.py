# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import sys; sys.path.insert(0, "/tmp/N9")
from bed import *
seeds = list(range(1040, 1070))
res = [evaluate("random", lambda s: RandomSampler(seed=s), seeds)]
R = dict(normalize_advantage="running")
grid = {
 "A lr0.1 run ent0.01 clip1": dict(lr=0.1, entropy_coef=0.01, clip_range=1.0, **R),
 "B lr0.1 run ent0.03 clip1": dict(lr=0.1, entropy_coef=0.03, clip_range=1.0, **R),
 "C lr0.1 run ent0.01": dict(lr=0.1, entropy_coef=0.01, **R),
 "D lr0.1 clip1": dict(lr=0.1, clip_range=1.0),
 "default": {},
}
for name, kw in grid.items():
    r = evaluate(name, ctrl(**kw), seeds); r["kw"] = kw; res.append(r)
    json.dump(res, open(f"/tmp/N9/stage3_{KIND}.json", "w"))
