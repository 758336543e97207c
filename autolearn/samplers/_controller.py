"""An RNN controller trained by reinforcement learning, as a sampler (Zoph & Le 2017).

The controller writes a trial's categorical decisions one at a time, in the order the
objective asks for them: at each decision an LSTM cell reads the embedding of the previous
decision, a head for *this* parameter turns its state into logits over the parameter's
choices (invalid choices masked), and a choice is **sampled** (never the argmax). Every
``batch_size`` finished trials, the controller is updated on the rewards of those
architectures with REINFORCE (moving-average baseline, entropy bonus; Zoph & Le) or PPO
(clipped ratio, several epochs over the batch; Zoph et al. 2018, NASNet).

Heads and embeddings are created the first time a parameter is met, so the controller
works on any define-by-run space, conditional parameters included: a trial that never asks
for a parameter simply has a shorter decision sequence. Parameters that are not
categorical (floats, ints) are left to ``independent_sampler``.

The controller's weights, optimizer state, baseline and the trials it has learned from are
written to the study (system attribute ``controller:state``) after every update, so a
resumed study — another process, the next day — continues from the same controller.
"""

from __future__ import annotations

import base64
import io
import math
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autolearn._rng import SeedLike, as_generator, derive_seed
from autolearn.exceptions import ConfigError, SearchSpaceError
from autolearn.samplers._base import BaseSampler, IndependentSampler
from autolearn.samplers._random import RandomSampler
from autolearn.space import CategoricalDistribution

if TYPE_CHECKING:
    import torch

    from autolearn.space import BaseDistribution
    from autolearn.study import FrozenTrial, Study, TrialState

__all__ = ["ControllerSampler"]

STATE_KEY = "controller:state"
UPDATES_KEY = "controller:n_updates"
_ALGORITHMS = ("reinforce", "ppo")
_BASELINES = ("ema", "batch")
_ADV_NORMS = (False, True, "batch", "running")

ActionMask = Callable[[str, Mapping[str, Any]], Sequence[bool] | None]


def _is_decision(dist: BaseDistribution) -> bool:
    return isinstance(dist, CategoricalDistribution) and len(dist.choices) > 1


class _Controller:
    """The LSTM policy; heads/embeddings per decision key, grown on demand."""

    def __init__(self, hidden_size: int, seed: int, init_range: float) -> None:
        import torch
        from torch import nn

        self.hidden_size = hidden_size
        self.seed = seed
        self.init_range = init_range
        gen = torch.Generator().manual_seed(seed)
        self.start = nn.Parameter(torch.empty(1, hidden_size).uniform_(
            -init_range, init_range, generator=gen))
        with torch.random.fork_rng(devices=[]):
            self.cell = nn.LSTMCell(hidden_size, hidden_size)
        for p in self.cell.parameters():
            nn.init.uniform_(p, -init_range, init_range, generator=gen)
        self.keys: list[tuple[str, int]] = []  # registry: (param name, n choices), first-met order
        self.index: dict[tuple[str, int], int] = {}
        self.heads: list[nn.Linear] = []
        self.embeds: list[nn.Embedding] = []

    def parameters(self) -> list[torch.nn.Parameter]:
        params = [self.start, *self.cell.parameters()]
        for h, e in zip(self.heads, self.embeds, strict=True):
            params += [*h.parameters(), *e.parameters()]
        return params

    def ensure(self, key: tuple[str, int]) -> list[torch.nn.Parameter] | None:
        """Index of ``key``, creating its head/embedding; returns new parameters (or None)."""
        if key in self.index:
            return None
        import torch
        from torch import nn

        name, k = key
        gen = torch.Generator().manual_seed(derive_seed(self.seed, zlib.crc32(
            f"{name}\x00{k}".encode())))
        with torch.random.fork_rng(devices=[]):
            head, embed = nn.Linear(self.hidden_size, k), nn.Embedding(k, self.hidden_size)
        # Heads start near zero, so the first architectures are drawn ~uniformly.
        nn.init.uniform_(head.weight, -self.init_range, self.init_range, generator=gen)
        nn.init.zeros_(head.bias)
        nn.init.uniform_(embed.weight, -self.init_range, self.init_range, generator=gen)
        self.index[key] = len(self.keys)
        self.keys.append(key)
        self.heads.append(head)
        self.embeds.append(embed)
        return [*head.parameters(), *embed.parameters()]

    def state_dict(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys),
            "params": [p.detach().clone() for p in self.parameters()],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy stored weights; the caller has created ``state["keys"]`` in order."""
        import torch

        if [tuple(k) for k in state["keys"]] != self.keys[: len(state["keys"])]:
            raise ValueError("create the stored decision keys, in order, before loading")
        with torch.no_grad():
            for p, v in zip(self.parameters(), state["params"], strict=True):
                p.copy_(v)


class ControllerSampler(IndependentSampler):
    """A reinforcement-learning controller that writes architectures (or configurations).

    Zoph & Le (2017) train an LSTM controller with REINFORCE on the validation accuracy of
    the child networks it writes; Zoph et al. (2018, NASNet) train it with PPO. Both are
    this sampler (``algorithm="reinforce"`` / ``"ppo"``). It samples during search, always
    (exploration is the entropy of the policy, kept up by the entropy bonus), and learns
    from each batch of ``batch_size`` finished trials.

    Reward of a finished trial: its objective value, negated for a minimised study (the
    first objective of a multi-objective study), then ``reward_transform`` (e.g.
    ``lambda acc: acc ** 3``, Zoph & Le's sharpening). A pruned trial's value is its last
    reported value. A failed trial — an exception, a NaN loss, a NaN objective — gets
    ``failure_reward``, or by default the worst reward the controller has seen so far (0
    before any), so it is discouraged but cannot blow up the update.

    Args:
        algorithm: ``"reinforce"`` or ``"ppo"``.
        batch_size: architectures per controller update (Zoph & Le's ``m``).
        hidden_size: LSTM units (35 in Zoph & Le).
        lr: Adam learning rate of the controller (0.02: second best of 4-5 values on both
            the NAS-Bench-201 cifar100 table and the mnist1d macro table; see docs/nas.md).
        entropy_coef: weight of the entropy bonus (sum over a sequence's decisions).
        baseline_decay: decay of the exponential moving-average reward baseline.
        temperature: logits are divided by it (> 1 flattens the policy).
        tanh_c: if set, logits are squashed to ``tanh_c * tanh(logits)`` (NASNet/ENAS).
        reward_transform: applied to the (direction-signed) objective value.
        failure_reward: reward of failed trials (default: worst reward seen so far).
        normalize_advantage: ``False`` (Zoph & Le: reward minus baseline, as is);
            ``True`` / ``"batch"``: divide each batch's advantages by their standard
            deviation; ``"running"``: divide them by the running RMS of all advantages so
            far, so the step and the weight of the entropy bonus do not depend on the
            reward's units or spread (accuracy in % or as a fraction, a dataset whose
            children spread over 2 points or 20). With accuracy rewards, ``"running"`` and
            ``entropy_coef`` 0.03-0.1 keep the policy from collapsing onto its first good
            architecture; see docs/nas.md for the NAS-Bench-201 numbers.
        baseline: ``"ema"`` (Zoph & Le): the exponential moving average of past batch
            means; ``"batch"``: each sample against the mean of the *other* samples of its
            batch (leave-one-out; Kool et al. 2019), which does not lag behind an
            improving policy (falls back to the EMA when ``batch_size`` is 1).
        ppo_epochs, clip_range: PPO's passes over each batch and ratio clip.
        max_grad_norm: gradient-norm clip of each update (None: off).
        init_range: weights start uniform in ``[-init_range, init_range]`` (Zoph & Le: 0.08).
        action_mask: ``action_mask(name, decisions_so_far)`` -> allowed choices of
            ``name`` (sequence of bool, or None for all), e.g. an architecture space's.
        independent_sampler: samples the non-categorical parameters (default: random).
        persist: write the controller's state to the study after each update (needed to
            resume; costs one storage write per update).
        seed: seeds the initial weights and each trial's draws (trial ``n`` draws from a
            stream derived from ``(seed, n)``).

    Example:
        >>> import autolearn
        >>> from autolearn.samplers import ControllerSampler
        >>> def objective(trial):
        ...     ops = [trial.suggest_categorical(f"op{i}", ["conv3", "conv5", "pool"])
        ...            for i in range(4)]
        ...     return sum(op == "conv5" for op in ops)
        >>> study = autolearn.create_study(direction="maximize",
        ...                                sampler=ControllerSampler(seed=0, lr=0.05))
        >>> study.optimize(objective, n_trials=48)
        >>> study.best_value
        4.0

    References:
        Zoph & Le (2017). Neural architecture search with reinforcement learning. ICLR.
        Zoph, Vasudevan, Shlens & Le (2018). Learning transferable architectures for
        scalable image recognition. CVPR.
        Williams (1992). Simple statistical gradient-following algorithms for
        connectionist reinforcement learning. Machine Learning 8.
        Kool, van Hoof & Welling (2019). Buy 4 REINFORCE samples, get a baseline for
        free! ICLR workshop DeepRLStructPred.
        Schulman et al. (2017). Proximal policy optimization algorithms. arXiv:1707.06347.
    """

    def __init__(
        self,
        *,
        algorithm: str = "reinforce",
        batch_size: int = 8,
        hidden_size: int = 35,
        lr: float = 0.02,
        entropy_coef: float = 1e-2,
        baseline_decay: float = 0.9,
        temperature: float = 1.0,
        tanh_c: float | None = None,
        reward_transform: Callable[[float], float] | None = None,
        failure_reward: float | None = None,
        normalize_advantage: bool | str = False,
        baseline: str = "ema",
        ppo_epochs: int = 4,
        clip_range: float = 0.2,
        max_grad_norm: float | None = None,
        init_range: float = 0.08,
        action_mask: ActionMask | None = None,
        independent_sampler: BaseSampler | None = None,
        persist: bool = True,
        seed: SeedLike = None,
    ) -> None:
        def check(name: str, ok: bool, what: str) -> None:
            if not ok:
                raise ConfigError(f"ControllerSampler: `{name}` must {what}")

        check("algorithm", algorithm in _ALGORITHMS, f"be one of {_ALGORITHMS}, got {algorithm!r}")
        for name, v in (("batch_size", batch_size), ("hidden_size", hidden_size),
                        ("ppo_epochs", ppo_epochs)):
            check(name, isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                  f"be an int >= 1, got {v!r}")
        for name, x in (("lr", lr), ("temperature", temperature), ("clip_range", clip_range),
                        ("init_range", init_range)):
            check(name, isinstance(x, int | float) and math.isfinite(x) and x > 0,
                  f"be a finite number > 0, got {x!r}")
        check("entropy_coef", isinstance(entropy_coef, int | float) and entropy_coef >= 0,
              f"be >= 0, got {entropy_coef!r}")
        check("baseline_decay", isinstance(baseline_decay, int | float)
              and 0 <= baseline_decay < 1, f"be in [0, 1), got {baseline_decay!r}")
        check("tanh_c", tanh_c is None or (isinstance(tanh_c, int | float) and tanh_c > 0),
              f"be None or > 0, got {tanh_c!r}")
        check("normalize_advantage", normalize_advantage in _ADV_NORMS,
              f"be one of False, True, 'batch', 'running', got {normalize_advantage!r}")
        check("baseline", baseline in _BASELINES,
              f"be one of {_BASELINES}, got {baseline!r}")
        check("max_grad_norm", max_grad_norm is None or max_grad_norm > 0,
              f"be None or > 0, got {max_grad_norm!r}")
        check("failure_reward", failure_reward is None or math.isfinite(failure_reward),
              f"be None or a finite number, got {failure_reward!r}")
        check("reward_transform", reward_transform is None or callable(reward_transform),
              "be None or a callable float -> float")
        check("action_mask", action_mask is None or callable(action_mask),
              "be None or a callable (name, decisions_so_far) -> sequence of bool")
        if isinstance(seed, int) and not isinstance(seed, bool):
            base_seed = seed
        else:
            base_seed = int(as_generator(seed).integers(2**62))
        self.algorithm = algorithm
        self.batch_size = batch_size
        self.hidden_size = hidden_size
        self.lr = float(lr)
        self.entropy_coef = float(entropy_coef)
        self.baseline_decay = float(baseline_decay)
        self.temperature = float(temperature)
        self.tanh_c = tanh_c
        self.reward_transform = reward_transform
        self.failure_reward = failure_reward
        self.normalize_advantage: str | None = (
            "batch" if normalize_advantage is True else normalize_advantage or None)
        self.baseline_kind = baseline
        self.ppo_epochs = ppo_epochs
        self.clip_range = float(clip_range)
        self.max_grad_norm = max_grad_norm
        self.init_range = float(init_range)
        self.action_mask = action_mask
        self.persist = persist
        self._seed = base_seed
        self._independent = independent_sampler or RandomSampler(seed=derive_seed(base_seed, 1))
        self._net: _Controller | None = None
        self._pid = os.getpid()
        self._optim: Any = None
        self.baseline: float | None = None
        self.adv_sq: float = 0.0  # running mean of squared advantages (bias-corrected below)
        self.adv_sq_n = 0
        self.worst_reward: float | None = None
        self.n_updates = 0
        self._consumed: set[int] = set()
        self._running: dict[int, dict[str, Any]] = {}  # trial number -> LSTM state while sampling
        self.history: list[dict[str, float]] = []  # per update: mean reward, baseline, entropy

    # ---- model -----------------------------------------------------------------------------
    def _model(self) -> _Controller:
        if self._pid != os.getpid():
            # A forked worker (``optimize(n_jobs=...)``) inherits the parent's intra-op
            # thread pool in a broken state; the controller's tensors are tiny anyway.
            import torch

            torch.set_num_threads(1)
            self._pid = os.getpid()
        if self._net is None:
            import torch

            self._net = _Controller(self.hidden_size, self._seed, self.init_range)
            self._optim = torch.optim.Adam(
                [self._net.start, *self._net.cell.parameters()], lr=self.lr)
        return self._net

    def _ensure(self, key: tuple[str, int]) -> int:
        net = self._model()
        new = net.ensure(key)
        if new is not None:
            self._optim.add_param_group({"params": new})
        return net.index[key]

    def _logits(self, h: torch.Tensor, idx: int) -> torch.Tensor:
        import torch

        logits = self._model().heads[idx](h) / self.temperature
        return self.tanh_c * torch.tanh(logits) if self.tanh_c is not None else logits

    def _mask(self, name: str, k: int, prefix: Mapping[str, Any]) -> list[bool] | None:
        if self.action_mask is None:
            return None
        mask = self.action_mask(name, prefix)
        if mask is None:
            return None
        mask = [bool(m) for m in mask]
        if len(mask) != k:
            raise SearchSpaceError(
                f"action_mask returned {len(mask)} entries for {name!r}, which has {k} "
                "choices; return one bool per choice (or None for all allowed)"
            )
        if not any(mask):
            raise SearchSpaceError(
                f"action_mask allows no choice of {name!r} after {dict(prefix)!r}; every "
                "decision needs at least one allowed choice"
            )
        return mask

    # ---- sampling ----------------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._sync(study)
        self._learn(study)

    def _step(self, run: dict[str, Any], name: str, dist: CategoricalDistribution,
              choice: int | None) -> int:
        """Advance the LSTM by one decision; sample it unless ``choice`` is given."""
        import torch

        from autolearn.rl.common.distributions import MaskedCategorical

        idx = self._ensure((name, len(dist.choices)))
        net = self._model()
        with torch.no_grad():
            run["state"] = net.cell(run["x"], run["state"])
            if choice is None:
                mask = self._mask(name, len(dist.choices), run["prefix"])
                m = None if mask is None else torch.tensor([mask])
                dist_t = MaskedCategorical(self._logits(run["state"][0], idx), m)
                choice = int(dist_t.sample(run["gen"])[0])
            run["x"] = net.embeds[idx](torch.tensor([choice]))
        run["prefix"][name] = dist.choices[choice]
        run["fed"].add(name)
        return choice

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        if not _is_decision(distribution):
            return self._independent.sample_independent(study, trial, param_name, distribution)
        assert isinstance(distribution, CategoricalDistribution)
        import torch

        run = self._running.get(trial.number)
        if run is None:
            if len(self._running) > 256:  # only trials alive in this process need a state
                self._running.clear()
            net = self._model()
            run = self._running[trial.number] = {
                "x": net.start, "state": None, "prefix": {}, "fed": set(),
                "gen": torch.Generator().manual_seed(derive_seed(self._seed, trial.number)),
            }
        # Decisions fixed without the sampler (enqueued values) are fed in, so the LSTM
        # state always reflects the whole prefix, as in the update's replay.
        for name, dist in trial.distributions.items():
            if name not in run["fed"] and name != param_name and _is_decision(dist):
                self._step(run, name, dist, dist.to_internal(trial.params[name]))  # type: ignore
        choice = self._step(run, param_name, distribution, None)
        return distribution.choices[choice]

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._running.pop(trial.number, None)

    # ---- learning -------------------------------------------------------------------------
    def _reward(self, study: Study, t: FrozenTrial) -> float | None:
        """Signed, transformed reward of a finished trial; None for a failure."""
        if t.values is None or not t.values or not math.isfinite(t.values[0]):
            return None
        sign = 1.0 if str(study.directions[0]) == "maximize" else -1.0
        r = sign * float(t.values[0])
        if self.reward_transform is not None:
            r = float(self.reward_transform(r))
        return r if math.isfinite(r) else None

    def _sequence(self, params: Mapping[str, Any], distributions: Mapping[str, BaseDistribution]
                  ) -> list[tuple[str, CategoricalDistribution, int]]:
        """A trial's decisions in the order the controller first met each parameter."""
        net = self._model()
        decisions = []
        for name, dist in distributions.items():
            if _is_decision(dist) and name in params:
                assert isinstance(dist, CategoricalDistribution)
                key = (name, len(dist.choices))
                self._ensure(key)
                decisions.append((name, dist, int(dist.to_internal(params[name]))))
        decisions.sort(key=lambda d: net.index[(d[0], len(d[1].choices))])
        return decisions

    def _learn(self, study: Study) -> None:
        from autolearn.study import TrialState

        finished = [
            t for t in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                TrialState.FAIL))
            if t.number not in self._consumed
        ]
        finished.sort(key=lambda t: t.number)
        learned = False
        while len(finished) >= self.batch_size:
            batch, finished = finished[: self.batch_size], finished[self.batch_size:]
            self._update(study, batch)
            learned = True
        if learned and self.persist:
            study.set_system_attr(STATE_KEY, self._dump())
            study.set_system_attr(UPDATES_KEY, self.n_updates)

    def _update(self, study: Study, batch: list[FrozenTrial]) -> None:
        import torch

        from autolearn.rl.reinforce import reinforce_loss

        self._consumed.update(t.number for t in batch)
        seqs = [self._sequence(t.params, t.distributions) for t in batch]
        keep = [i for i, s in enumerate(seqs) if s]  # trials with no decision teach nothing
        if not keep:
            return
        raw = [self._reward(study, batch[i]) for i in keep]
        ok = [r for r in raw if r is not None]
        if ok:
            worst = min(ok)
            self.worst_reward = worst if self.worst_reward is None else min(self.worst_reward,
                                                                           worst)
        fail = self.failure_reward if self.failure_reward is not None else (
            self.worst_reward if self.worst_reward is not None else 0.0)
        rewards = torch.tensor([fail if r is None else r for r in raw], dtype=torch.float32)
        seqs = [seqs[i] for i in keep]

        adv, before = self._advantages(rewards)
        params = self._model().parameters()
        epochs = self.ppo_epochs if self.algorithm == "ppo" else 1
        old_log_prob: torch.Tensor | None = None
        entropy = torch.zeros(())
        for _ in range(epochs):
            log_prob, entropy = self._evaluate(seqs)
            if self.algorithm == "ppo":
                if old_log_prob is None:
                    old_log_prob = log_prob.detach()
                ratio = (log_prob - old_log_prob).exp()
                policy_loss = -torch.min(
                    adv * ratio, adv * ratio.clamp(1 - self.clip_range, 1 + self.clip_range)
                ).mean()
                loss = policy_loss - self.entropy_coef * entropy.mean()
            else:  # the advantages already hold the baseline
                loss, _ = reinforce_loss(log_prob, adv, 0.0, entropy,
                                         ent_coef=self.entropy_coef)
            self._optim.zero_grad()
            loss.backward()
            if self.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            self._optim.step()
        self.n_updates += 1
        self.history.append({
            "update": float(self.n_updates),
            "mean_reward": float(rewards.mean()),
            "baseline": float(before),
            "entropy": float(entropy.detach().mean()),
        })

    def _advantages(self, rewards: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Advantages ``(B,)`` of a batch's rewards ``(B,)``, and the EMA baseline used."""
        d = self.baseline_decay
        mean = float(rewards.mean())
        before = mean if self.baseline is None else self.baseline  # the EMA b for this batch
        self.baseline = before * d + (1 - d) * mean
        n = len(rewards)
        if self.baseline_kind == "batch" and n > 1:
            # each sample against the mean of the batch's other samples (leave-one-out,
            # Kool et al. 2019): unbiased, and it does not lag behind an improving policy
            adv = rewards - (rewards.sum() - rewards) / (n - 1)
        else:
            adv = rewards - before
        if self.normalize_advantage == "batch" and n > 1:
            adv = adv / (adv.std() + 1e-8)
        elif self.normalize_advantage == "running":
            # Divide by the RMS of all advantages so far (this batch's included; EMA with
            # baseline_decay, bias-corrected), so the policy-gradient term is in units of
            # its own spread: entropy_coef then means the same whether the reward is an
            # accuracy in % or a fraction, on a dataset with a wide or a narrow spread.
            self.adv_sq_n += n
            for a in adv.tolist():
                self.adv_sq = self.adv_sq * d + (1 - d) * a * a
            rms = math.sqrt(self.adv_sq / (1 - d ** self.adv_sq_n))
            adv = adv / (rms + 1e-8)
        return adv, before

    def _evaluate(self, seqs: list[list[tuple[str, CategoricalDistribution, int]]]
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability and entropy of each sequence (teacher forcing, batched by shape)."""
        import torch

        from autolearn.rl.common.distributions import MaskedCategorical

        net = self._model()
        log_prob = [torch.zeros(())] * len(seqs)
        entropy = [torch.zeros(())] * len(seqs)
        groups: dict[tuple[tuple[str, int], ...], list[int]] = {}
        for i, s in enumerate(seqs):
            groups.setdefault(tuple((n, len(d.choices)) for n, d, _ in s), []).append(i)
        for keys, members in groups.items():
            B = len(members)
            x = net.start.expand(B, -1)
            state = None
            lp = torch.zeros(B)
            ent = torch.zeros(B)
            prefixes: list[dict[str, Any]] = [{} for _ in members]
            for t, key in enumerate(keys):
                idx = net.index[key]
                state = net.cell(x, state)
                name, k = key
                masks = [self._mask(name, k, p) for p in prefixes]
                m = None if all(mk is None for mk in masks) else torch.tensor(
                    [mk if mk is not None else [True] * k for mk in masks])
                dist = MaskedCategorical(self._logits(state[0], idx), m)
                a = torch.tensor([seqs[i][t][2] for i in members])
                lp = lp + dist.log_prob(a)
                ent = ent + dist.entropy()
                x = net.embeds[idx](a)
                for p, i in zip(prefixes, members, strict=True):
                    _, d, c = seqs[i][t]
                    p[name] = d.choices[c]
            for j, i in enumerate(members):
                log_prob[i] = lp[j]
                entropy[i] = ent[j]
        return torch.stack(log_prob), torch.stack(entropy)

    def probability(self, params: Mapping[str, Any],
                    distributions: Mapping[str, BaseDistribution]) -> float:
        """Probability that the controller, as it is now, writes exactly ``params``.

        Only the categorical parameters count (the controller's decisions); the others are
        not its to choose.
        """
        import torch

        seq = self._sequence(params, distributions)
        if not seq:
            return 1.0
        with torch.no_grad():
            lp, _ = self._evaluate([seq])
        return float(lp[0].exp())

    # ---- persistence -----------------------------------------------------------------------
    def _dump(self) -> str:
        import torch

        net = self._model()
        buf = io.BytesIO()
        torch.save({
            "version": 1, "n_updates": self.n_updates, "net": net.state_dict(),
            "optim": self._optim.state_dict(), "baseline": self.baseline,
            "worst_reward": self.worst_reward, "consumed": sorted(self._consumed),
            "adv_sq": self.adv_sq, "adv_sq_n": self.adv_sq_n,
            "history": self.history,
        }, buf)
        return base64.b64encode(zlib.compress(buf.getvalue())).decode("ascii")

    def _sync(self, study: Study) -> None:
        """Load the study's controller state if it is newer than ours (resume, workers)."""
        if not self.persist:
            return
        attrs = study.system_attrs
        blob = attrs.get(STATE_KEY)
        if not isinstance(blob, str):
            return
        stored = attrs.get(UPDATES_KEY)
        if isinstance(stored, int) and stored <= self.n_updates:
            return  # nothing newer: skip decoding the blob
        import torch

        try:
            state = torch.load(io.BytesIO(zlib.decompress(base64.b64decode(blob))),
                               weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any decoding problem is the same problem
            raise ConfigError(
                f"the study's {STATE_KEY!r} attribute is not a controller state ({exc}); "
                "it was written by another program or is corrupted — use a new study, or "
                "ControllerSampler(persist=False) to start a fresh controller"
            ) from None
        if state["n_updates"] <= self.n_updates:
            return
        # Rebuild from the stored registry, so parameter (and Adam state) order matches.
        self._net = None
        for key in state["net"]["keys"]:
            self._ensure(tuple(key))  # type: ignore[arg-type]
        net = self._model()
        net.load_state_dict(state["net"])
        self._optim.load_state_dict(state["optim"])
        self.n_updates = int(state["n_updates"])
        self.baseline = state["baseline"]
        self.worst_reward = state["worst_reward"]
        self.adv_sq = float(state.get("adv_sq", 0.0))
        self.adv_sq_n = int(state.get("adv_sq_n", 0))
        self._consumed = set(state["consumed"])
        self.history = list(state["history"])
