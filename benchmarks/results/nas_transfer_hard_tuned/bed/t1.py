# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import sys; sys.path.insert(0, "/tmp/N9")
from bed import *
seeds = list(range(1000, 1004))
evaluate("random", lambda s: RandomSampler(seed=s), seeds)
evaluate("default ppo", ctrl(batch_size=8), seeds)
