"""Chapter 8's generalization data: held-out splits without leakage, Appendix A.2's threshold,
the shortcut baselines, the selection sweep's closed form, head-or-tail corruption, phrasings."""
from __future__ import annotations

import numpy as np
import pytest

from minitranscend.kg import GraphConfig, Vocab, count_learner_for, generate_graph, make_experts
from minitranscend.kg.experiments import (leaked_two_hops, selection_vote_closed_form,
                                          threshold_table)
from minitranscend.kg.experts import ExpertPoolConfig, fact_clusters, head_swap_answers
from minitranscend.kg.graph import DEGENERATE, RELATION_BY_NAME, TwoHop
from minitranscend.kg.splits import (a2_sides, cluster_entities, direct_connection_baseline,
                                     is_within, majority_relation_baseline,
                                     simplicity_bias_accuracy, two_hop_splits)
from minitranscend.settings import KGConfig, kg_config

GRAPH = generate_graph(GraphConfig(seed=0))
TRUTH = np.array([f.tail for f in GRAPH.facts])


def all_compositions(graph):
    """Every (h, r1, b, r2, t) that chains, degenerate ones included (what A.2's formula counts)."""
    out = []
    for f in graph.facts:
        for g in graph.facts:
            if g.head == f.tail:
                out.append(TwoHop(f.head, f.relation, f.tail, g.relation, g.tail))
    return out


@pytest.mark.parametrize("scheme,k", [("random", 4), ("region", 4), ("region", 8), ("random", 2)])
def test_splits_are_disjoint_and_cover_every_two_hop(scheme, k):
    sp = two_hop_splits(GRAPH, k, scheme, validation_fraction=0.2, seed=0)
    train, val, test = set(sp.train), set(sp.validation), set(sp.test)
    assert not (train & val) and not (train & test) and not (val & test)
    assert len(train) + len(val) + len(test) == len(GRAPH.two_hops())
    assert train | val | test == set(GRAPH.two_hops())
    # validation is within expertise and held out; test is across expertise
    assert all(is_within(sp.cluster, q) for q in sp.train + sp.validation)
    assert not any(is_within(sp.cluster, q) for q in sp.test)
    assert abs(len(val) - 0.2 * (len(train) + len(val))) <= 1
    # no two splits share a question (head, r1, r2): the answer is never readable from another
    questions = [{(q.head, q.r1, q.r2) for q in s} for s in (train, val, test)]
    assert not (questions[0] & questions[1]) and not (questions[0] & questions[2])
    # deterministic
    again = two_hop_splits(GRAPH, k, scheme, validation_fraction=0.2, seed=0)
    assert again.train == sp.train and again.validation == sp.validation


def test_no_held_out_two_hop_appears_in_any_training_text():
    sp = two_hop_splits(GRAPH, 4, "region")
    vocab = Vocab(GRAPH)
    one_hop = [vocab.fact(*f) for f in GRAPH.facts]
    for text in (one_hop + [vocab.two_hop(q) for q in sp.train],
                 one_hop + [vocab.two_hop_cot(q) for q in sp.train]):
        assert leaked_two_hops(text, vocab, sp.validation + sp.test) == 0
        assert leaked_two_hops(text, vocab, sp.train[:5]) == 5        # the check does see leaks
    # the composed fact (head, tail) of a test question is never a written two-hop sentence
    written = {(q.head, q.r1, q.r2, q.tail) for q in sp.train}
    assert not any((q.head, q.r1, q.r2, q.tail) in written for q in sp.test + sp.validation)


@pytest.mark.parametrize("scheme,k", [("random", 4), ("region", 4), ("random", 1)])
def test_a2_sides_match_counting_the_compositions(scheme, k):
    cluster = cluster_entities(GRAPH, k, scheme)
    sides = a2_sides(GRAPH, cluster, kappa_comp=7)
    comps = all_compositions(GRAPH)
    assert sides["one_hop"] == len(GRAPH.facts)
    assert sides["within_two_hop"] == sum(is_within(cluster, q) for q in comps)
    usable = [q for q in comps if is_within(cluster, q) and (q.r1, q.r2) not in DEGENERATE]
    assert sides["within_usable"] == len(usable)
    assert sides["within_usable"] == len(two_hop_splits(GRAPH, k, scheme, 0.0).train)
    assert sides["composes"] == (sides["one_hop"] + 7 < sides["within_two_hop"])
    if k == 1:   # one expert knows everything: every composition is within expertise
        assert sides["within_two_hop"] == len(comps)


def test_a2_threshold_on_the_chapter_graphs():
    """The issue's numbers: random clusters (k=4) give 251 within-expertise two-hops against 488
    one-hop facts (memorization predicted); local expertise (countries) crosses the line."""
    rows = {(r["scheme"], r["n_clusters"]): r for r in threshold_table(GRAPH, KGConfig())}
    assert rows[("random", 4)]["one_hop"] == 488 and rows[("random", 4)]["within_usable"] == 251
    assert not rows[("random", 4)]["composes"]
    assert rows[("region", 4)]["composes"] and rows[("region", 4)]["train_composes"]
    assert simplicity_bias_accuracy(488, 488) == 0.0 and simplicity_bias_accuracy(489, 488) == 1.0
    assert simplicity_bias_accuracy(489, 488, kappa_comp=5) == 0.0


def test_baselines_follow_the_paper_definitions():
    sp = two_hop_splits(GRAPH, 4, "region")
    neighbours = {}
    for f in GRAPH.facts:
        neighbours.setdefault(f.head, set()).add(f.tail)
    expected = np.mean([q.tail in neighbours[q.head] for q in sp.validation])
    assert direct_connection_baseline(GRAPH, sp.validation) == pytest.approx(expected)
    q = sp.test[0]
    hand = [TwoHop(q.head, q.r1, q.bridge, q.r2, t) for t in (q.tail, -1)]
    top = majority_relation_baseline(GRAPH, hand[:1])
    assert top in (0.0, 1.0) and majority_relation_baseline(GRAPH, hand[1:]) == 0.0
    assert 0.0 < majority_relation_baseline(GRAPH, sp.test) < 0.5


def test_selection_sweep_closed_form_matches_the_count_learner():
    cfg = ExpertPoolConfig(n_experts=30, coverage=0.0, home_coverage=1.0, alpha=5.0, correlation=1.0,
                           n_clusters=10, statements_per_expert=4 * len(GRAPH.facts), seed=0)
    pool = make_experts(GRAPH, cfg)
    cl = fact_clusters(len(GRAPH.facts), 10)
    assert np.bincount(cl).max() - np.bincount(cl).min() <= 1
    assert np.array_equal(pool.knows, pool.home)             # knows exactly its cluster
    assert abs(pool.accuracies().mean() - 0.1) < 0.01
    closed = selection_vote_closed_form(GRAPH, cfg)
    learner = count_learner_for(pool)
    assert learner.accuracy(TRUTH, 1.0) == pytest.approx(closed["tau1"], abs=0.03)
    assert learner.accuracy(TRUTH, 0) == pytest.approx(closed["greedy"], abs=0.03)
    one = selection_vote_closed_form(GRAPH, ExpertPoolConfig(
        n_experts=1, coverage=0.0, home_coverage=1.0, alpha=5.0, correlation=1.0, n_clusters=10,
        statements_per_expert=100))
    assert one["greedy"] == pytest.approx(np.mean(cl == 0))
    with pytest.raises(ValueError, match="correlation"):
        selection_vote_closed_form(GRAPH, ExpertPoolConfig(n_clusters=10))


def test_head_or_tail_corruption_swaps_heads_for_half_the_errors():
    base = ExpertPoolConfig(n_experts=40, coverage=0.3, seed=1)
    tail = make_experts(GRAPH, base)
    both = make_experts(GRAPH, ExpertPoolConfig(n_experts=40, coverage=0.3, seed=1,
                                                corruption="head_or_tail"))
    swaps = head_swap_answers(GRAPH)
    i, f = np.nonzero(~both.knows)
    assert all(both.beliefs[a, b] != TRUTH[b] for a, b in zip(i, f))
    assert all(GRAPH.types[both.beliefs[a, b]] == RELATION_BY_NAME[GRAPH.facts[b].relation].tail_type
               for a, b in zip(i[:300], f[:300]))
    # a head swap states another head's true tail of the same relation: for a capital, another
    # country's capital (8 of the 40 cities), which a random wrong city rarely is
    capital = np.array([g.relation == "capital" for g in GRAPH.facts])

    def share_swapped(pool):
        a, b = np.nonzero(~pool.knows & capital[None, :])
        return np.mean([pool.beliefs[x, y] in swaps[y] for x, y in zip(a, b)])
    assert share_swapped(tail) < 0.3 and share_swapped(both) > 0.5
    with pytest.raises(ValueError, match="corruption"):
        ExpertPoolConfig(corruption="head")


def test_phrasings_share_the_question_tokens_and_keep_the_default_vocabulary():
    one, three = Vocab(GRAPH), Vocab(GRAPH, phrasings=3)
    assert len(three) == len(one) + 5 and three.tokens[:len(one)] == one.tokens
    f = GRAPH.facts[7]
    sents = three.fact_phrasings(*f)
    assert len({tuple(s) for s, _ in sents}) == 3
    for s, a in sents:
        assert [s[j] for j in a] == [three.ent(f.tail)]
    with pytest.raises(ValueError):
        one.fact(*f, template=1)
    with pytest.raises(ValueError):
        Vocab(GRAPH, phrasings=5)


def test_profiles_are_typed_and_validated():
    ci, full = kg_config("ci"), kg_config("full")
    assert ci.gen_cluster_scheme == "region" and len(full.gen_fractions) > len(ci.gen_fractions)
    assert full.phrasings > 1 and full.select_sweep_transformer
    with pytest.raises(ValueError):
        KGConfig(corruption="middle")
    with pytest.raises(ValueError):
        KGConfig(gen_fractions=(1.5,))
