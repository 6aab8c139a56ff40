"""Simulated experts who write about the graph: what each knows, how it errs, where it writes.

An expert is a fixed table of *beliefs*: for every fact it states one tail. It knows a fact with
probability ``coverage`` (``home_coverage`` in its home region); a fact it does not know it still
states, confidently and wrongly: a corruption replaces the true tail by another entity *of the
same type* ("The capital of Velmora is <some other city>"). This is half of the taxonomy paper's
noise: the paper corrupts either the head or the tail of a fact; we corrupt the tail only,
because a belief here is "the answer to the question (relation, head)", and a corrupted head
would be a statement about another question (it would put one fact's true tail under another
head). Errors are independent across experts unless ``correlation`` > 0: then a wrong answer is, with
that probability, the fact's one shared *decoy* — every confused expert makes the same mistake,
which is what kills majority voting.

Home is the expert's region by default; with ``n_clusters`` set, the facts are dealt at random
into that many clusters (equal sizes, one graph-level deal) and expert i's home is cluster
i mod n_clusters: the paper's selection experts each know a cluster of edges (its §5), and
with ``home_coverage=1`` and ``coverage=0`` an expert knows exactly a share 1/n_clusters.

How often an expert writes about a fact is its writing weight ``exp(alpha * [fact in home])``:
``alpha = 0`` writes uniformly (skill denoising: g(i|x) does not depend on x); ``alpha > 0``
writes more where it is right (skill selection); ``alpha < 0`` writes more where it is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import RELATION_BY_NAME, KnowledgeGraph


CORRUPTIONS = ("tail", "head_or_tail")


@dataclass
class ExpertPoolConfig:
    """How a pool of fact-writing experts is drawn (:func:`make_experts`). Named apart from
    :class:`minitranscend.players.ExpertConfig`, which configures one chess-playing expert.

    Used in chapter 8."""
    n_experts: int = 10
    coverage: float = 0.2            # P(expert knows a fact) outside its home region
    home_coverage: float | None = None   # P(knows) inside its home region; None: same as coverage
    alpha: float = 0.0               # log writing weight of home facts
    correlation: float = 0.0         # P(a wrong answer is the fact's shared decoy)
    statements_per_expert: int | None = None  # None: every fact exactly once (alpha must be 0)
    corruption: str = "tail"         # "tail" or "head_or_tail" (half the wrong answers head swaps)
    n_clusters: int | None = None    # None: home = region; else home = fact cluster i mod n_clusters
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_experts < 1:
            raise ValueError(f"n_experts must be >= 1, got {self.n_experts}")
        for k in ("coverage", "home_coverage", "correlation"):
            v = getattr(self, k)
            if v is not None and not 0.0 <= v <= 1.0:
                raise ValueError(f"{k} is a probability, got {v}")
        if self.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {self.corruption!r}")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1, got {self.n_clusters}")
        if self.statements_per_expert is None and self.alpha != 0.0:
            raise ValueError("alpha != 0 needs statements_per_expert (how many facts each expert "
                             "writes, drawn by its writing weights)")


@dataclass
class ExpertPool:
    """``beliefs[i, f]``: the tail expert i states for fact f; ``writes[i, f]``: how many times it
    writes that statement in the training data; ``home[i, f]``: f is in i's home region."""
    config: ExpertPoolConfig
    graph: KnowledgeGraph
    beliefs: np.ndarray
    knows: np.ndarray
    home: np.ndarray
    writes: np.ndarray

    @property
    def truth(self) -> np.ndarray:
        return np.array([f.tail for f in self.graph.facts])

    def correct(self) -> np.ndarray:
        """(k, F) booleans: does expert i state fact f correctly."""
        return self.beliefs == self.truth[None, :]

    def accuracies(self) -> np.ndarray:
        """Each expert's exact-match accuracy on the test distribution (all facts, uniformly)."""
        return self.correct().mean(axis=1)

    def shares(self) -> np.ndarray:
        """g(i|x): the share of the statements about fact x written by expert i (0 where unseen)."""
        n = self.writes.sum(axis=0, keepdims=True)
        return np.divide(self.writes, n, out=np.zeros(self.writes.shape), where=n > 0)

    def statements(self) -> list[tuple[int, int, int]]:
        """(expert, fact index, stated tail) once per written statement, expert by expert."""
        out = []
        for i, f in zip(*np.nonzero(self.writes)):
            out.extend([(int(i), int(f), int(self.beliefs[i, f]))] * int(self.writes[i, f]))
        return out


def home_mask(n_experts: int, n_regions: int, fact_region: np.ndarray) -> np.ndarray:
    """(k, F): is fact f in expert i's home? With at least as many experts as regions, expert i
    lives in region i mod R; with fewer, the regions are dealt out: i owns every r with r mod k = i."""
    i = np.arange(n_experts)[:, None]
    if n_experts >= n_regions:
        return (i % n_regions) == fact_region[None, :]
    return (fact_region[None, :] % n_experts) == i


def fact_clusters(n_facts: int, n_clusters: int) -> np.ndarray:
    """Facts dealt at random into ``n_clusters`` clusters of (nearly) equal size; one fixed deal
    per (n_facts, n_clusters), whatever the experts' seed."""
    order = np.random.default_rng([n_facts, n_clusters, 101]).permutation(n_facts)
    out = np.empty(n_facts, dtype=np.int64)
    out[order] = np.arange(n_facts) % n_clusters
    return out


def expert_home(graph: KnowledgeGraph, cfg: "ExpertPoolConfig") -> np.ndarray:
    """(k, F) booleans: is fact f in expert i's home (its region, or its fact cluster)."""
    if cfg.n_clusters is None:
        fact_region = np.array([graph.fact_region(f) for f in graph.facts])
        return home_mask(cfg.n_experts, graph.n_regions, fact_region)
    cl = fact_clusters(len(graph.facts), cfg.n_clusters)
    return (np.arange(cfg.n_experts)[:, None] % cfg.n_clusters) == cl[None, :]


def head_swap_answers(graph: KnowledgeGraph) -> list[np.ndarray]:
    """Per fact: the wrong answers a head swap can produce, the true tails of the same relation
    under other heads (excluding this fact's truth); may be empty."""
    by_rel: dict[str, np.ndarray] = {}
    for r in RELATION_BY_NAME:
        by_rel[r] = np.array([f.tail for f in graph.facts if f.relation == r], dtype=np.int64)
    return [np.unique(by_rel[f.relation][by_rel[f.relation] != f.tail]) for f in graph.facts]


def corrupt(graph: KnowledgeGraph, fact_index: int, rng: np.random.Generator) -> int:
    """A uniformly random entity of the fact's tail type, never the true tail."""
    f = graph.facts[fact_index]
    pool = graph.of_type(RELATION_BY_NAME[f.relation].tail_type)
    pool = pool[pool != f.tail]
    return int(rng.choice(pool))


def make_experts(graph: KnowledgeGraph, config: ExpertPoolConfig) -> ExpertPool:
    """Draw the experts' beliefs and writing counts; a pure function of (graph, config).

    Used in chapter 8."""
    cfg = config
    rng = np.random.default_rng([cfg.seed, 7919])
    k, F = cfg.n_experts, len(graph.facts)
    truth = np.array([f.tail for f in graph.facts])
    home = expert_home(graph, cfg)
    swaps = head_swap_answers(graph) if cfg.corruption == "head_or_tail" else None
    p_know = np.full((k, F), cfg.coverage)
    if cfg.home_coverage is not None:
        p_know[home] = cfg.home_coverage
    knows = rng.random((k, F)) < p_know
    decoys = np.array([corrupt(graph, j, rng) for j in range(F)])
    beliefs = truth[None, :].repeat(k, axis=0)
    # Per tail type: a vectorised draw of a wrong same-type entity (skip the truth by shifting).
    for j in range(F):
        wrong = np.nonzero(~knows[:, j])[0]
        if len(wrong) == 0:
            continue
        pool = graph.of_type(RELATION_BY_NAME[graph.facts[j].relation].tail_type)
        pool = pool[pool != truth[j]]
        picks = pool[rng.integers(len(pool), size=len(wrong))]
        if swaps is not None and len(swaps[j]):
            # head swaps (a randomly chosen half of the wrong answers): another head's true tail
            swapped = rng.random(len(wrong)) < 0.5
            picks = np.where(swapped, swaps[j][rng.integers(len(swaps[j]), size=len(wrong))], picks)
        shared = rng.random(len(wrong)) < cfg.correlation
        beliefs[wrong, j] = np.where(shared, decoys[j], picks)
    if cfg.statements_per_expert is None:
        writes = np.ones((k, F), dtype=np.int64)
    else:
        w = np.exp(cfg.alpha * home)
        w = w / w.sum(axis=1, keepdims=True)
        writes = np.stack([rng.multinomial(cfg.statements_per_expert, w[i]) for i in range(k)])
    return ExpertPool(cfg, graph, beliefs, knows, home, writes)
