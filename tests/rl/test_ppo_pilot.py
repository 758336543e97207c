"""The PPO recompute_advantages pilot: its arms and decision rules."""

from benchmarks.rl import ppo_pilot as pilot
from benchmarks.rl._zoo import SETTINGS, ours_config


def test_arms_differ_only_in_recompute_advantages():
    for env in pilot.PILOT_SEEDS:
        base, rec = (ours_config(pilot.arm_setting(env, a)) for a in pilot.ARMS)
        assert base.recompute_advantages is not rec.recompute_advantages
        assert rec.recompute_advantages is True and base.recompute_advantages is False
        for arm in pilot.ARMS:
            s = pilot.arm_setting(env, arm)
            assert {k: v for k, v in s.ours.items()
                    if k != "recompute_advantages"} == SETTINGS[f"ppo/{env}"].ours
            assert (s.n_envs, s.budget, s.eval_every) == (
                SETTINGS[f"ppo/{env}"].n_envs, SETTINGS[f"ppo/{env}"].budget,
                SETTINGS[f"ppo/{env}"].eval_every)


def _recs(env, arm, steps, seeds, final=-150.0):
    return [{"env": env, "arm": arm, "seed": s, "solved": x < 100_000, "budget": 100_000,
             "steps_to_solve": x if x < 100_000 else None, "cpu_to_solve": 1.0,
             "train_cpu": 2.0, "final_eval": final}
            for s, x in zip(seeds, steps, strict=True)]


def _stats(acro_base, acro_rec, cp_base, cp_rec, pe_final=(-150.0, -150.0)):
    recs = []
    for env, (b, r) in {"Acrobot-v1": (acro_base, acro_rec),
                        "CartPole-v1": (cp_base, cp_rec)}.items():
        seeds = pilot.PILOT_SEEDS[env]
        recs += _recs(env, "base", [b] * len(seeds), seeds)
        recs += _recs(env, "recompute", [r] * len(seeds), seeds)
    seeds = pilot.PILOT_SEEDS["Pendulum-v1"]
    recs += _recs("Pendulum-v1", "base", [20_000] * 5, seeds, pe_final[0])
    recs += _recs("Pendulum-v1", "recompute", [20_000] * 5, seeds, pe_final[1])
    return {env: pilot.summarise(recs, env) for env in pilot.PILOT_SEEDS}


def test_decide_needs_acrobot_gain_and_both_guards():
    ok, lines = pilot.decide(_stats(20_000, 12_000, 18_000, 18_000))
    assert ok and all(x.endswith("pass") for x in lines)
    assert not pilot.decide(_stats(20_000, 20_000, 18_000, 18_000))[0]  # no Acrobot gain
    assert not pilot.decide(_stats(20_000, 12_000, 18_000, 20_000))[0]  # CartPole worse
    # Pendulum's final return more than 10% below base's
    assert not pilot.decide(_stats(20_000, 12_000, 18_000, 18_000, (-150.0, -170.0)))[0]
    assert pilot.decide(_stats(20_000, 12_000, 18_000, 18_000, (-150.0, -160.0)))[0]


def test_unsolved_runs_count_at_the_budget_and_stage_2_reads_only_its_seeds():
    seeds = list(pilot.STAGE2_SEEDS)
    recs = (_recs("Acrobot-v1", "base", [200_000] * len(seeds), seeds)
            + _recs("Acrobot-v1", "recompute", [10_000] * len(seeds), seeds)
            + _recs("Acrobot-v1", "base", [1] * 40, pilot.PILOT_SEEDS["Acrobot-v1"]))
    s2 = pilot.summarise(recs, "Acrobot-v1", stage=2)
    assert s2["base"]["n"] == len(seeds) and s2["base"]["median_steps"] == 100_000
    stage1_lines = ["1 x: fail", "2 x: pass", "3 x: pass"]
    ok, lines = pilot.decide_stage2(s2, stage1_lines)
    assert ok and lines[-1].endswith("pass")
    assert not pilot.decide_stage2(s2, ["1 x: fail", "2 x: fail", "3 x: pass"])[0]
