"""The chapter's three experiments — skill denoising, selection, generalization — and their figures.

Each ``run_*`` takes a :class:`~minitranscend.settings.KGConfig` (the
:func:`~minitranscend.settings.kg_config` of a profile: ``"ci"``, a minute for the whole chapter;
``"full"``, a few minutes each on 2 cores), writes ``runs/<profile>/kg/<experiment>.json`` and
returns the same dict. A result file whose recorded settings match is reused
(:func:`~minitranscend.store.cached_json`), so a rerun (or the notebook after the CLI) costs
nothing; ``force=True`` recomputes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..paths import run_dir
from ..settings import KGConfig, kg_config
from ..store import cached_json
from .experts import ExpertPoolConfig, expert_home, make_experts
from .graph import RELATION_BY_NAME, KnowledgeGraph, TwoHop, generate_graph
from .learners import (TransformerConfig, Vocab, candidates_for, cot_accuracy,
                       count_learner_for, fact_prompts, pack_epochs, pool_sentences,
                       train_transformer, transformer_accuracy, two_hop_prompts)
from .splits import (a2_sides, cluster_entities, direct_connection_baseline,
                     majority_relation_baseline,
                     simplicity_bias_accuracy, two_hop_splits)

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


def _transformer_scores(pool, vocab: Vocab, cfg: TransformerConfig, seed: int,
                        unit: str = "entity") -> dict:
    rng = np.random.default_rng(seed)
    X, Y = pack_epochs(pool_sentences(pool, vocab, rng, unit, cfg.block_size), cfg.block_size,
                       vocab.w("<bos>"), rng)
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
                    pool = make_experts(graph, ExpertPoolConfig(n_experts=k, coverage=c, seed=s,
                                                                corruption=profile.corruption))
                    learner = count_learner_for(pool)
                    acc["tau1"].append(learner.accuracy(truth, 1.0, cand))
                    acc["greedy"].append(learner.accuracy(truth, 0, cand))
                    acc["best_expert"].append(float(pool.accuracies().max()))
                rows.append({"coverage": c, "n_experts": k, **{a: float(np.mean(v)) for a, v in acc.items()},
                             "majority_vote": majority_vote_prediction(graph, k, c)})
        vocab = Vocab(graph)
        tf = []
        for k, c in profile.denoise_transformer:
            pool = make_experts(graph, ExpertPoolConfig(n_experts=k, coverage=c, seed=0))
            tf.append({"coverage": c, "n_experts": k, "best_expert": float(pool.accuracies().max()),
                       **_transformer_scores(pool, vocab, profile.transformer, seed=0,
                                            unit=profile.paragraphs)})
        return {"count": rows, "transformer": tf}
    return _cached(profile, "denoising", compute, force)


# ----------------------------------------------------------------------------- selection

def selection_condition(correct_a: np.ndarray, correct_b: np.ndarray, g_a: np.ndarray,
                        g_b: np.ndarray) -> float:
    """E_x[(r_x(f_a) - r_x(f_b)) (g(a|x) - g(b|x))] over the test facts x (uniform)."""
    return float(np.mean((correct_a - correct_b) * (g_a - g_b)))


def _selection_pool(graph: KnowledgeGraph, profile: KGConfig, k: int, alpha: float, seed: int):
    return make_experts(graph, ExpertPoolConfig(
        n_experts=k, coverage=profile.away_coverage, home_coverage=profile.home_coverage,
        alpha=alpha, statements_per_expert=profile.statements_per_fact * len(graph.facts), seed=seed))


def selection_vote_closed_form(graph: KnowledgeGraph, cfg: ExpertPoolConfig) -> dict[str, float]:
    """The vote of experts who share one misconception per fact (``correlation = 1``), in
    expectation: expert i writes fact x in proportion to its writing weight, correctly with its
    coverage there, else the shared decoy. The truth's expected statements against the decoy's
    give the greedy accuracy (ties: half) and the tau = 1 accuracy (the truth's share), averaged
    over the facts. The count learner on the sampled text scatters around these."""
    if cfg.correlation != 1.0:
        raise ValueError("the closed form assumes one shared wrong answer per fact (correlation=1)")
    home = expert_home(graph, cfg)
    p_know = np.where(home, cfg.coverage if cfg.home_coverage is None else cfg.home_coverage,
                      cfg.coverage)
    w = np.exp(cfg.alpha * home)
    w = w / w.sum(axis=1, keepdims=True)
    right, wrong = (w * p_know).sum(axis=0), (w * (1 - p_know)).sum(axis=0)
    greedy = np.where(np.isclose(right, wrong), 0.5, (right > wrong).astype(float))
    return {"greedy": float(greedy.mean()), "tau1": float(np.mean(right / (right + wrong)))}


def sweep_pool_config(profile: KGConfig, graph: KnowledgeGraph, coverage: float, k: int,
                      seed: int) -> ExpertPoolConfig:
    """Selection-sweep experts: each knows one cluster of facts (1/coverage clusters), nothing
    else, shares the non-experts' misconception (``profile.select_sweep_correlation``) and writes
    e^alpha times more about its cluster."""
    return ExpertPoolConfig(
        n_experts=k, coverage=0.0, home_coverage=1.0, alpha=profile.select_sweep_alpha,
        correlation=profile.select_sweep_correlation, n_clusters=max(1, round(1 / coverage)),
        statements_per_expert=profile.statements_per_fact * len(graph.facts),
        corruption=profile.corruption, seed=seed)


def _selection_sweep(profile: KGConfig, graph: KnowledgeGraph, truth, cand, vocab: Vocab) -> dict:
    rows = []
    for c in profile.select_sweep_coverages:
        for k in profile.select_sweep_experts:
            acc = {"greedy": [], "tau1": [], "best_expert": []}
            for s in range(profile.seeds):
                pool = make_experts(graph, sweep_pool_config(profile, graph, c, k, s))
                learner = count_learner_for(pool)
                acc["greedy"].append(learner.accuracy(truth, 0, cand))
                acc["tau1"].append(learner.accuracy(truth, 1.0, cand))
                acc["best_expert"].append(float(pool.accuracies().max()))
            closed = (selection_vote_closed_form(graph, sweep_pool_config(profile, graph, c, k, 0))
                      if profile.select_sweep_correlation == 1.0 else {"greedy": None, "tau1": None})
            rows.append({"coverage": c, "n_experts": k, **acc, "closed_greedy": closed["greedy"],
                         "closed_tau1": closed["tau1"]})
    tf = []
    for c, k in profile.select_sweep_transformer:
        runs = [_transformer_scores(make_experts(graph, sweep_pool_config(profile, graph, c, k, s)),
                                    vocab, profile.transformer, seed=s, unit=profile.paragraphs)
                for s in range(profile.transformer_seeds)]
        tf.append({"coverage": c, "n_experts": k, **{key: [r[key] for r in runs]
                                                    for key in ("greedy", "tau1", "seconds")}})
    return {"rows": rows, "transformer": tf, "alpha": profile.select_sweep_alpha,
            "correlation": profile.select_sweep_correlation}


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
                       **_transformer_scores(pool, vocab, profile.transformer, seed=0,
                                            unit=profile.paragraphs)})
        out = {"count": rows, "two_experts": two, "transformer": tf,
               "sweep": _selection_sweep(profile, graph, truth, cand, vocab)}
        if profile.large_graph is not None:  # the same sweep, counting only, ten times larger
            big = generate_graph(profile.large_graph)
            out["sweep_large"] = {
                "n_entities": big.n_entities, "n_facts": len(big.facts),
                **_selection_sweep(replace(profile, select_sweep_transformer=()), big,
                                   _truth(big), candidates_for(big), Vocab(big))}
        return out
    return _cached(profile, "selection", compute, force)


# ----------------------------------------------------------------------------- generalization

def _train_on(sentences: list, vocab: Vocab, cfg: TransformerConfig, seed: int):
    rng = np.random.default_rng([seed, 3])
    X, Y = pack_epochs(sentences, cfg.block_size, vocab.w("<bos>"), rng)
    return train_transformer(X, Y, len(vocab), replace(cfg, seed=seed), progress=True)


def _latent_scores(model, vocab: Vocab, graph: KnowledgeGraph, splits) -> dict:
    P1, T1 = fact_prompts(vocab, graph.facts)
    Pv, Tv = two_hop_prompts(vocab, splits.validation)
    Pt, Tt = two_hop_prompts(vocab, splits.test)
    return {"one_hop": transformer_accuracy(model, P1, T1, 0),
            "validation": transformer_accuracy(model, Pv, Tv, 0) if len(Pv) else float("nan"),
            "test": transformer_accuracy(model, Pt, Tt, 0),
            "test_tau1": transformer_accuracy(model, Pt, Tt, 1.0),
            "loss": model.final_loss, "seconds": model.train_seconds}


def leaked_two_hops(sentences: list, vocab: Vocab, qs: list[TwoHop]) -> int:
    """How many of ``qs`` appear in the training ``sentences``, as a latent two-hop sentence or
    as a chain of thought (their token sequences); 0 for a clean split."""
    seen = {tuple(s) for s, _ in sentences}
    return sum(tuple(vocab.two_hop(q)[0]) in seen or tuple(vocab.two_hop_cot(q)[0]) in seen
               for q in qs)


def threshold_table(graph: KnowledgeGraph, profile: KGConfig) -> list[dict]:
    """Appendix A.2's two sides for each (cluster scheme, number of clusters) setting, with the
    sizes of the splits the setting would give."""
    rows = []
    for scheme, k in profile.threshold_settings:
        cluster = cluster_entities(graph, k, scheme)
        sp = two_hop_splits(graph, k, scheme, profile.validation_fraction)
        rows.append({"scheme": scheme, "n_clusters": k, **a2_sides(graph, cluster, profile.kappa_comp),
                     "n_train": len(sp.train), "n_test": len(sp.test),
                     "train_composes": bool(len(graph.facts) + profile.kappa_comp < len(sp.train))})
    return rows


def run_generalization(profile: KGConfig, force: bool = False) -> dict:
    """Experts own clusters of entities (``profile.gen_cluster_scheme``) and know every one-hop
    fact about their heads, correctly. Training text: every one-hop fact, and a growing share of
    the within-expertise two-hops (``profile.gen_fractions`` of the train split); a held-out
    within-expertise validation split and the across-expertise test split are never written.
    For each share and seed a fresh transformer; chain of thought is its own model (one-hops and
    the train split written step by step); phrasing diversity (``profile.phrasings`` > 1)
    writes each one-hop fact in that many phrasings. Every expert is right, so who wrote a
    sentence does not matter and the sentences are shuffled across writers."""
    def compute() -> dict:
        graph = generate_graph(profile.graph)
        vocab = Vocab(graph)
        splits = two_hop_splits(graph, profile.n_clusters, profile.gen_cluster_scheme,
                                profile.validation_fraction)
        cfg = replace(profile.gen_transformer, steps=profile.generalization_steps)
        one_hop = [vocab.fact(*f) for f in graph.facts]
        sweep, leaks = [], 0
        for frac in profile.gen_fractions:
            for seed in range(profile.transformer_seeds):
                order = np.random.default_rng([seed, 5]).permutation(len(splits.train))
                n = int(round(frac * len(splits.train)))
                text = one_hop + [vocab.two_hop(splits.train[j]) for j in sorted(order[:n])]
                leaks += leaked_two_hops(text, vocab, splits.validation + splits.test)
                model = _train_on(text, vocab, cfg, seed)
                sweep.append({"fraction": frac, "n_two_hop": n, "seed": seed,
                              **_latent_scores(model, vocab, graph, splits)})
        cot = []
        for seed in range(profile.transformer_seeds):
            text = one_hop + [vocab.two_hop_cot(q) for q in splits.train]
            leaks += leaked_two_hops(text, vocab, splits.validation + splits.test)
            model = _train_on(text, vocab, cfg, seed)
            t, v = cot_accuracy(model, vocab, splits.test), cot_accuracy(model, vocab, splits.validation)
            cot.append({"seed": seed, "bridge": t["bridge"], "answer": t["answer"],
                        "validation_answer": v["answer"], "seconds": model.train_seconds})
        phrasing = []
        if profile.phrasings > 1:
            pv = Vocab(graph, phrasings=profile.phrasings)
            for seed in range(profile.transformer_seeds):
                text = [s for f in graph.facts for s in pv.fact_phrasings(*f)]
                text += [pv.two_hop(q) for q in splits.train]
                model = _train_on(text, pv, cfg, seed)
                phrasing.append({"seed": seed, "phrasings": profile.phrasings,
                                 **_latent_scores(model, pv, graph, splits)})
        return {"scheme": profile.gen_cluster_scheme, "n_clusters": profile.n_clusters,
                "n_one_hop": len(graph.facts), "n_train": len(splits.train),
                "n_validation": len(splits.validation), "n_test": len(splits.test),
                "kappa_comp": profile.kappa_comp, "leaked": leaks,
                "threshold": threshold_table(graph, profile),
                "threshold_large": (threshold_table(generate_graph(profile.large_graph), profile)
                                    if profile.large_graph is not None else None),
                "baselines": {"direct_validation": direct_connection_baseline(graph, splits.validation),
                              "direct_test": direct_connection_baseline(graph, splits.test),
                              "majority_validation": majority_relation_baseline(graph, splits.validation),
                              "majority_test": majority_relation_baseline(graph, splits.test)},
                "sweep": sweep, "cot": cot, "phrasing": phrasing, "steps": cfg.steps}
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


def _spread(values) -> tuple[float, float, float]:
    """Mean, and the distances to the smallest and largest value (error bars: range over seeds)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.max() - v.mean()), float(v.mean() - v.min())


def figure_selection_sweep(result: dict):
    """Accuracy against the number of experts, one panel per coverage: the count learner (range
    over seeds), the vote's closed form, the best expert, and transformer points if any."""
    from plotly.subplots import make_subplots

    sweep = result["sweep"]
    covs = sorted({r["coverage"] for r in sweep["rows"]}, reverse=True)
    fig = make_subplots(rows=1, cols=len(covs), shared_yaxes=True,
                        subplot_titles=[f"coverage c = {c} ({round(1 / c)} clusters)" for c in covs])
    for j, c in enumerate(covs, start=1):
        rs = [r for r in sweep["rows"] if r["coverage"] == c]
        x = [r["n_experts"] for r in rs]
        for key, name, color in (("greedy", "count learner, greedy", "#1f77b4"),
                                 ("tau1", "count learner, tau=1", "#d62728")):
            m = [_spread(r[key]) for r in rs]
            fig.add_scatter(x=x, y=[a[0] for a in m], name=name, legendgroup=key, showlegend=j == 1,
                            error_y=dict(type="data", array=[a[1] for a in m], arrayminus=[a[2] for a in m]),
                            line=dict(color=color), mode="lines+markers", row=1, col=j)
            closed = [r[f"closed_{key}"] for r in rs]
            if all(v is not None for v in closed):
                fig.add_scatter(x=x, y=closed, name=f"closed form, {'greedy' if key == 'greedy' else 'tau=1'}",
                                legendgroup=f"c{key}", showlegend=j == 1, mode="lines",
                                line=dict(color=color, dash="dot"), row=1, col=j)
        fig.add_scatter(x=x, y=[max(r["best_expert"]) for r in rs], name="best expert", legendgroup="best",
                        showlegend=j == 1, mode="lines", line=dict(color="grey", width=1), row=1, col=j)
        for t in [t for t in sweep["transformer"] if t["coverage"] == c]:
            for key, sym in (("greedy", "star"), ("tau1", "circle-open")):
                m = _spread(t[key])
                fig.add_scatter(x=[t["n_experts"]], y=[m[0]], mode="markers", legendgroup=f"tf{key}",
                                showlegend=j == 1, name=f"transformer, {key}",
                                error_y=dict(type="data", array=[m[1]], arrayminus=[m[2]]),
                                marker=dict(symbol=sym, size=12, color="black"), row=1, col=j)
        fig.update_xaxes(title_text="number of experts", type="log", row=1, col=j)
    fig.update_yaxes(title_text="accuracy on all facts", range=[0, 1.05], row=1, col=1)
    fig.update_layout(title=f"Skill selection: more experts, each knowing one cluster "
                            f"(writing weight e^{sweep['alpha']:g} at home)", height=480)
    return fig


def figure_generalization(result: dict):
    """Left: held-out accuracy against the number of within-expertise two-hop examples written,
    with Appendix A.2's threshold and idealised learner and the shortcut baselines. Right: at the
    full train split, latent answers, chain of thought (its own model), phrasing diversity."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], subplot_titles=(
        "held-out accuracy vs two-hop examples written", "at the full train split"))
    sweep = result["sweep"]
    ns = sorted({r["n_two_hop"] for r in sweep})
    for key, name, color in (("test", "across expertise (test)", "#d62728"),
                             ("validation", "within expertise (validation)", "#1f77b4"),
                             ("one_hop", "one-hop facts", "#7f7f7f")):
        m = [_spread([r[key] for r in sweep if r["n_two_hop"] == n]) for n in ns]
        fig.add_scatter(x=ns, y=[a[0] for a in m], name=f"transformer: {name}", mode="lines+markers",
                        error_y=dict(type="data", array=[a[1] for a in m], arrayminus=[a[2] for a in m]),
                        line=dict(color=color), row=1, col=1)
    b = result["baselines"]
    for key, name, dash in (("majority_test", "majority-relation baseline (test)", "dash"),
                            ("direct_test", "direct-connection baseline (test)", "dot")):
        fig.add_scatter(x=[ns[0], ns[-1]], y=[b[key]] * 2, name=name, mode="lines",
                        line=dict(color="black", dash=dash, width=1), row=1, col=1)
    bar = result["n_one_hop"] + result["kappa_comp"]
    xs = sorted(set(ns) | {bar})
    fig.add_scatter(x=xs, y=[simplicity_bias_accuracy(n, result["n_one_hop"], result["kappa_comp"]) for n in xs],
                    name="A.2's simplicity-biased learner (test)", mode="lines", line_shape="hv",
                    line=dict(color="#2ca02c", dash="dashdot"), row=1, col=1)
    fig.add_vline(x=bar, line=dict(color="#2ca02c", width=1), row=1, col=1,
                  annotation_text="|F1| + kappa", annotation_position="top left")
    full = max(ns)
    bars = [("latent", [r["test"] for r in sweep if r["n_two_hop"] == full]),
            ("chain of thought", [c["answer"] for c in result["cot"]])]
    if result["phrasing"]:
        bars.append((f"{result['phrasing'][0]['phrasings']} phrasings", [p["test"] for p in result["phrasing"]]))
    m = [_spread(v) for _, v in bars]
    fig.add_bar(x=[n for n, _ in bars], y=[a[0] for a in m], name="across expertise (test), mean over seeds",
                error_y=dict(type="data", array=[a[1] for a in m], arrayminus=[a[2] for a in m]),
                marker_color="#d62728", text=[f"{a[0]:.2f}" for a in m], textposition="outside", row=1, col=2)
    fig.update_xaxes(title_text="within-expertise two-hop examples in the training text", row=1, col=1)
    fig.update_yaxes(title_text="exact-match accuracy (greedy)", range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_layout(title="Skill generalization: composing facts that no one expert knows", height=500)
    return fig


def figure_graph(graph: KnowledgeGraph, cluster: np.ndarray, max_people: int = 2):
    """A drawing of (part of) the graph, every edge coloured by the expert who knows it (its
    head's cluster), as the paper's Figs. 1-2: countries on a circle, their cities, rivers and
    companies around them, ``max_people`` people per city; languages and currencies left out."""
    import plotly.graph_objects as go

    rng = np.random.default_rng(0)
    R = graph.n_regions
    pos: dict[int, tuple[float, float]] = {}
    people_seen: dict[int, int] = {}
    keep = set()
    for e, (t, r) in enumerate(zip(graph.types, graph.region)):
        if r < 0:
            continue
        if t == "person":
            city = graph.tail("birthplace", e)
            people_seen[city] = people_seen.get(city, 0) + 1
            if people_seen[city] > max_people:
                continue
        angle = 2 * np.pi * r / R
        cx, cy = 3 * np.cos(angle), 3 * np.sin(angle)
        spread = {"country": 0.0, "city": 0.6, "river": 0.9, "company": 0.9, "person": 1.3}[t]
        a = rng.uniform(0, 2 * np.pi)
        pos[e] = (cx + spread * np.cos(a), cy + spread * np.sin(a))
        keep.add(e)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    fig = go.Figure()
    k = int(cluster.max()) + 1
    for i in range(k):
        xs, ys = [], []
        for f in graph.facts:
            if f.head in keep and f.tail in keep and cluster[f.head] == i:
                xs += [pos[f.head][0], pos[f.tail][0], None]
                ys += [pos[f.head][1], pos[f.tail][1], None]
        fig.add_scatter(x=xs, y=ys, mode="lines", name=f"expert {i}'s edges",
                        line=dict(color=palette[i % len(palette)], width=1), opacity=0.6)
    nodes = sorted(keep)
    fig.add_scatter(x=[pos[e][0] for e in nodes], y=[pos[e][1] for e in nodes], mode="markers",
                    name="entities", text=[f"{graph.names[e]} ({graph.types[e]})" for e in nodes],
                    hoverinfo="text", marker=dict(size=5, color="black"))
    fig.update_layout(title="The graph, each edge coloured by the expert who knows it", height=520,
                      xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"))
    return fig


FIGURES = {"denoising": figure_denoising, "selection": figure_selection,
           "selection_sweep": figure_selection_sweep, "generalization": figure_generalization}
