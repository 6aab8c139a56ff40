"""Skill generalization's data: who knows which edges, the held-out two-hop splits, the
Appendix A.2 threshold of the taxonomy paper and the shortcut baselines.

An expert knows the one-hop facts whose **head** lies in its cluster (who knows a city knows its
river), so the edges are partitioned by their head's cluster. A two-hop fact ``r2(r1(h))`` is
*within expertise* when both of its edges belong to one expert (head and bridge in the same
cluster) and *across expertise* otherwise. :func:`two_hop_splits` holds out a within-expertise
**validation** split from the training two-hops and keeps every across-expertise two-hop as the
**test** split, as in the paper's §6.

Clusters are either ``"random"`` (entities dealt at random) or ``"region"`` (whole countries dealt
to clusters, country ``r`` to cluster ``r mod k``): the paper clusters its graph's edges
spectrally, so that an expert's knowledge is local, and ``"region"`` is the analogue here.

The paper's Appendix A.2 argues that a learner biased to simple solutions prefers composing
one-hop facts to memorising two-hop answers once

    sum_v d_in(v) + kappa_comp  <  sum_i sum_v d_in^(i)(v) * d_out^(i)(v),

the one-hop facts (plus a constant cost of composing) against the within-expertise two-hop
examples; :func:`a2_sides` computes both sides from the degrees.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .graph import DEGENERATE, RELATION_BY_NAME, KnowledgeGraph, TwoHop

SCHEMES = ("random", "region")


def cluster_entities(graph: KnowledgeGraph, n_clusters: int, scheme: str = "random",
                     seed: int = 0) -> np.ndarray:
    """The cluster (expert) of every entity: ``"random"``, or ``"region"`` (country r to cluster
    r mod n_clusters; entities with no region — languages, currencies, never a head — go to 0)."""
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
    if scheme == "random":
        return np.random.default_rng([seed, 31]).integers(n_clusters, size=graph.n_entities)
    if scheme == "region":
        return np.array([max(r, 0) % n_clusters for r in graph.region])
    raise ValueError(f"unknown cluster scheme {scheme!r}; choose one of {SCHEMES}")


@dataclass
class TwoHopSplits:
    """``train`` and ``validation``: within-expertise two-hops (disjoint); ``test``: every
    across-expertise two-hop. ``cluster``: each entity's cluster."""
    cluster: np.ndarray
    train: list[TwoHop]
    validation: list[TwoHop]
    test: list[TwoHop]

    @property
    def within(self) -> list[TwoHop]:
        return self.train + self.validation


def is_within(cluster: np.ndarray, q: TwoHop) -> bool:
    """Both edges of ``q`` belong to one expert: the head and the bridge share a cluster."""
    return bool(cluster[q.head] == cluster[q.bridge])


def two_hop_splits(graph: KnowledgeGraph, n_clusters: int, scheme: str = "random",
                   validation_fraction: float = 0.2, seed: int = 0) -> TwoHopSplits:
    """Within-expertise two-hops dealt into train and a held-out validation split (a seeded
    ``validation_fraction`` of them); across-expertise two-hops are the test split.

    Used in chapter 8."""
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    cluster = cluster_entities(graph, n_clusters, scheme, seed)
    within, test = [], []
    for q in graph.two_hops():
        (within if is_within(cluster, q) else test).append(q)
    order = np.random.default_rng([seed, 47]).permutation(len(within))
    n_val = int(round(validation_fraction * len(within)))
    validation = [within[j] for j in sorted(order[:n_val])]
    train = [within[j] for j in sorted(order[n_val:])]
    return TwoHopSplits(cluster, train, validation, test)


def a2_sides(graph: KnowledgeGraph, cluster: np.ndarray, kappa_comp: int = 0) -> dict:
    """Both sides of Appendix A.2's sufficient condition for composition, from the degrees:
    ``one_hop`` = sum_v d_in(v) = |F1|, ``within_two_hop`` = sum_i sum_v d_in^(i)(v) d_out^(i)(v)
    (every within-expertise composition, degenerate ones such as the country of the capital
    included, as the formula counts them), ``within_usable`` (the same without those, what
    :func:`two_hop_splits` can train on) and ``composes`` (the inequality holds)."""
    n, k = graph.n_entities, int(cluster.max()) + 1
    d_in = np.zeros((k, n), dtype=np.int64)
    d_out = np.zeros((k, n), dtype=np.int64)
    for f in graph.facts:
        i = cluster[f.head]                     # the edge belongs to the head's expert
        d_out[i, f.head] += 1
        d_in[i, f.tail] += 1
    within = int((d_in * d_out).sum())
    degenerate = sum(1 for f in graph.facts for r1, r2 in DEGENERATE
                     if f.relation == r1 and cluster[f.head] == cluster[f.tail]
                     and (r2, f.tail) in graph._tail)
    one_hop = len(graph.facts)
    return {"one_hop": one_hop, "kappa_comp": kappa_comp, "within_two_hop": within,
            "within_usable": within - degenerate, "composes": bool(one_hop + kappa_comp < within)}


def simplicity_bias_accuracy(n_two_hop_train: int, n_one_hop: int, kappa_comp: int = 0) -> float:
    """Appendix A.2's idealised learner on across-expertise two-hops: among the zero-loss
    hypotheses it takes the least complex, a memorising table (complexity |D|, no answer for an
    unseen question: accuracy 0) or one-hop lookups composed (|F1| + kappa_comp, every answer
    right when the one-hop facts are). Ties go to memorisation."""
    return 1.0 if n_one_hop + kappa_comp < n_two_hop_train else 0.0


def direct_connection_baseline(graph: KnowledgeGraph, qs: list[TwoHop]) -> float:
    """The paper's direct-connection shortcut (its App. B.3.1): the share of two-hop questions
    (h, r1, r2) -> t whose answer t is a one-hop neighbour of h (some fact (h, r, t))."""
    if not qs:
        return float("nan")
    neighbours: dict[int, set[int]] = {}
    for f in graph.facts:
        neighbours.setdefault(f.head, set()).add(f.tail)
    return float(np.mean([q.tail in neighbours.get(q.head, ()) for q in qs]))


def majority_relation_baseline(graph: KnowledgeGraph, qs: list[TwoHop]) -> float:
    """The paper's majority-relation shortcut: answer (h, r1, r2) with the entity of the right
    type that is most often the tail of r2 among the one-hop facts."""
    if not qs:
        return float("nan")
    top = {}
    for r in RELATION_BY_NAME:
        tails = Counter(f.tail for f in graph.facts if f.relation == r)
        top[r] = tails.most_common(1)[0][0] if tails else -1
    return float(np.mean([top[q.r2] == q.tail for q in qs]))
