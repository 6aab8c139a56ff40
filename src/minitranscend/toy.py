"""Transcendence in a toy world: the papers' theory in a few lines of numpy.

A world has ``n_states`` states, each with ``n_actions`` actions of which exactly one is right
(reward 1; the others earn 0). Action 0 is the right one everywhere: nothing depends on which
one it is, and it keeps the figures readable. An *expert* is a distribution over actions in
every state: it plays the right action with probability ``p`` (its accuracy) and spreads its
error either uniformly over the wrong actions or entirely on a *favourite* wrong action.

A model trained on the experts' pooled data learns, at best, their **mixture** (the average of
the experts' distributions, Zhang et al. 2024). Sampling it at temperature ``tau`` plays

    p_tau(a) = m(a)^(1/tau) / sum_b m(b)^(1/tau)      (softmax of log m at temperature tau)

(:func:`minitranscend.temperature.apply_temperature`, the one operator every chapter uses)

- at ``tau = 1`` the model earns exactly the experts' *average* reward (the mixture is linear);
- as ``tau -> 0`` it plays the mixture's argmax, a **majority vote** of the experts, which can
  beat the *best* expert when the experts' mistakes are diverse — and cannot when they all
  make the same mistake (``correlation = 1``).

Arrays: experts ``[n_experts, n_states, n_actions]``, policies ``[n_states, n_actions]``,
rewards ``[n_states, n_actions]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .temperature import apply_temperature


@dataclass
class ToyWorld:
    """How the experts are made. ``correlation`` is the knob the chapter turns.

    correlation: probability that, in a state, an expert's favourite wrong action is the
        state's *common mistake* rather than a wrong action of its own (0 = diverse errors,
        1 = every expert makes the same mistake).
    spread: each expert's accuracy varies by up to +-spread from state to state, so some
        states are hard for one expert and easy for another.

    Used in chapter 1.
    """
    accuracies: tuple[float, ...] = (0.45, 0.4, 0.4, 0.35, 0.3)
    n_states: int = 500
    n_actions: int = 5
    error: str = "favourite"  # "favourite" | "uniform"
    correlation: float = 0.0
    spread: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_actions < 2:
            raise ValueError(f"n_actions must be >= 2 (one right, one wrong), got {self.n_actions}")
        if self.error not in ("favourite", "uniform"):
            raise ValueError(f"error must be 'favourite' or 'uniform', got {self.error!r}")
        if not 0.0 <= self.correlation <= 1.0:
            raise ValueError(f"correlation is a probability in [0, 1], got {self.correlation}")
        if not all(0.0 <= p <= 1.0 for p in self.accuracies) or not self.accuracies:
            raise ValueError(f"accuracies must be probabilities in [0, 1], got {self.accuracies}")


def expert_policies(world: ToyWorld) -> np.ndarray:
    """The experts' policies, ``[n_experts, n_states, n_actions]``; action 0 is right."""
    rng = np.random.default_rng(world.seed)
    k, s, a = len(world.accuracies), world.n_states, world.n_actions
    p = np.asarray(world.accuracies, dtype=float)[:, None] + \
        world.spread * rng.uniform(-1.0, 1.0, size=(k, s))
    p = np.clip(p, 0.0, 1.0)
    experts = np.zeros((k, s, a))
    experts[:, :, 0] = p
    if world.error == "uniform":
        experts[:, :, 1:] = ((1.0 - p) / (a - 1))[:, :, None]
        return experts
    common = rng.integers(1, a, size=s)            # the state's shared mistake
    own = rng.integers(1, a, size=(k, s))          # each expert's own favourite mistake
    shared = rng.random((k, s)) < world.correlation
    favourite = np.where(shared, common[None, :], own)
    np.put_along_axis(experts, favourite[:, :, None], (1.0 - p)[:, :, None], axis=2)
    return experts


def correct_rewards(n_states: int, n_actions: int) -> np.ndarray:
    """Reward 1 for action 0, 0 for every other action, in every state."""
    r = np.zeros((n_states, n_actions))
    r[:, 0] = 1.0
    return r


def mixture(experts: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """What a model trained on all experts' data learns: their (weighted) average policy.

    Used in chapter 1."""
    if weights is None:
        return experts.mean(axis=0)
    w = np.asarray(weights, dtype=float)
    return np.tensordot(w / w.sum(), experts, axes=1)


def expected_reward(policy: np.ndarray, rewards: np.ndarray) -> float:
    """Mean over states of ``sum_a policy(a) * reward(a)``."""
    return float((policy * rewards).sum(axis=-1).mean())


def reward_at_temperature(policy: np.ndarray, rewards: np.ndarray, tau: float) -> float:
    """r(tau): the expected reward of sampling ``policy`` at temperature ``tau``."""
    return expected_reward(apply_temperature(policy, tau), rewards)


def majority_vote_reward(policy: np.ndarray, rewards: np.ndarray) -> float:
    """The reward of the argmax (the limit tau -> 0).

    Used in chapter 1."""
    return reward_at_temperature(policy, rewards, 0.0)


def expert_rewards(experts: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """Each expert's own expected reward, ``[n_experts]``."""
    return np.array([expected_reward(e, rewards) for e in experts])


def transcendence_gap(experts: np.ndarray, rewards: np.ndarray) -> float:
    """Majority-vote reward minus the best expert's: > 0 means low temperature transcends."""
    return majority_vote_reward(mixture(experts), rewards) - float(expert_rewards(experts, rewards).max())


@dataclass
class Curve:
    """r(tau) of the mixture, with the experts' rewards for reference."""
    taus: np.ndarray
    model: np.ndarray
    experts: np.ndarray
    majority_vote: float
    label: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def best_expert(self) -> float:
        return float(self.experts.max())

    @property
    def average_expert(self) -> float:
        return float(self.experts.mean())


def temperature_curve(world: ToyWorld, taus: np.ndarray, label: str = "") -> Curve:
    """r(tau) for the mixture of ``world``'s experts at every tau in ``taus``.

    Used in chapter 1."""
    experts = expert_policies(world)
    rewards = correct_rewards(world.n_states, world.n_actions)
    m = mixture(experts)
    model = np.array([reward_at_temperature(m, rewards, float(t)) for t in taus])
    return Curve(np.asarray(taus, dtype=float), model, expert_rewards(experts, rewards),
                 majority_vote_reward(m, rewards), label)


def sweep_experts(n_experts: list[int], accuracy: float, correlation: float = 0.0,
                  n_states: int = 500, n_actions: int = 5, seed: int = 0) -> np.ndarray:
    """Majority-vote reward with 1, 2, ... equally accurate experts: more voices, less noise.

    Used in chapter 1."""
    out = []
    for k in n_experts:
        world = ToyWorld(accuracies=(accuracy,) * k, n_states=n_states, n_actions=n_actions,
                         correlation=correlation, spread=0.0, seed=seed)
        experts = expert_policies(world)
        out.append(majority_vote_reward(mixture(experts), correct_rewards(n_states, n_actions)))
    return np.array(out)


def single_state_reward(mix: list[float] | np.ndarray, tau: float) -> float:
    """r(tau) of one state whose action 0 is right: ``m0^(1/tau) / sum_a m_a^(1/tau)``.

    Used in chapter 1."""
    m = np.asarray(mix, dtype=float)[None, :]
    return reward_at_temperature(m, correct_rewards(1, m.shape[1]), tau)
