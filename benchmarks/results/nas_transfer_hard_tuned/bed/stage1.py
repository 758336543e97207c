# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import sys; sys.path.insert(0, "/tmp/N9")
from bed import *
seeds = list(range(1000, 1020))
res = []
res.append(evaluate("random", lambda s: RandomSampler(seed=s), seeds))
grid = {
 "default": {},
 "lr0.05": dict(lr=0.05), "lr0.1": dict(lr=0.1), "lr0.2": dict(lr=0.2),
 "lr0.1 clip0.5": dict(lr=0.1, clip_range=0.5), "lr0.1 clip1": dict(lr=0.1, clip_range=1.0),
 "lr0.05 clip1": dict(lr=0.05, clip_range=1.0),
 "lr0.1 run ent0.03": dict(lr=0.1, normalize_advantage="running", entropy_coef=0.03),
 "lr0.1 run ent0.1": dict(lr=0.1, normalize_advantage="running", entropy_coef=0.1),
 "lr0.1 batchnorm ent0.03": dict(lr=0.1, normalize_advantage="batch", entropy_coef=0.03),
 "lr0.1 loo": dict(lr=0.1, baseline="batch"),
 "lr0.1 bs4": dict(lr=0.1, batch_size=4),
 "lr0.1 ep8": dict(lr=0.1, ppo_epochs=8),
 "lr0.1 ent0": dict(lr=0.1, entropy_coef=0.0),
 "lr0.1 tanh2.5": dict(lr=0.1, tanh_c=2.5),
 "lr0.1 clip1 run ent0.03 loo": dict(lr=0.1, clip_range=1.0, normalize_advantage="running", entropy_coef=0.03, baseline="batch"),
}
for name, kw in grid.items():
    r = evaluate(name, ctrl(**kw), seeds); r["kw"] = kw; res.append(r)
    json.dump(res, open(f"/tmp/N9/stage1_{KIND}.json", "w"))
