"""Temperature: the one operator of chapter 1, used everywhere in the package.

Sampling a distribution ``p`` at temperature ``tau`` plays

    p_tau(a) = p(a)^(1/tau) / sum_b p(b)^(1/tau)  =  softmax(log p / tau)(a)

- ``tau = 1`` leaves ``p`` as it is (the model's own distribution: its *average* behaviour);
- ``tau > 1`` flattens it, ``tau < 1`` sharpens it;
- ``tau = 0`` is the limit ``tau -> 0``: the argmax, with **ties split evenly** (the limit of
  ``p^(1/tau)`` gives every tied maximum the same mass), so it is still a distribution and the
  majority vote of chapter 1 is exactly its expected reward.

Why one home: the toy world (chapter 1), the chess policy and the paper's character sampler
(chapters 5-7) and the knowledge-graph learners (chapter 8) all temper distributions; with one
operator they agree on what ``tau = 0`` means, on ties and on bad input.

Why log space: the textbook ``p ** (1 / tau)`` underflows to ``0 / 0 = nan`` (or overflows for
counts) at ``tau = 0.001``; ``(log p) / tau`` minus its maximum, then ``exp``, is exact and
stable for every ``tau > 0`` and for probabilities down to the smallest doubles (1e-300 and
below). Outcomes with probability 0 (logit ``-inf``) stay at 0 at every temperature.

Ties at ``tau = 0``: outcomes whose log-probability is within :data:`TIE_TOLERANCE` of the
largest count as tied, so that two mathematically equal probabilities computed along different
float paths (``(0.6 + 0.6) / 3`` vs ``0.4``) still split the mass.

Two entry points, both NumPy (so the toy world never needs torch), both along the last axis, so
a batch ``[..., n]`` is tempered row by row:

- :func:`apply_temperature` on probabilities (or non-negative weights, e.g. counts);
- :func:`softmax_at_temperature` / :func:`log_softmax_at_temperature` on logits (unnormalised
  log-probabilities, ``-inf`` allowed), for the samplers that hold a model's scores.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

TIE_TOLERANCE = 1e-12  # nats: log-probabilities this close to the maximum tie at tau = 0


def check_tau(tau: float) -> float:
    """``tau`` as a float, or ValueError unless it is a finite number >= 0."""
    try:
        t = float(tau)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number >= 0, got {tau!r}") from None
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {tau!r}")
    return t


def _logits(logits: np.ndarray | Sequence[float]) -> np.ndarray:
    """``logits`` as float64, or ValueError: nan / +inf, no outcome, or a row with none possible."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError("logits must have at least one outcome along the last axis")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits must be finite or -inf (an impossible outcome), not nan or +inf")
    if np.isneginf(z.max(axis=-1)).any():
        raise ValueError("every row of logits needs at least one possible (finite) outcome")
    return z


def log_softmax_at_temperature(logits: np.ndarray | Sequence[float], tau: float) -> np.ndarray:
    """``log softmax(logits / tau)`` along the last axis (float64).

    ``logits`` are unnormalised log-probabilities; ``-inf`` marks an impossible outcome and every
    row needs at least one finite entry. ``tau = 0``: ``log(1/k)`` on the ``k`` tied maxima
    (within :data:`TIE_TOLERANCE`), ``-inf`` elsewhere.
    """
    tau, z = check_tau(tau), _logits(logits)
    if tau == 0:
        tied = z >= z.max(axis=-1, keepdims=True) - TIE_TOLERANCE
        return np.where(tied, -np.log(tied.sum(axis=-1, keepdims=True)), -np.inf)
    z = z / tau
    z -= z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax_at_temperature(logits: np.ndarray | Sequence[float], tau: float) -> np.ndarray:
    """``softmax(logits / tau)`` along the last axis (float64); ``tau = 0``: uniform over the
    tied maxima. Same input rules as :func:`log_softmax_at_temperature`."""
    tau, z = check_tau(tau), _logits(logits)
    if tau == 0:
        tied = z >= z.max(axis=-1, keepdims=True) - TIE_TOLERANCE
        return tied / tied.sum(axis=-1, keepdims=True)
    z = z / tau
    z -= z.max(axis=-1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=-1, keepdims=True)


def apply_temperature(probs: np.ndarray | Sequence[float], tau: float) -> np.ndarray:
    """``probs^(1/tau)`` renormalised along the last axis, computed in log space.

    ``probs``: a distribution, or a batch ``[..., n]`` of them (non-negative weights such as
    counts are normalised too). ``tau = 1`` returns ``probs`` normalised; ``tau = 0`` is the
    argmax with ties split evenly; zeros stay zero at every ``tau``. ValueError for a negative,
    nan or infinite ``tau`` or for probabilities that are negative, not finite, or sum to 0.

    Used in chapters 1 and 5 (and through ``toy``, ``policy`` and ``kg`` in chapters 1-8).
    """
    tau = check_tau(tau)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError("probs must have at least one outcome along the last axis")
    if not np.isfinite(p).all() or (p < 0).any() or (p.sum(axis=-1) <= 0).any():
        raise ValueError("probs must be non-negative, finite numbers with a positive sum")
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    return softmax_at_temperature(logp, tau)
