"""Chapter 8: a taxonomy of transcendence on a knowledge graph written by simulated experts.

* :mod:`.graph` — a seeded, typed graph of made-up countries, cities, people and companies;
* :mod:`.experts` — experts with coverage, same-type corruptions and regional writing habits;
* :mod:`.learners` — the exact count learner (the empirical mixture) and a tiny transformer;
* :mod:`.splits` — held-out two-hop splits (train, within-expertise validation, across-expertise
  test), the paper's Appendix A.2 threshold and its shortcut baselines;
* :mod:`.experiments` — skill denoising, selection (incl. the sweep over the number of experts)
  and generalization (the sweep over two-hop examples), with their figures.

Command line::

    minitranscend kg run --experiment denoising|selection|generalization|all --profile ci|full
    minitranscend kg sample --seed 0 -n 10          # print some fact sentences

The settings of each profile are :func:`minitranscend.settings.kg_config` (a
:class:`~minitranscend.settings.KGConfig`); chapter 8 imports it from there.
"""
from __future__ import annotations

import argparse
import json
import time

from ..settings import PROFILES, KGConfig
from .experiments import (EXPERIMENTS, FIGURES, majority_vote_prediction, plurality_accuracy, run,
                          selection_condition)
from .experts import ExpertPool, ExpertPoolConfig, make_experts
from .graph import RELATIONS, Fact, GraphConfig, KnowledgeGraph, TwoHop, generate_graph
from .learners import (CountLearner, TransformerConfig, Vocab, count_learner_for,
                       tempered_truth_probability)

__all__ = ["EXPERIMENTS", "FIGURES", "PROFILES", "KGConfig", "run",
           "majority_vote_prediction", "plurality_accuracy", "selection_condition",
           "ExpertPool", "ExpertPoolConfig", "make_experts", "RELATIONS", "Fact", "GraphConfig",
           "KnowledgeGraph", "TwoHop", "generate_graph", "CountLearner", "TransformerConfig", "Vocab",
           "count_learner_for", "tempered_truth_probability", "add_commands"]


def _run(args: argparse.Namespace) -> int:
    names = EXPERIMENTS if args.experiment == "all" else (args.experiment,)
    for name in names:
        t0 = time.time()
        result = run(name, args.profile, force=args.force)
        summary = {k: v for k, v in result.items() if k not in ("profile",)}
        print(f"== {name} ({time.time() - t0:.1f} s)")
        print(json.dumps(summary, indent=1)[:3000])
    return 0


def _sample(args: argparse.Namespace) -> int:
    g = generate_graph(GraphConfig(seed=args.seed))
    print(f"{g.n_entities} entities, {len(g.facts)} facts, {len(g.two_hops())} two-hop facts")
    for f in g.facts[:: max(1, len(g.facts) // args.n)][: args.n]:
        print(g.sentence(f))
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("kg", help="chapter 8: the knowledge-graph taxonomy of transcendence")
    sub = p.add_subparsers(dest="kg_command", required=True, metavar="KG_COMMAND")
    r = sub.add_parser("run", help="run an experiment (results in runs/<profile>/kg/)")
    r.add_argument("--experiment", choices=(*EXPERIMENTS, "all"), default="all")
    r.add_argument("--profile", choices=PROFILES, default="ci")
    r.add_argument("--force", action="store_true", help="recompute even if a result file exists")
    r.set_defaults(func=_run)
    s = sub.add_parser("sample", help="print a few fact sentences of the graph")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-n", type=int, default=10)
    s.set_defaults(func=_sample)
