# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import sys; sys.path.insert(0, "/tmp/N9")
from bed import *
seeds = list(range(1020, 1040))   # fresh tuning seeds for stage 2
res = []
res.append(evaluate("random", lambda s: RandomSampler(seed=s), seeds))
R = dict(normalize_advantage="running")
grid = {
 "lr0.1 run ent0.03": dict(lr=0.1, entropy_coef=0.03, **R),
 "lr0.1 run ent0.03 clip1": dict(lr=0.1, entropy_coef=0.03, clip_range=1.0, **R),
 "lr0.07 run ent0.03": dict(lr=0.07, entropy_coef=0.03, **R),
 "lr0.15 run ent0.03": dict(lr=0.15, entropy_coef=0.03, **R),
 "lr0.1 run ent0.01": dict(lr=0.1, entropy_coef=0.01, **R),
 "lr0.1 run ent0.05": dict(lr=0.1, entropy_coef=0.05, **R),
 "lr0.1 run ent0.03 bs6": dict(lr=0.1, entropy_coef=0.03, batch_size=6, **R),
 "lr0.1 run ent0.03 ep2": dict(lr=0.1, entropy_coef=0.03, ppo_epochs=2, **R),
 "lr0.1 run ent0.03 tanh2.5": dict(lr=0.1, entropy_coef=0.03, tanh_c=2.5, **R),
 "lr0.1 run ent0.03 init0.02": dict(lr=0.1, entropy_coef=0.03, init_range=0.02, **R),
 "lr0.1 run ent0.03 loo": dict(lr=0.1, entropy_coef=0.03, baseline="batch", **R),
 "lr0.1 run ent0.03 cube": dict(lr=0.1, entropy_coef=0.03, reward_transform=lambda a: a ** 3, **R),
}
for name, kw in grid.items():
    r = evaluate(name, ctrl(**kw), seeds); r["kw"] = {k: v for k, v in kw.items() if not callable(v)}; res.append(r)
    json.dump(res, open(f"/tmp/N9/stage2_{KIND}.json", "w"))
