# ruff: noqa
# Scratch script of helper N9 (session 9), copied as it was run from /tmp/N9 (its working dir).
import json, sys
sys.path.insert(0, "/work/main")
import numpy as np
from benchmarks.nas_transfer import DEFAULT_OPS
OPS = list(DEFAULT_OPS)
B = 5
NAMES = [f"{c}_b{b}_{k}" for c in ("normal", "reduce") for b in range(B)
         for k in ("input_1", "input_2", "op_1", "op_2")]

def features(d):
    f = []
    for c in ("normal", "reduce"):
        used = set()
        depth = [0] * (B + 2)
        opc = np.zeros(len(OPS)); conv_depth = 0
        inc = np.zeros(3)
        for b in range(B):
            for s in (1, 2):
                i = int(d[f"{c}_b{b}_input_{s}"]); op = d[f"{c}_b{b}_op_{s}"]
                opc[OPS.index(op)] += 1
                inc[min(i, 2)] += 1
                if i >= 2: used.add(i - 2)
            i1, i2 = int(d[f"{c}_b{b}_input_1"]), int(d[f"{c}_b{b}_input_2"])
            depth[b + 2] = 1 + max(depth[i1], depth[i2])
        outs = [b for b in range(B) if b not in used]
        f += list(opc) + list(inc) + [len(outs), max(depth[b + 2] for b in outs)]
        # ops on the path from h[i-1] directly (input 1) that are parametric
        f.append(sum(1 for b in range(B) for s in (1, 2) if int(d[f"{c}_b{b}_input_{s}"]) == 1
                     and d[f"{c}_b{b}_op_{s}"] in ("identity",)))
    return f

def raw(d):
    return [int(d[n]) if "input" in n else OPS.index(d[n]) for n in NAMES]
