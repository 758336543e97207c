"""Hyperparameter search for RL agents with autolearn's own studies, samplers and pruners.

What the RL Zoo does with Optuna (``train.py --optimize``), in one call or one command
(``autolearn rl tune``): each trial samples an algorithm's hyperparameters
(:data:`SEARCH_SPACES`, or your own function), trains an agent for ``n_timesteps``,
evaluates it ``n_evaluations`` times on the way (deterministic episodes, reported to the
trial, so a pruner stops bad trials early) and returns the mean return of the last
evaluation. The study is an ordinary autolearn study: any storage (resume a search, run
several ``autolearn worker`` processes on one database), sampler or pruner.

Example:
    >>> from autolearn.rl.tune import tune  # doctest: +SKIP
    >>> study = tune("ppo", "CartPole-v1", n_trials=20, n_timesteps=20_000)  # doctest: +SKIP
    >>> study.best_params  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from autolearn._resume import jsonable, settings_diffs
from autolearn.exceptions import ConfigError, NoCompletedTrialsError, NonFiniteError, TrialPruned

__all__ = ["SEARCH_SPACES", "best_run", "confirm", "default_pruner", "objective", "tune"]

#: The study user attribute where :func:`confirm` keeps its results.
CONFIRMATION = "rl_confirmation"
#: the study user attribute holding the settings a search was started with
SETTINGS = "rl_tune_settings"

SearchSpace = Callable[[Any], dict[str, Any]]

_NETS = {"small": (64, 64), "medium": (256, 256)}


def _actor_critic_common(trial: Any) -> dict[str, Any]:
    return {
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99, 0.995, 0.999]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "vf_coef": trial.suggest_float("vf_coef", 0.1, 1.0),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm",
                                                   [0.3, 0.5, 0.8, 1.0, 2.0, 5.0]),
        "gae_lambda": trial.suggest_categorical("gae_lambda",
                                                [0.8, 0.9, 0.92, 0.95, 0.98, 0.99, 1.0]),
        "hidden": _NETS[trial.suggest_categorical("net", list(_NETS))],
        "activation": trial.suggest_categorical("activation", ["tanh", "relu"]),
    }


def ppo_space(trial: Any) -> dict[str, Any]:
    """PPO: the RL Zoo's search dimensions (rollout length, minibatch size, epochs, clip
    range, discount, GAE lambda, rates, coefficients, network), ranges of our own."""
    params = _actor_critic_common(trial)
    params.update(
        n_steps=trial.suggest_categorical("n_steps", [16, 32, 64, 128, 256, 512, 1024, 2048]),
        batch_size=trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256, 512]),
        n_epochs=trial.suggest_categorical("n_epochs", [1, 5, 10, 20]),
        clip_range=trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3, 0.4]),
    )
    return params


def a2c_space(trial: Any) -> dict[str, Any]:
    """A2C (and A3C): rollout length, optimiser, advantage normalisation, the rest as PPO."""
    params = _actor_critic_common(trial)
    params.update(
        n_steps=trial.suggest_categorical("n_steps", [5, 8, 16, 32, 64, 128]),
        optimizer=trial.suggest_categorical("optimizer", ["rmsprop", "adam"]),
        normalize_advantage=trial.suggest_categorical("normalize_advantage", [False, True]),
    )
    return params


def a3c_space(trial: Any) -> dict[str, Any]:
    """A3C: :func:`a2c_space` without the fields A3C lacks (its optimiser is the shared
    RMSProp; no GAE, no advantage normalisation)."""
    params = a2c_space(trial)
    for name in ("optimizer", "normalize_advantage", "gae_lambda"):
        params.pop(name)
    return params


def reinforce_space(trial: Any) -> dict[str, Any]:
    """REINFORCE: rollout length, discount, rate, baseline, entropy bonus, network."""
    return {
        "n_steps": trial.suggest_categorical("n_steps", [64, 128, 256, 512, 1024]),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99, 0.995, 0.999]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "baseline": trial.suggest_categorical("baseline", ["moving_average", "value"]),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage",
                                                         [False, True]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "hidden": _NETS[trial.suggest_categorical("net", list(_NETS))],
    }


def dqn_space(trial: Any) -> dict[str, Any]:
    """DQN: rate, minibatch, buffer, discount, exploration schedule, target updates,
    training frequency, warm-up, network, Double DQN."""
    train_freq = trial.suggest_categorical("train_freq", [1, 4, 8, 16, 128, 256])
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256]),
        "buffer_size": trial.suggest_categorical("buffer_size", [10_000, 50_000, 100_000]),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99, 0.995, 0.999]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.0, 0.5),
        "exploration_final_eps": trial.suggest_float("exploration_final_eps", 0.0, 0.2),
        "target_update_interval": trial.suggest_categorical(
            "target_update_interval", [1, 10, 100, 1_000, 5_000]),
        "learning_starts": trial.suggest_categorical("learning_starts", [0, 1_000, 5_000]),
        "train_freq": train_freq,
        "gradient_steps": max(1, train_freq // trial.suggest_categorical(
            "subsample_steps", [1, 2, 4, 8])),
        "hidden": _NETS[trial.suggest_categorical("net", list(_NETS))],
        "double_q": trial.suggest_categorical("double_q", [False, True]),
    }


def async_q_space(trial: Any) -> dict[str, Any]:
    """Asynchronous Q-learning: one-step or n-step targets, segment length, discount, rate,
    target-network interval, exploration schedule, loss, gradient clip, network."""
    return {
        "method": trial.suggest_categorical("method", ["one_step", "n_step"]),
        "n_steps": trial.suggest_categorical("n_steps", [5, 8, 16, 32]),
        "gamma": trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99, 0.995, 0.999]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "target_update_interval": trial.suggest_categorical(
            "target_update_interval", [100, 500, 1_000, 5_000, 10_000]),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.05, 0.5),
        "loss": trial.suggest_categorical("loss", ["mse", "huber"]),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm", [1.0, 10.0, 40.0]),
        "hidden": _NETS[trial.suggest_categorical("net", list(_NETS))],
        "dueling": trial.suggest_categorical("dueling", [False, True]),
    }


#: The default search space of each algorithm: ``space(trial) -> config overrides``.
SEARCH_SPACES: dict[str, SearchSpace] = {
    "ppo": ppo_space, "a2c": a2c_space, "a3c": a3c_space, "reinforce": reinforce_space,
    "dqn": dqn_space, "async_q": async_q_space,
}


def _overrides(algo: str, space: SearchSpace, trial: Any,
               fixed: Mapping[str, Any]) -> dict[str, Any]:
    params = {**space(trial), **fixed}
    if algo == "ppo" and "batch_size" in params and "n_steps" in params:
        rollout = int(params["n_steps"]) * int(params.get("n_envs", 1))
        params["batch_size"] = min(int(params["batch_size"]), rollout)  # as the RL Zoo
    return params


def default_pruner(n_evaluations: int) -> Any:
    """The RL Zoo's pruner, in evaluation points: ``MedianPruner(n_startup_trials=5,
    n_warmup_steps=n_evaluations // 3, compare="value")`` (Optuna's median rule, which
    compares with the other trials' values at the step, where autolearn's default
    ``compare="best"`` compares with their best values so far)."""
    from autolearn.pruners import MedianPruner

    return MedianPruner(n_startup_trials=5, n_warmup_steps=n_evaluations // 3, compare="value")


def objective(algo: str, env: str, *, n_timesteps: int, n_evaluations: int = 10,
              n_eval_episodes: int = 5, space: SearchSpace | None = None,
              fixed: Mapping[str, Any] | None = None, seed: int = 0, n_seeds: int = 1
              ) -> Callable[[Any], float]:
    """The objective :func:`tune` optimises, for ``study.optimize`` or an ``autolearn
    worker``: a trial's hyperparameters (``space(trial)`` then ``fixed``, which also takes
    the run keys ``normalize`` and ``n_envs``), an agent trained ``n_timesteps`` steps with
    seed ``seed + trial.number`` (see ``n_seeds`` below for more than one), evaluated
    every ``n_timesteps // n_evaluations`` steps on ``n_eval_episodes`` deterministic
    episodes, returning the mean return of the evaluation at the end of training.

    Each evaluation is reported to the trial at step ``k``, the evaluation point it
    reached (``k = num_timesteps // (n_timesteps // n_evaluations)``, 1 to about
    ``n_evaluations``), as the RL Zoo reports its evaluation index: trials whose rollouts
    differ in size then report at the same steps, which pruners compare. The env step
    count of each is kept in the user attribute ``eval_timesteps`` (``[[k, steps],
    ...]``), the steps trained in ``timesteps`` (also for a pruned trial), the whole
    resolved config in ``config`` (plain values).

    ``n_seeds > 1``: each trial trains ``n_seeds`` agents one after another, trial ``t``
    with seeds ``seed + t * n_seeds + k`` (``k = 0 .. n_seeds - 1``; ``n_seeds=1`` is
    ``seed + t``), and returns the mean of their final evaluations (each one in the user
    attribute ``seed_values``): a single seed's return is a noisy measure of a setting, and
    the search's best trial is then often a lucky seed. Only the first seed's evaluations
    are reported, so the pruner judges every trial on its first seed, as with one seed, and
    a pruned trial trains no further seeds; the others are evaluated once, at the end.
    ``timesteps`` counts the steps of all seeds trained. A diverging seed
    (``NonFiniteError``) prunes the trial."""
    from autolearn.rl.common.callbacks import EvalCallback, evaluate
    from autolearn.rl.common.env import check_env_id
    from autolearn.rl.configs import build_agent, make_eval_env, resolve

    for name, value, low in (("n_timesteps", n_timesteps, 1), ("n_evaluations", n_evaluations, 1),
                             ("n_eval_episodes", n_eval_episodes, 1), ("n_seeds", n_seeds, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"`{name}` must be an int >= {low}, but got {name}={value!r}")
    if n_evaluations > n_timesteps:
        raise ConfigError(f"`n_evaluations` must be at most n_timesteps ({n_timesteps}), but "
                          f"got n_evaluations={n_evaluations}")
    if space is None and algo not in SEARCH_SPACES:
        raise ConfigError(f"no default search space for {algo!r} (there is one for "
                          f"{', '.join(sorted(SEARCH_SPACES))}): pass `space`")
    sample: SearchSpace = space if space is not None else SEARCH_SPACES[algo]
    fixed = dict(fixed or {})
    resolve(algo, env, overrides=fixed, n_timesteps=n_timesteps, use_defaults=False)  # typos
    check_env_id(env)  # an unknown id: refused here, not by every trial failing
    every = n_timesteps // n_evaluations

    def train(trial: Any, spec: Any, agent_seed: int, watched: bool, done: int
              ) -> tuple[float, int]:
        """One agent trained and evaluated: its final mean return and the steps it
        trained. ``watched``: its evaluations go to the trial and its pruner. ``done``:
        steps the trial's earlier seeds trained."""
        agent = build_agent(spec, seed=agent_seed)
        reported: list[list[int]] = []

        def report(agent: Any, row: dict[str, Any]) -> bool:
            value = row.get("eval_return_mean")
            point = int(agent.num_timesteps) // every
            if value is None or (reported and point <= reported[-1][0]):
                return True
            trial.report(float(value), step=point)
            reported.append([point, int(agent.num_timesteps)])
            trial.set_user_attr("eval_timesteps", reported)
            if trial.should_prune():
                trial.set_user_attr("timesteps", done + int(agent.num_timesteps))
                raise TrialPruned(f"pruned at evaluation point {point} ({agent.num_timesteps} "
                                  f"steps, mean return {value:.4g})")
            return True

        eval_env = make_eval_env(spec, n_eval_episodes, train_env=agent.env)
        try:
            evaluator = EvalCallback(eval_env, eval_every=every, n_episodes=n_eval_episodes,
                                     seed=seed)
            try:  # the other seeds only need their final evaluation
                agent.learn(n_timesteps, callback=[evaluator, report] if watched else None)
            except NonFiniteError as exc:  # diverged: pruned, as the RL Zoo does, so the
                # sampler counts it among the bad trials instead of ignoring a failed one
                trial.set_user_attr("timesteps", done + int(agent.num_timesteps))
                trial.set_user_attr("non_finite", str(exc).splitlines()[0][:300])
                raise TrialPruned(f"training diverged after {agent.num_timesteps} steps"
                                  + (f" (seed {agent_seed})" if n_seeds > 1 else "")
                                  + f": {exc}") from None
            trial.set_user_attr("timesteps", done + int(agent.num_timesteps))
            if evaluator.evaluations and evaluator.evaluations[-1][0] == agent.num_timesteps:
                value = evaluator.evaluations[-1][1]
            else:  # the last update fell between evaluation points: evaluate the final agent
                value = evaluate(agent, eval_env, n_eval_episodes, seed=seed)[0]
                if watched:
                    report(agent, {"eval_return_mean": value})  # if it reached a new point
        finally:  # subprocess envs (vectorization "async") must not outlive the trial
            _close(agent.env, eval_env)
        if not math.isfinite(value):
            raise FloatingPointError(f"the final evaluation returned {value}")
        return float(value), int(agent.num_timesteps)

    def run(trial: Any) -> float:
        params = _overrides(algo, sample, trial, fixed)
        spec = resolve(algo, env, overrides=params, n_timesteps=n_timesteps,
                       use_defaults=False)
        trial.set_user_attr("config", spec.to_dict())
        values: list[float] = []
        done = 0
        for k in range(n_seeds):
            value, steps = train(trial, spec, seed + trial.number * n_seeds + k, k == 0, done)
            values.append(value)
            done += steps
            if n_seeds > 1:
                trial.set_user_attr("seed_values", values)
        return sum(values) / len(values)

    return run


def tune(algo: str, env: str, *, n_trials: int | None = 20, n_timesteps: int,
         n_evaluations: int = 10, n_eval_episodes: int = 5,
         space: SearchSpace | None = None, fixed: Mapping[str, Any] | None = None,
         storage: Any = None, study_name: str | None = None, sampler: Any = None,
         pruner: Any = None, seed: int = 0, n_jobs: int = 1, timeout: float | None = None,
         show_progress_bar: bool = False, n_seeds: int = 1) -> Any:
    """Search ``algo``'s hyperparameters on ``env``; the (created or resumed) study.

    Args:
        algo, env: as ``autolearn rl train`` (``ppo``, ``a2c``, ``a3c``, ``reinforce``,
            ``dqn``, ``async_q``; a gymnasium id).
        n_trials: trials to run in this call (``None``: until ``timeout``).
        n_timesteps, n_evaluations, n_eval_episodes, space, fixed, seed, n_seeds: see
            :func:`objective` (``n_seeds``: seeds each trial trains, its value their mean).
        storage, study_name: where the study lives (``None``: in memory); an existing
            study of that name is resumed.
        sampler: default ``TPESampler(seed=seed)``; pruner: default
            :func:`default_pruner` (the RL Zoo's choices; steps are evaluation points, see
            :func:`objective`).
        n_jobs, timeout, show_progress_bar: as ``Study.optimize``.

    A trial whose training diverges (:class:`~autolearn.exceptions.NonFiniteError`: a NaN
    or inf refused) is pruned, as the RL Zoo prunes trials that produce NaN, so samplers
    count it among the bad trials (its message in the user attribute ``non_finite``); one
    that fails otherwise is stored as failed; the search goes on either way. Bad arguments
    raise ``ConfigError`` before any trial runs.
    """
    import autolearn
    from autolearn.samplers import TPESampler

    run = objective(algo, env, n_timesteps=n_timesteps, n_evaluations=n_evaluations,
                    n_eval_episodes=n_eval_episodes, space=space, fixed=fixed, seed=seed,
                    n_seeds=n_seeds)
    study = autolearn.create_study(
        storage, study_name=study_name, direction="maximize",
        sampler=sampler if sampler is not None else TPESampler(seed=seed),
        pruner=pruner if pruner is not None else default_pruner(n_evaluations),
        load_if_exists=True)
    _check_settings(study, jsonable({
        "algo": algo, "env": env, "n_timesteps": n_timesteps, "n_evaluations": n_evaluations,
        "n_eval_episodes": n_eval_episodes, "n_seeds": n_seeds, "fixed": dict(fixed or {}),
        "space": "default" if space is None else getattr(space, "__qualname__", repr(space))}))
    study.optimize(run, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                   show_progress_bar=show_progress_bar)
    return study


def _check_settings(study: Any, settings: dict[str, Any]) -> None:
    """Record the settings of a new search in the study; refuse to resume one started with
    other settings, or a study that holds trials of something else, before any trial runs
    (its trials' values would not be comparable, and ``best_run`` could pick any of them).
    A study from before the settings were recorded is adopted when every trial's recorded
    config has this algorithm, env and budget."""
    stored = study.user_attrs.get(SETTINGS)
    if stored is None:
        trials = study.trials
        same = all(isinstance(c := t.user_attrs.get("config"), dict)
                   and (c.get("algo"), c.get("env"), c.get("n_timesteps"))
                   == (settings["algo"], settings["env"], settings["n_timesteps"])
                   for t in trials)
        if not same:
            raise ConfigError(
                f"study {study.study_name!r} holds {len(trials)} trials that are not "
                f"`autolearn rl tune` trials of {settings['algo']} on {settings['env']} with "
                f"{settings['n_timesteps']} steps: use another study name (--study-name)")
        study.set_user_attr(SETTINGS, settings)
        return
    diffs = settings_diffs(stored, settings)
    if diffs:
        raise ConfigError(
            f"study {study.study_name!r} was started with other settings "
            f"({'; '.join(diffs)}): resume it with those, or use another study name "
            "(--study-name)")


def _close(*envs: Any) -> None:
    """Close the envs a run built (subprocess envs, ``vectorization="async"``, must not
    outlive it)."""
    for e in envs:
        if e is not None and not isinstance(e, str):
            e.close()


def _train_and_evaluate(config: Mapping[str, Any], seed: int, n_eval_episodes: int) -> float:
    """Train a recorded trial config (``n_timesteps`` steps) with ``seed``; the mean return
    of ``n_eval_episodes`` deterministic episodes (seeded ``seed``) at the end."""
    from autolearn.rl.common.callbacks import evaluate
    from autolearn.rl.configs import build_agent, make_eval_env, resolve

    run_keys = ("algo", "env", "n_timesteps")
    spec = resolve(config["algo"], config["env"], n_timesteps=int(config["n_timesteps"]),
                   overrides={k: v for k, v in config.items() if k not in run_keys},
                   use_defaults=False)
    agent = build_agent(spec, seed=seed)
    eval_env = make_eval_env(spec, n_eval_episodes, train_env=agent.env)
    try:
        agent.learn(int(config["n_timesteps"]))
        return float(evaluate(agent, eval_env, n_eval_episodes, seed=seed)[0])
    finally:
        _close(agent.env, eval_env)


def confirm(study: Any, *, top: int = 3, n_seeds: int = 3, n_eval_episodes: int = 10,
            seed: int = 10_000) -> list[dict[str, Any]]:
    """Retrain the ``top`` best complete trials' configs on ``n_seeds`` fresh seeds each.

    A search picks its best trial by one training run on one seed, and in RL that value
    is noisy: the best trial is often a lucky seed (the winner's curse). This trains each of
    the ``top`` trials again, full budget, with seeds ``seed, seed + 1, ...`` (none of
    them a trial's seed unless you choose so), and evaluates the final agent on
    ``n_eval_episodes`` deterministic episodes. A run that fails (e.g. a refused NaN) counts
    as ``-inf``. The results are kept in the study's user attribute ``rl_confirmation``
    (``[{"trial", "search_value", "returns", "mean"}, ...]``, best mean first), which
    :func:`best_run` then follows.

    Returns:
        The rows, best confirmed mean first.

    Raises:
        ConfigError: ``top`` or ``n_seeds`` below 1, or no complete trial to confirm.
    """
    for name, value in (("top", top), ("n_seeds", n_seeds), ("n_eval_episodes",
                                                             n_eval_episodes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"`{name}` must be an int >= 1, but got {name}={value!r}")
    done = [t for t in study.trials if t.state.name == "COMPLETE" and t.value is not None
            and isinstance(t.user_attrs.get("config"), dict)]
    if not done:
        raise ConfigError("the study has no complete trial with a recorded config to confirm")
    sign = -1.0 if study.direction.name == "MINIMIZE" else 1.0
    done.sort(key=lambda t: -sign * t.value)
    rows: list[dict[str, Any]] = []
    for trial in done[:top]:
        returns: list[float] = []
        for k in range(n_seeds):
            try:
                ret = _train_and_evaluate(trial.user_attrs["config"], seed + k,
                                          n_eval_episodes)
            except Exception:  # noqa: BLE001 - a config that fails on a seed ranks last
                ret = -math.inf
            returns.append(ret if math.isfinite(ret) else -math.inf)
        rows.append({"trial": trial.number, "search_value": trial.value, "returns": returns,
                     "mean": sum(returns) / len(returns)})
    rows.sort(key=lambda r: -r["mean"])
    study.set_user_attr(CONFIRMATION, [
        {**r, "returns": [v if math.isfinite(v) else None for v in r["returns"]],
         "mean": r["mean"] if math.isfinite(r["mean"]) else None} for r in rows])
    return rows


def best_run(study: Any) -> dict[str, Any]:
    """The best trial's resolved config as plain values (the ``config`` user attribute
    :func:`objective` records): what ``autolearn rl train --config`` reads. After
    :func:`confirm`, the trial with the best confirmed mean return (trials added to the
    study since are not considered until ``confirm`` runs again); else the best trial of
    the search.

    Raises:
        ConfigError: the study has no complete trial with a recorded config.
    """
    confirmed = study.user_attrs.get(CONFIRMATION)
    try:
        best = (study.trials[confirmed[0]["trial"]] if confirmed else study.best_trial)
    except NoCompletedTrialsError:
        raise ConfigError("the study has no complete trial yet: run more trials (pruned "
                          "and failed ones have no final value)") from None
    config = best.user_attrs.get("config")
    if not isinstance(config, dict):
        raise ConfigError(f"trial {best.number} has no recorded config: it was not run by "
                          "autolearn.rl.tune")
    return dict(config)
