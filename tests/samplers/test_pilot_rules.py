"""The pilot tool behind the default sampler's rule (benchmarks/samplers/pilot.py)."""

import json

from benchmarks.samplers.pilot import rules, shape


def test_shape_counts_types_and_encoded_dimensions():
    assert shape("hpolib_naval_propulsion") == (0, 6, 3, 12)
    assert shape("nasbench201_cifar10") == (0, 0, 6, 30)
    assert shape("sgd_digits") == (4, 1, 3, 17)


def test_rules_rank_every_assignment_of_shapes(tmp_path, capsys):
    path = tmp_path / "runs.jsonl"
    # GP-BO better on the HPOLib shape, TPE better on the HPOBench-MLP one
    runs = []
    for seed in range(3):
        for problem, gp, tpe in (("hpolib_naval_propulsion", 1.0, 2.0),
                                 ("hpobench_mlp_car", 3.0, 1.0)):
            for config, v in (("gp", gp), ("tpe", tpe)):
                runs.append({"config": config, "problem": problem, "seed": seed,
                             "optimum": 0.0, "values": [v] * 100})
    path.write_text("".join(json.dumps(r) + "\n" for r in runs))
    rules(path)
    out = capsys.readouterr().out.splitlines()
    best = [line for line in out if line[:1].isdigit()][0]
    assert "meets" in best
    assert "(0, 6, 3, 12): 'gp'" in best and "(0, 5, 0, 5): 'tpe'" in best
