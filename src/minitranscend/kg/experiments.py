"""The chapter's three experiments — skill denoising, selection, generalization — and their figures.

Each ``run_*`` takes a :class:`~minitranscend.settings.KGConfig` (the
:func:`~minitranscend.settings.kg_config` of a profile: ``"ci"``, a minute for the whole chapter;
``"full"``, a few minutes each on 2 cores), writes ``runs/<profile>/kg/<experiment>.json`` and
returns the same dict. A result file whose recorded settings match is reused
(:func:`~minitranscend.store.cached_json`), so a rerun (or the notebook after the CLI) costs
nothing; ``force=True`` recomputes.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..paths import run_dir
from ..settings import KGConfig, kg_config
from ..store import cached_json
from .experts import ExpertConfig, make_experts
from .graph import RELATION_BY_NAME, KnowledgeGraph, TwoHop, generate_graph
from .learners import (TransformerConfig, Vocab, candidates_for, cot_accuracy,
                       count_learner_for, fact_prompts, pack_epochs, pool_sentences,
                       train_transformer, transformer_accuracy, two_hop_prompts)

EXPERIMENTS = ("denoising", "selection", "generalization")


def _cached(config: KGConfig, experiment: str, compute: Callable[[], dict], force: bool) -> dict:
    """``runs/<profile>/kg/<experiment>.json``: reused while it records the same settings (as
    ``"profile"``), else computed and written."""
    path = run_dir(config.name, "kg") / f"{experiment}.json"
    return cached_json(path, config, lambda: {"experiment": experiment, **compute()},
                       force=force, key="profile")


def _truth(graph: KnowledgeGraph) -> np.ndarray:
    return np.array([f.tail for f in graph.facts])


# ----------------------------------------------------------------------------- denoising

def plurality_accuracy(k: int, c: float, m: int, n_sims: int = 5000, seed: int = 0) -> float:
    """P(the plurality of k experts is right) when each is right with probability c and otherwise
    names one of the m-1 wrong candidates uniformly (ties split evenly): the majority-vote
    prediction for the count learner's greedy accuracy, by simulation."""
    rng = np.random.default_rng(seed)
    right = rng.binomial(k, c, size=n_sims)
    wrong = rng.multinomial(k - right, np.full(m - 1, 1.0 / (m - 1)))
    top = wrong.max(axis=1)
    n_top = (wrong == top[:, None]).sum(axis=1)
    return float(np.mean(np.where(right > top, 1.0, np.where(right == top, 1.0 / (n_top + 1), 0.0))))


def majority_vote_prediction(graph: KnowledgeGraph, k: int, c: float) -> float:
    """:func:`plurality_accuracy` averaged over the graph's facts (their candidate-set sizes)."""
    sizes = [len(graph.of_type(RELATION_BY_NAME[f.relation].tail_type)) for f in graph.facts]
    ms, counts = np.unique(sizes, return_counts=True)
    return float(sum(n * plurality_accuracy(k, c, int(m)) for m, n in zip(ms, counts)) / len(sizes))


def _transformer_scores(pool, vocab: Vocab, cfg: TransformerConfig, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    X, Y = pack_epochs(pool_sentences(pool, vocab, rng), cfg.block_size, vocab.w("<bos>"), rng)
    model = train_transformer(X, Y, len(vocab), replace(cfg, seed=seed), progress=True)
    P, T = fact_prompts(vocab, pool.graph.facts)
    return {"tau1": transformer_accuracy(model, P, T, 1.0), "greedy": transformer_accuracy(model, P, T, 0),
            "loss": model.final_loss, "seconds": model.train_seconds}


def run_denoising(profile: KGConfig, force: bool = False) -> dict:
    """Every expert writes every fact once; sweep the number of experts and their coverage."""
    def compute() -> dict:
        graph = generate_graph(profile.graph)
        truth, cand = _truth(graph), candidates_for(graph)
        rows = []
        for c in profile.coverages:
            for k in profile.n_experts:
                acc = {"tau1": [], "greedy": [], "best_expert": []}
                for s in range(profile.seeds):
                    pool = make_experts(graph, ExpertConfig(n_experts=k, coverage=c, seed=s))
                    learner = count_learner_for(pool)
                    acc["tau1"].append(learner.accuracy(truth, 1.0, cand))
                    acc["greedy"].append(learner.accuracy(truth, 0, cand))
                    acc["best_expert"].append(float(pool.accuracies().max()))
                rows.append({"coverage": c, "n_experts": k, **{a: float(np.mean(v)) for a, v in acc.items()},
                             "majority_vote": majority_vote_prediction(graph, k, c)})
        vocab = Vocab(graph)
        tf = []
        for k, c in profile.denoise_transformer:
            pool = make_experts(graph, ExpertConfig(n_experts=k, coverage=c, seed=0))
            tf.append({"coverage": c, "n_experts": k, "best_expert": float(pool.accuracies().max()),
                       **_transformer_scores(pool, vocab, profile.transformer, seed=0)})
        return {"count": rows, "transformer": tf}
    return _cached(profile, "denoising", compute, force)


# ----------------------------------------------------------------------------- selection

def selection_condition(correct_a: np.ndarray, correct_b: np.ndarray, g_a: np.ndarray,
                        g_b: np.ndarray) -> float:
    """E_x[(r_x(f_a) - r_x(f_b)) (g(a|x) - g(b|x))] over the test facts x (uniform)."""
    return float(np.mean((correct_a - correct_b) * (g_a - g_b)))


def _selection_pool(graph: KnowledgeGraph, profile: KGConfig, k: int, alpha: float, seed: int):
    return make_experts(graph, ExpertConfig(
        n_experts=k, coverage=profile.away_coverage, home_coverage=profile.home_coverage,
        alpha=alpha, statements_per_expert=profile.statements_per_fact * len(graph.facts), seed=seed))


def run_selection(profile: KGConfig, force: bool = False) -> dict:
    """Regional experts (one per country, accurate at home) who write exp(alpha) times more at
    home; and two experts (half the countries each) for the selection condition."""
    def compute() -> dict:
        graph = generate_graph(profile.graph)
        truth, cand = _truth(graph), candidates_for(graph)
        k = graph.n_regions
        rows = []
        for alpha in profile.alphas:
            acc = {"tau1": [], "greedy": [], "best_expert": [], "mean_expert": []}
            for s in range(profile.seeds):
                pool = _selection_pool(graph, profile, k, alpha, s)
                learner = count_learner_for(pool)
                acc["tau1"].append(learner.accuracy(truth, 1.0, cand))
                acc["greedy"].append(learner.accuracy(truth, 0, cand))
                acc["best_expert"].append(float(pool.accuracies().max()))
                acc["mean_expert"].append(float(pool.accuracies().mean()))
            rows.append({"alpha": alpha, **{a: float(np.mean(v)) for a, v in acc.items()}})
        two = []
        for alpha in profile.two_expert_alphas:
            for s in range(profile.seeds):
                pool = _selection_pool(graph, profile, 2, float(alpha), s)
                learner = count_learner_for(pool)
                r, g, accs = pool.correct().astype(float), pool.shares(), pool.accuracies()
                tau1 = learner.accuracy(truth, 1.0, cand)
                two.append({"alpha": float(alpha), "seed": s,
                            "condition": selection_condition(r[0], r[1], g[0], g[1]),
                            "accuracy_gap": float(abs(accs[0] - accs[1])),
                            "gain_tau1": tau1 - float(accs.max()),
                            "gain_greedy": learner.accuracy(truth, 0, cand) - float(accs.max())})
        vocab = Vocab(graph)
        tf = []
        for alpha in profile.select_transformer:
            pool = _selection_pool(graph, profile, k, alpha, 0)
            tf.append({"alpha": alpha, "best_expert": float(pool.accuracies().max()),
                       **_transformer_scores(pool, vocab, profile.transformer, seed=0)})
        return {"count": rows, "two_experts": two, "transformer": tf}
    return _cached(profile, "selection", compute, force)


# ----------------------------------------------------------------------------- generalization

def split_two_hops(graph: KnowledgeGraph, n_clusters: int, seed: int = 0
                   ) -> tuple[np.ndarray, list[TwoHop], list[TwoHop]]:
    """Deal entities into random clusters, one expert per cluster. An expert knows the one-hop
    facts about its cluster's heads, so it can state a two-hop fact only when the head *and* the
    bridge are its own. Returns (cluster of each entity, seen two-hops, held-out two-hops)."""
    cluster = np.random.default_rng([seed, 31]).integers(n_clusters, size=graph.n_entities)
    seen, held_out = [], []
    for q in graph.two_hops():
        (seen if cluster[q.head] == cluster[q.bridge] else held_out).append(q)
    return cluster, seen, held_out


def majority_relation_baseline(seen: list[TwoHop], held_out: list[TwoHop]) -> float:
    """Answer every (r1, r2) question with the tail most often seen for that composition."""
    by_rel: dict[tuple[str, str], Counter] = {}
    for q in seen:
        by_rel.setdefault((q.r1, q.r2), Counter())[q.tail] += 1
    hits = [bool(by_rel.get((q.r1, q.r2))) and by_rel[(q.r1, q.r2)].most_common(1)[0][0] == q.tail
            for q in held_out]
    return float(np.mean(hits))


def run_generalization(profile: KGConfig, force: bool = False) -> dict:
    """Train on every one-hop fact and on the two-hop facts some expert could write (direct and
    chain-of-thought); ask the held-out cross-cluster compositions. Every expert is right, so who
    wrote a sentence does not matter and the sentences are shuffled across writers."""
    def compute() -> dict:
        graph = generate_graph(profile.graph)
        vocab = Vocab(graph)
        _, seen, held_out = split_two_hops(graph, profile.n_clusters)
        sentences = [vocab.fact(*f) for f in graph.facts]
        sentences += [vocab.two_hop(q) for q in seen] + [vocab.two_hop_cot(q) for q in seen]
        cfg = replace(profile.transformer, block_size=48, steps=profile.generalization_steps)
        X, Y = pack_epochs(sentences, cfg.block_size, vocab.w("<bos>"), np.random.default_rng(0))
        model = train_transformer(X, Y, len(vocab), cfg, progress=True)
        P1, T1 = fact_prompts(vocab, graph.facts)
        Ps, Ts = two_hop_prompts(vocab, seen)
        Ph, Th = two_hop_prompts(vocab, held_out)
        cot = cot_accuracy(model, vocab, held_out)
        return {"n_seen": len(seen), "n_held_out": len(held_out),
                "one_hop": transformer_accuracy(model, P1, T1, 0),
                "seen_latent": transformer_accuracy(model, Ps, Ts, 0),
                "held_out_latent": transformer_accuracy(model, Ph, Th, 0),
                "held_out_latent_tau1": transformer_accuracy(model, Ph, Th, 1.0),
                "baseline": majority_relation_baseline(seen, held_out),
                "cot_bridge": cot["bridge"], "cot_answer": cot["answer"], "steps": cfg.steps,
                "loss": model.final_loss, "seconds": model.train_seconds}
    return _cached(profile, "generalization", compute, force)


RUNNERS = {"denoising": run_denoising, "selection": run_selection,
           "generalization": run_generalization}


def run(experiment: str, profile: str | KGConfig = "ci", force: bool = False) -> dict:
    """Run (or reuse) ``experiment`` with the settings of ``profile`` (a profile's name or a
    :class:`~minitranscend.settings.KGConfig`); returns its result dict.

    Used in chapter 8."""
    if experiment not in RUNNERS:
        raise ValueError(f"unknown experiment {experiment!r}; choose one of {EXPERIMENTS}")
    p = kg_config(profile) if isinstance(profile, str) else profile
    return RUNNERS[experiment](p, force=force)


# ----------------------------------------------------------------------------- figures

def figure_denoising(result: dict):
    import plotly.graph_objects as go

    fig = go.Figure()
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    rows = result["count"]
    for j, c in enumerate(sorted({r["coverage"] for r in rows})):
        rs = [r for r in rows if r["coverage"] == c]
        x = [r["n_experts"] for r in rs]
        col = colors[j % len(colors)]
        fig.add_scatter(x=x, y=[r["greedy"] for r in rs], name=f"c={c}: count learner, greedy",
                        line=dict(color=col), mode="lines+markers")
        fig.add_scatter(x=x, y=[r["majority_vote"] for r in rs], name=f"c={c}: majority-vote prediction",
                        line=dict(color=col, dash="dot"), mode="lines")
        fig.add_scatter(x=x, y=[r["tau1"] for r in rs], name=f"c={c}: count learner, tau=1",
                        line=dict(color=col, dash="dash"), mode="lines")
        fig.add_scatter(x=x, y=[r["best_expert"] for r in rs], name=f"c={c}: best expert",
                        line=dict(color=col, width=1), opacity=0.4, mode="lines")
    for t in result["transformer"]:
        for key, sym in (("greedy", "star"), ("tau1", "circle-open")):
            fig.add_scatter(x=[t["n_experts"]], y=[t[key]], mode="markers", showlegend=True,
                            marker=dict(symbol=sym, size=13, color="black"),
                            name=f"transformer c={t['coverage']}, {key}")
    fig.update_layout(title="Skill denoising: accuracy vs number of experts",
                      xaxis=dict(title="number of experts k", type="log"),
                      yaxis=dict(title="expected exact-match accuracy", range=[0, 1.02]), height=520)
    return fig


def figure_selection(result: dict):
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "regional experts: accuracy vs writing knob alpha", "two experts: condition vs gain (tau=1)"))
    rows = result["count"]
    a = [r["alpha"] for r in rows]
    for key, name, dash in (("tau1", "count learner, tau=1", None), ("greedy", "count learner, greedy", None),
                            ("best_expert", "best expert", "dot"), ("mean_expert", "mean expert", "dash")):
        fig.add_scatter(x=a, y=[r[key] for r in rows], name=name, line=dict(dash=dash), row=1, col=1)
    t = result["transformer"]
    fig.add_scatter(x=[r["alpha"] for r in t], y=[r["tau1"] for r in t], mode="markers", name="transformer, tau=1",
                    marker=dict(symbol="circle-open", size=12, color="black"), row=1, col=1)
    fig.add_scatter(x=[r["alpha"] for r in t], y=[r["greedy"] for r in t], mode="markers", name="transformer, greedy",
                    marker=dict(symbol="star", size=12, color="black"), row=1, col=1)
    two = result["two_experts"]
    cond = np.array([r["condition"] for r in two])
    fig.add_scatter(x=cond, y=[r["gain_tau1"] for r in two], mode="markers", name="two experts (one dot per alpha, seed)",
                    marker=dict(color=[r["alpha"] for r in two], colorscale="RdBu", showscale=False),
                    text=[f"alpha={r['alpha']}" for r in two], row=1, col=2)
    xs = np.linspace(cond.min(), cond.max(), 2)
    fig.add_scatter(x=xs, y=xs / 2, mode="lines", name="gain = condition / 2", line=dict(dash="dot", color="grey"),
                    row=1, col=2)
    fig.update_xaxes(title_text="alpha", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="E[(r_a - r_b)(g_a - g_b)]", row=1, col=2)
    fig.update_yaxes(title_text="accuracy(tau=1) - best expert", row=1, col=2)
    fig.update_layout(title="Skill selection", height=480)
    return fig


def figure_generalization(result: dict):
    import plotly.graph_objects as go

    bars = [("one-hop facts", result["one_hop"]), ("seen two-hop (latent)", result["seen_latent"]),
            ("held-out two-hop (latent)", result["held_out_latent"]),
            ("majority-relation baseline", result["baseline"]),
            ("held-out, chain of thought", result["cot_answer"])]
    fig = go.Figure(go.Bar(x=[b[0] for b in bars], y=[b[1] for b in bars],
                           text=[f"{b[1]:.2f}" for b in bars], textposition="outside"))
    fig.update_layout(title="Skill generalization: composing facts from different experts (greedy)",
                      yaxis=dict(title="exact-match accuracy", range=[0, 1.1]), height=450)
    return fig


FIGURES = {"denoising": figure_denoising, "selection": figure_selection,
           "generalization": figure_generalization}
