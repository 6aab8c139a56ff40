"""Chapter 8: the knowledge graph, the simulated experts and the count learner."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minitranscend.kg import (CountLearner, GraphConfig, Vocab, count_learner_for,
                              generate_graph, make_experts, plurality_accuracy,
                              selection_condition, tempered_truth_probability)
from minitranscend.kg.splits import majority_relation_baseline, two_hop_splits
from minitranscend.kg.experts import ExpertPoolConfig
from minitranscend.kg.graph import RELATION_BY_NAME, RELATIONS
from minitranscend.kg.learners import pack_paragraphs

GRAPH = generate_graph(GraphConfig(seed=0))
TRUTH = np.array([f.tail for f in GRAPH.facts])


def test_graph_is_deterministic_per_seed_and_differs_across_seeds():
    again = generate_graph(GraphConfig(seed=0))
    assert again.names == GRAPH.names and again.facts == GRAPH.facts
    other = generate_graph(GraphConfig(seed=1))
    assert other.names != GRAPH.names
    assert [f.tail for f in other.facts] != [f.tail for f in GRAPH.facts]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), countries=st.integers(2, 6))
def test_every_edge_is_type_correct_and_functional(seed, countries):
    g = generate_graph(GraphConfig(seed=seed, n_countries=countries))
    seen = set()
    for f in g.facts:
        r = RELATION_BY_NAME[f.relation]
        assert g.types[f.head] == r.head_type and g.types[f.tail] == r.tail_type, g.sentence(f)
        assert (f.relation, f.head) not in seen  # one answer per question
        seen.add((f.relation, f.head))
        if f.relation == "twin":
            assert g.region[f.head] != g.region[f.tail]
    assert {f.relation for f in g.facts} == {r.name for r in RELATIONS}
    for q in g.two_hops():  # compositions chain through the bridge
        assert g.tail(q.r1, q.head) == q.bridge and g.tail(q.r2, q.bridge) == q.tail


def test_names_are_unique_and_pronounceable():
    assert len(set(GRAPH.names)) == len(GRAPH.names) == GRAPH.n_entities
    for name in GRAPH.names:
        assert re.fullmatch(r"[A-Z][a-z]{3,11}", name), name
        assert not re.search(r"[^aeiou]{4}", name.lower()), name   # no 4 consonants in a row
        assert re.search(r"[aeiou]", name.lower())
    assert GRAPH.sentence(GRAPH.facts[0]) == \
        f"The capital of {GRAPH.names[GRAPH.facts[0].head]} is {GRAPH.names[GRAPH.facts[0].tail]}."


def test_expert_coverage_and_corruptions():
    pool = make_experts(GRAPH, ExpertPoolConfig(n_experts=40, coverage=0.3, seed=1))
    assert abs(pool.knows.mean() - 0.3) < 0.02
    # It states the truth exactly where it knows it; elsewhere a same-type, different entity.
    assert np.array_equal(pool.correct(), pool.knows)
    i, f = np.nonzero(~pool.knows)
    for a, b in zip(i[:500], f[:500]):
        stated, fact = pool.beliefs[a, b], GRAPH.facts[b]
        assert stated != fact.tail
        assert GRAPH.types[stated] == RELATION_BY_NAME[fact.relation].tail_type
    # Independent errors spread out; fully correlated errors all name the same decoy.
    corr = make_experts(GRAPH, ExpertPoolConfig(n_experts=40, coverage=0.3, correlation=1.0, seed=1))
    wrong_answers = [set(corr.beliefs[~corr.knows[:, j], j]) for j in range(len(GRAPH.facts))]
    assert all(len(w) <= 1 for w in wrong_answers)
    assert np.mean([len(set(pool.beliefs[~pool.knows[:, j], j])) for j in range(50)]) > 5


def test_regional_experts_write_more_at_home():
    cfg = ExpertPoolConfig(n_experts=8, coverage=0.1, home_coverage=0.9, alpha=2.0,
                       statements_per_expert=2000, seed=0)
    pool = make_experts(GRAPH, cfg)
    assert pool.knows[pool.home].mean() > 0.85 and pool.knows[~pool.home].mean() < 0.15
    per_fact_home = pool.writes[pool.home].mean()
    per_fact_away = pool.writes[~pool.home].mean()
    assert 5 < per_fact_home / per_fact_away < 10   # exp(2) = 7.4
    with pytest.raises(ValueError, match="statements_per_expert"):
        ExpertPoolConfig(alpha=1.0)


def test_count_learner_is_majority_vote_on_hand_built_counts():
    learner = CountLearner(3, 4).fit(np.array([0, 0, 0, 1, 1, 1, 1]), np.array([2, 2, 1, 3, 0, 3, 0]))
    truth = np.array([2, 3, 1])
    greedy = tempered_truth_probability(learner.scores([np.arange(4)] * 3), truth, 0)
    assert greedy.tolist() == [1.0, 0.5, 0.25]          # clear win; a 2-2 tie; unseen = uniform guess
    tau1 = tempered_truth_probability(learner.scores([np.arange(4)] * 3), truth, 1.0)
    assert np.allclose(tau1, [2 / 3, 0.5, 0.25])         # tau = 1 reproduces the vote shares
    sharp = tempered_truth_probability(learner.scores()[:1], truth[:1], 0.1)
    assert sharp[0] > 0.999
    # a question with no possible answer (never written about, no candidates) is answered
    # wrongly at every temperature, tau = 0 included
    for tau in (0, 0.5, 1.0):
        assert tempered_truth_probability(learner.scores(), truth, tau)[2] == 0.0


def test_denoising_greedy_accuracy_rises_with_experts():
    acc = {}
    for k in (1, 5, 20, 100):
        pool = make_experts(GRAPH, ExpertPoolConfig(n_experts=k, coverage=0.2, seed=0))
        learner = count_learner_for(pool)
        acc[k] = (learner.accuracy(TRUTH, 0), learner.accuracy(TRUTH, 1.0), pool.accuracies().max())
    greedy = [acc[k][0] for k in (1, 5, 20, 100)]
    assert greedy == sorted(greedy) and greedy[-1] > 0.9
    assert all(abs(acc[k][1] - 0.2) < 0.05 for k in acc)           # tau = 1 stays at coverage
    assert acc[100][0] > acc[100][2] + 0.5                        # transcends the best expert
    assert abs(plurality_accuracy(100, 0.2, 40) - acc[100][0]) < 0.1


def test_selection_condition_explains_the_tau1_gain():
    r_a, r_b = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])
    assert selection_condition(r_a, r_b, np.array([1, 1, 0, 0.]), np.array([0, 0, 1, 1.])) == 1.0
    assert selection_condition(r_a, r_b, np.full(4, 0.5), np.full(4, 0.5)) == 0.0
    # Two symmetric experts: tau=1 gain over the best = condition/2 - accuracy gap/2 (exactly,
    # wherever both experts wrote about every fact).
    pool = make_experts(GRAPH, ExpertPoolConfig(n_experts=2, coverage=0.1, home_coverage=0.9, alpha=1.5,
                                            statements_per_expert=6 * len(GRAPH.facts), seed=3))
    assert (pool.writes.sum(axis=0) > 0).all()
    r, g, accs = pool.correct().astype(float), pool.shares(), pool.accuracies()
    gain = count_learner_for(pool).accuracy(TRUTH, 1.0) - accs.max()
    cond = selection_condition(r[0], r[1], g[0], g[1])
    assert cond > 0.3 and gain > 0.1
    assert abs(gain - (cond / 2 - abs(accs[0] - accs[1]) / 2)) < 1e-9


def test_two_hop_split_and_tokens():
    sp = two_hop_splits(GRAPH, 4)
    seen, held = sp.within, sp.test
    assert len(seen) + len(held) == len(GRAPH.two_hops()) and len(seen) > 100
    assert all(sp.cluster[q.head] != sp.cluster[q.bridge] for q in held)
    assert 0.0 < majority_relation_baseline(GRAPH, held) < 0.3
    vocab = Vocab(GRAPH)
    q = held[0]
    ids, ans = vocab.two_hop_cot(q)
    assert vocab.decode([ids[a] for a in ans]) == f"{GRAPH.names[q.bridge]} {GRAPH.names[q.tail]}"
    X, Y = pack_paragraphs([vocab.two_hop(q), vocab.fact(*GRAPH.facts[0])], 32, vocab.w("<bos>"))
    assert X.shape == (1, 32) and (Y >= 0).sum() == 2
    assert vocab.decode(X[0, :18]).startswith("<bos> the")


def tiny_graph_data():
    """A two-country graph and its packed fact sequences: the transformer tests' data."""
    from minitranscend.kg.learners import pack_epochs

    g = generate_graph(GraphConfig(n_countries=2, cities_per_country=2, people_per_city=1,
                                   companies_per_country=1, rivers_per_country=1, n_languages=2,
                                   n_currencies=2, seed=3))
    vocab = Vocab(g)
    X, Y = pack_epochs([vocab.fact(*f) for f in g.facts], 32, vocab.w("<bos>"),
                       np.random.default_rng(0), min_rows=256)
    return g, vocab, X, Y


def test_transformer_pipeline_learns_a_tiny_graph():
    from minitranscend.kg.learners import (TransformerConfig, cot_accuracy, fact_prompts,
                                           train_transformer, transformer_accuracy)

    g, vocab, X, Y = tiny_graph_data()
    cfg = TransformerConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=32, steps=150,
                            learning_rate=1e-2, warmup=10)
    model = train_transformer(X, Y, len(vocab), cfg)
    P, T = fact_prompts(vocab, g.facts)
    chance = 1 / 2  # the smallest candidate sets have two entities
    assert transformer_accuracy(model, P, T, 0) > chance
    assert 0 < transformer_accuracy(model, P, T, 1.0) <= 1
    cot = cot_accuracy(model, vocab, g.two_hops()[:5])
    assert set(cot) == {"bridge", "answer"}


def test_transformer_trains_with_the_generic_loop_as_it_did_with_its_own():
    """kg's transformer now trains with minitranscend.train.fit; on the same seed it reaches the
    loss the chapter's own loop reached (2.486666440963745 after 20 steps, recorded with that
    loop before it was removed), so the chapter's results do not change."""
    from minitranscend.kg.learners import TransformerConfig, kg_learning_rate, train_transformer

    g, vocab, X, Y = tiny_graph_data()
    cfg = TransformerConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=32, steps=20,
                            learning_rate=1e-2, warmup=10)
    model = train_transformer(X, Y, len(vocab), cfg)
    assert model.final_loss == pytest.approx(2.486666440963745, abs=1e-5)
    assert not model.training
    assert kg_learning_rate(cfg, 9) == pytest.approx(1e-2 * (0.55 + 0.45 * np.cos(np.pi * 9 / 20)))



@pytest.mark.parametrize("unit", ["entity", "sentence"])
def test_entity_paragraphs_keep_one_writer_and_one_entity_together(unit):
    from minitranscend.kg.learners import pack_epochs, pool_sentences

    vocab = Vocab(GRAPH)
    pool = make_experts(GRAPH, ExpertPoolConfig(n_experts=3, coverage=0.5, seed=4))
    units = pool_sentences(pool, vocab, np.random.default_rng(0), unit, block_size=32)
    statements = pool.statements()
    assert sum(len(a) for _, a in units) == len(statements)  # every statement, once
    heads_of = lambda toks: {toks[k + 3] for k in range(0, len(toks), 7)}  # noqa: E731
    assert all(len(t) % 7 == 0 and len(t) <= 32 for t, _ in units)  # whole sentences, fit a row
    assert all(t[p - 1] == vocab.w("is") for t, a in units for p in a)  # answers after "is"
    if unit == "sentence":
        assert all(len(t) == 7 for t, _ in units)
    else:
        assert all(len(heads_of(t)) == 1 for t, _ in units)  # one entity per paragraph
        assert max(len(t) for t, _ in units) > 7  # and paragraphs, not single sentences
        # the writers: the units come expert by expert, each expert's own statements
        n_by_expert = np.bincount([i for i, _, _ in statements])
        cuts = np.cumsum([len(a) for _, a in units])
        assert set(np.cumsum(n_by_expert)) <= set(cuts)
    X, Y = pack_epochs(units, 32, vocab.w("<bos>"), np.random.default_rng(1), min_rows=1)
    assert (Y >= 0).sum() >= len(statements)
    with pytest.raises(ValueError, match="unit"):
        pool_sentences(pool, vocab, np.random.default_rng(0), "document")
