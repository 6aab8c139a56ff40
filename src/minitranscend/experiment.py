"""The main experiment, end to end: experts -> games -> model -> rewards, matches, ratings.

One configuration per profile (:func:`config`), one function per stage, each writing its results
under ``runs/<profile>/experiment/`` and skipping work that is already done, so that

* ``minitranscend experiment --profile full`` runs the whole pipeline (and resumes when rerun),
* every chapter can call the stage it needs (``ensure_data``, ``ensure_model`` ...) and gets the
  same files, whether the earlier chapters ran in this session or not.

Datasets: ``"A"`` is written by a *diverse* panel of experts (their systematic errors differ);
``"B"`` is the ablation, the same number of games by experts whose errors *coincide*.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .paths import run_dir
from .players import ExpertConfig

DATASETS = ("A", "B")


HABIT_RATE = 0.6  # > 1/2: a shared habit is the mode; < 1 / (1 + 1/4): four different ones are not
SLIP = 0.5
PIECE_WORDS = {"N": "knight", "B": "bishop", "R": "rook", "Q": "queen", "K": "king", "P": "pawn"}


def diverse_experts(habit_rate: float = HABIT_RATE, eps: float = SLIP, nodes: int = 100,
                    pieces: str = "BRQP") -> list[ExpertConfig]:
    """Dataset A's panel: four experts of equal engine strength and slip rate, each with a
    *different* habit (pushing its bishops, rooks, queen or pawns up the board). Of the mixture's
    non-slip mass each habit move carries habit_rate / 4, the engine move at least
    1 - habit_rate: the mode is the engine move, which no single expert plays most of the time."""
    return [ExpertConfig(f"expert-{PIECE_WORDS[p]}", nodes=nodes, eps=eps, habit=p,
                         habit_rate=habit_rate) for p in pieces]


def coinciding_experts(habit_rate: float = HABIT_RATE, eps: float = SLIP, nodes: int = 100,
                       piece: str = "Q") -> list[ExpertConfig]:
    """Dataset B's panel: four experts who share one habit (each is dataset A's expert-queen with
    its own random stream). Their habit move is the mode of their games, so a low-temperature
    model plays it *every* time: the diversity ablation. The queen, because pushing it forward is
    the costliest of the four habits: a shared cheap habit would hide the effect behind the
    slips, which a vote removes in both datasets (the book's chapter 7 works out when)."""
    return [ExpertConfig(f"expert-{PIECE_WORDS[piece]}{i}", nodes=nodes, eps=eps, habit=piece,
                         habit_rate=habit_rate) for i in range(1, 5)]


# The model recipe both profiles use: a board encoder with the from/to policy head, trained on
# legal-move-masked cross-entropy from the mover's point of view, one torch thread (on 2 cores,
# two single-thread jobs beat one two-thread job). Chosen by measurement: on 2 CPU cores it learns
# far more per second than a move-history GPT (chapter 4 and the README say by how much).
BOARD_RECIPE = dict(tokenizer="board", preset="board-tiny", batch_size=64, lr=3e-3, min_lr=3e-4,
                    weight_decay=0.01, warmup_iters=100, max_iters=10**9, eval_interval=250,
                    eval_iters=8, canonical=True, legal_loss=True, threads=1)


@dataclass
class ExperimentConfig:
    profile: str
    n_games: int
    experts: dict[str, list[ExpertConfig]]
    train: dict[str, Any]
    taus: tuple[float, ...] = (0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5)
    n_states: int = 1000
    reward_depth: int = 8
    match_games: int = 200
    max_plies: int = 250
    seed: int = 0
    workers: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def config(profile: str = "ci") -> ExperimentConfig:
    """The experiment's settings. ``ci``: minutes on 2 cores, for the book's CI; ``full``: the
    real experiment (the CPU budget: under an hour on 2 cores)."""
    experts = {"A": diverse_experts(), "B": coinciding_experts()}
    if profile == "ci":
        return ExperimentConfig(
            profile="ci", n_games=200, experts=experts,
            train=dict(BOARD_RECIPE, max_iters=300, max_minutes=1.5, eval_interval=100,
                       eval_iters=4),
            taus=(0.001, 0.1, 0.5, 1.0), n_states=40, reward_depth=6, match_games=10, max_plies=150,
            extra={"match_taus": (0.001, 1.0)})
    if profile == "full":
        return ExperimentConfig(
            profile="full", n_games=8000, experts=experts, n_states=2000, match_games=400,
            train=dict(BOARD_RECIPE, max_minutes=20.0))
    raise ValueError(f"unknown profile {profile!r}; use 'ci' or 'full'")


def _root(cfg: ExperimentConfig, *parts: str) -> Path:
    return run_dir(cfg.profile, "experiment", *parts)


def _tag(*parts: Any) -> str:
    """A short hash of settings, part of a folder's name: changing the experts or the recipe
    starts a new folder instead of colliding with (or being refused by) the old one."""
    import hashlib

    text = json.dumps(parts, sort_keys=True, default=lambda o: asdict(o))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def data_dir(cfg: ExperimentConfig, dataset: str = "A") -> Path:
    """Games of ``dataset``; named by the experts, seed and ply cap (``n_games`` may grow)."""
    return _root(cfg, f"data-{dataset}-{_tag(cfg.experts[dataset], cfg.seed, cfg.max_plies)}")


def model_dir(cfg: ExperimentConfig, dataset: str = "A") -> Path:
    """The model trained on ``dataset``; named by its data, their number and the recipe."""
    return _root(cfg, f"model-{dataset}-{_tag(data_dir(cfg, dataset).name, cfg.n_games, cfg.train)}")


def ladder_dir(cfg: ExperimentConfig, dataset: str = "A") -> Path:
    """Matches and ratings of ``dataset``'s model; named by the model, the games per temperature
    and the ply-cap rule, so each setting has its own folder (the report and :func:`publish`
    read exactly this one, not whichever ladder folder is newest)."""
    tag = _tag(model_dir(cfg, dataset).name, cfg.match_games, ADJUDICATE_CP)
    return _root(cfg, f"ladder-{dataset}-{tag}")


def rewards_dir(cfg: ExperimentConfig) -> Path:
    """Per-state rewards of every policy (``rewards_per_state.csv``, ``rewards_summary.json``)."""
    return _root(cfg, "rewards")


def _done(path: Path, stamp: dict[str, Any]) -> dict[str, Any] | None:
    """A stage's result file, if it exists and was made with the same settings (``stamp``)."""
    if not path.exists():
        return None
    done = json.loads(path.read_text())
    return done if done.get("stamp") == stamp else None


def _check(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")


def ensure_data(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True) -> Path:
    """Generate (or finish generating) the expert games of ``dataset``; returns its directory."""
    from .data import generate_games

    _check(dataset)
    out = data_dir(cfg, dataset)
    seed = cfg.seed + (0 if dataset == "A" else 1)
    generate_games(out, cfg.experts[dataset], cfg.n_games, seed=seed, workers=cfg.workers,
                   max_plies=cfg.max_plies, progress=progress)
    return out


def train_config(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True):
    """The :class:`~minitranscend.train.TrainConfig` of the model trained on ``dataset``."""
    from .train import TrainConfig

    _check(dataset)
    return TrainConfig.from_dict({**cfg.train, "data": str(data_dir(cfg, dataset)),
                                  "out": str(model_dir(cfg, dataset)), "seed": cfg.seed,
                                  "progress": progress})


def ensure_model(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True) -> Path:
    """Train (or resume, or reuse) the model on ``dataset``; returns the best checkpoint's path."""
    from .train import BEST_NAME, train

    ensure_data(cfg, dataset, progress=progress)
    tc = train_config(cfg, dataset, progress=progress)
    train(tc)
    return Path(tc.out) / BEST_NAME


def held_out_states(cfg: ExperimentConfig, dataset: str = "A", n: int | None = None,
                    min_ply: int = 4) -> list[tuple[int, Any]]:
    """``n`` ``(game_id, board)`` states from the held-out (validation) games of ``dataset``: the
    same number of random plies from each game (as few as covers ``n``), boards *with* their
    move history. Both models are scored on these same states, which no model was trained on;
    the game ids let the intervals resample whole games (states of one game are correlated)."""
    import math
    import random

    from .data import iter_games
    from .train import is_val_game

    ensure_data(cfg, dataset, progress=False)
    n = n or cfg.n_states
    val_fraction = cfg.train.get("val_fraction", 0.05)
    games = [g for g in iter_games(data_dir(cfg, dataset)) if is_val_game(g.id, val_fraction)]
    per_game = max(1, math.ceil(1.2 * n / max(1, len(games))))
    rng = random.Random(cfg.seed)
    states = []
    for game in games:
        plies = list(range(min_ply, game.n_plies))
        for ply in sorted(rng.sample(plies, min(per_game, len(plies)))):
            board = game.board_after(ply)
            if not board.is_game_over():
                states.append((game.id, board))
    if len(states) < n:
        raise ValueError(f"only {len(states)} held-out states in dataset {dataset}, {n} wanted: "
                         "generate more games or lower n_states")
    rng.shuffle(states)
    return states[:n]


def held_out_positions(cfg: ExperimentConfig, dataset: str = "A", n: int | None = None,
                       min_ply: int = 4) -> list:
    """The boards of :func:`held_out_states`."""
    return [board for _, board in held_out_states(cfg, dataset, n, min_ply)]


def temperature_policies(checkpoint: str | Path, taus: tuple[float, ...], boards: list,
                         prefix: str = "model") -> dict[str, Any]:
    """``{f"{prefix} tau=...": board -> {move: p}}`` for every temperature, computing the model's
    distribution once per state (a batched forward pass) and re-tempering it, which is exact
    for move-level temperature."""
    from .analysis import distributions
    from .train import load_checkpoint

    model, tok, _ = load_checkpoint(checkpoint, "cpu")
    base = {b.fen(): d for b, d in zip(boards, distributions(model, tok, boards))}

    def at(tau: float):
        return lambda board: base[board.fen()].at_temperature(tau).as_dict()

    return {f"{prefix} tau={tau:g}": at(tau) for tau in taus}


def reward_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                 progress: bool = True) -> dict[str, Any]:
    """Per-state reward on held-out states of dataset A: oracle, random, every expert of every
    dataset (exact distributions) and each dataset's model at every temperature, with bootstrap
    95% intervals; plus where the low-temperature gain comes from. Writes ``rewards/``."""
    from .engine import EngineSettings, SearchLimit
    from .evaluation.reward import (analyse_positions, describe_analysis, evaluate_rewards,
                                    gain_concentration, paired_bootstrap_ci, state_gains,
                                    summarize_rewards, write_reward_results)
    from .players import Expert, RandomPlayer

    out = rewards_dir(cfg)
    summary_path = out / "rewards_summary.json"
    stamp = {"config": json.loads(json.dumps(cfg.to_dict())), "datasets": list(datasets)}
    done = _done(summary_path, stamp)
    if done is not None:
        return done  # same settings: the result is already there
    states = held_out_states(cfg, "A")
    limit = SearchLimit(depth=cfg.reward_depth)
    scores = analyse_positions([b.fen() for _, b in states], limit=limit, workers=cfg.workers,
                               cache_dir=_root(cfg, "cache"), progress=progress)
    states = [(g, b) for g, b in states if scores[b.fen()]]
    keep, games = [b for _, b in states], [g for g, _ in states]
    policies: dict[str, Any] = {"oracle": "oracle", "random": RandomPlayer()}
    experts = []
    for ds in datasets:
        for ec in cfg.experts[ds]:
            if ec.name not in policies:
                experts.append(Expert(ec))
                policies[ec.name] = experts[-1]
    for ds in datasets:
        ckpt = ensure_model(cfg, ds, progress=progress)
        policies.update(temperature_policies(ckpt, cfg.taus, keep, prefix=f"model-{ds}"))
    try:
        rewards = evaluate_rewards(policies, keep, scores, progress=progress)
    finally:
        for e in experts:
            e.close()
    summary = summarize_rewards(rewards, seed=cfg.seed, groups=games)
    analysis: dict[str, Any] = {"n_states": len(keep), "n_games": len(set(games)),
                                "interval": "95% cluster bootstrap over held-out games",
                                "limit": limit.describe(), "datasets": {}}
    for ds in datasets:
        names = [e.name for e in cfg.experts[ds]]
        best_expert = max(names, key=lambda n: float(rewards[n].mean()))
        model_names = [f"model-{ds} tau={t:g}" for t in cfg.taus]
        best_model = max(model_names, key=lambda n: float(rewards[n].mean()))
        diff = paired_bootstrap_ci(rewards[best_model], rewards[best_expert], seed=cfg.seed,
                                   groups=games)
        gains = state_gains(rewards[f"model-{ds} tau={min(cfg.taus):g}"], rewards[f"model-{ds} tau=1"])
        analysis["datasets"][ds] = {
            "best_expert": best_expert, "best_model": best_model,
            "model_minus_best_expert": {"mean": diff[0], "lo": diff[1], "hi": diff[2]},
            # the test: the paired interval of the difference (same states) excludes zero; the
            # stricter check, the two marginal intervals not overlapping, is reported beside it
            "transcends": bool(diff[1] > 0),
            "marginal_intervals_overlap": bool(_row(summary, best_model)["lo"]
                                               <= _row(summary, best_expert)["hi"]),
            "gain_concentration": {str(k): v for k, v in gain_concentration(gains).items()},
        }
    write_reward_results(out, rewards, keep, describe_analysis(limit, EngineSettings(), None),
                         summary=summary, extra={"transcendence": analysis, "stamp": stamp},
                         groups=games)
    return json.loads(summary_path.read_text())


def habit_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """What each model plays at its lowest temperature on the held-out states where dataset B's
    shared habit applies: the share of states where its top move is that habit move, the
    engine move, or something else; the experts' own habit rate beside it. The direct check of
    the ablation's mechanism (B's model should play the habit far more often than its experts'
    habit_rate; A's far less). Writes ``habits.json``; reruns read it."""
    from .analysis import distributions
    from .data.records import atomic_write_text
    from .players import Expert
    from .train import load_checkpoint

    out = _root(cfg) / "habits.json"
    stamp = {"config": json.loads(json.dumps(cfg.to_dict())), "datasets": list(datasets),
             "models": [model_dir(cfg, ds).name for ds in datasets]}
    done = _done(out, stamp)
    if done is not None:
        return done
    habit_cfg = cfg.experts["B"][0]
    with Expert(habit_cfg) as expert:
        states = [(b, expert.habit_move(b)) for b in held_out_positions(cfg, "A")]
        states = [(b, h, expert.engine_move(b)) for b, h in states if h is not None]
    states = [(b, h, e) for b, h, e in states if h != e]  # where the habit is a real error
    result: dict[str, Any] = {"habit": habit_cfg.habit, "habit_rate": habit_cfg.habit_rate,
                              "eps": habit_cfg.eps, "n_states": len(states), "models": {},
                              "stamp": stamp}
    boards = [b for b, _, _ in states]
    for ds in datasets:
        model, tok, _ = load_checkpoint(ensure_model(cfg, ds, progress=False), "cpu")
        tops = [d.argmax() for d in distributions(model, tok, boards)] if boards else []
        n = max(1, len(states))
        habit = sum(t == h for t, (_, h, _) in zip(tops, states)) / n
        engine = sum(t == e for t, (_, _, e) in zip(tops, states)) / n
        result["models"][f"model-{ds}"] = {"habit": habit, "engine": engine,
                                           "other": 1.0 - habit - engine}
    atomic_write_text(out, json.dumps(result, indent=2))
    return result


def diversity_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """The paper's diversity measure of each dataset (mean normalized entropy of the next move
    over opening states, first 16 plies, seen more than ``min_count`` times: 100 as in the paper
    from 2,000 games on, 5 below). Writes ``diversity.json``."""
    from .data import diversity, iter_games
    from .data.records import atomic_write_text

    min_count = 100 if cfg.n_games >= 2000 else 5
    result: dict[str, Any] = {"max_ply": 16, "min_count": min_count, "datasets": {}}
    for ds in datasets:
        d = diversity(iter_games(data_dir(cfg, ds)), max_ply=16, min_count=min_count)
        result["datasets"][ds] = {"diversity": d["diversity"], "n_states": d["n_states"]}
    atomic_write_text(_root(cfg) / "diversity.json", json.dumps(result, indent=2))
    return result


def _row(summary: list[dict[str, Any]], policy: str) -> dict[str, Any]:
    return next(r for r in summary if r["policy"] == policy)


REFERENCE_OPPONENTS = ("random", "stockfish:nodes=10,name=sf-n10", "stockfish:nodes=100,name=sf-n100")
ANCHOR, ANCHOR_RATING = "random", 0.0  # ratings are "Elo above the uniformly random player"
# Games stopped by the ply cap go to the side Stockfish (depth 12) finds at least this many
# centipawns ahead, instead of being drawn: the board model rarely loses to its experts but
# often cannot finish a won game (it sees no history and never learned to mate), and in the
# first full run with habits 43 of model A's 160 games against its experts ended at the cap.
# None plays the cap as a draw (the earlier rule; its numbers are in the README).
ADJUDICATE_CP = 400


def ladder_stage(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True):
    """Matches and ratings for the model trained on ``dataset``: the model at every temperature
    against the experts who wrote its data and the random player (``match_games`` games per
    temperature, both colours), plus games among the reference players and experts so that all
    sit on one maximum-likelihood Elo scale anchored at the random player = 0. Resumable. Writes
    ``ladder-<ds>-<tag>/``. The board model cannot see the game's history, so it plays with
    :func:`~minitranscend.policy.avoid_draws_when_ahead` (it would otherwise shuffle won games
    into repetitions); the per-state reward scores its pure distribution."""
    from .evaluation.ladder import evaluate_temperatures, expert_spec
    from .evaluation.match import PlayerSpec

    ckpt = ensure_model(cfg, dataset, progress=progress)
    experts = [expert_spec(e) for e in cfg.experts[dataset]]
    opponents = [PlayerSpec.parse(o) for o in REFERENCE_OPPONENTS] + experts
    model_opponents = ["random"] + [e.label for e in experts]
    per_pair = max(1, cfg.match_games // len(model_opponents))
    return evaluate_temperatures(
        ckpt, cfg.extra.get("match_taus", cfg.taus), opponents, ladder_dir(cfg, dataset),
        games_per_pair=per_pair, anchor=ANCHOR, anchor_rating=ANCHOR_RATING,
        model_opponents=model_opponents, model_name=f"model-{dataset}", workers=cfg.workers,
        model_params={"avoid_draws": True}, adjudicate=ADJUDICATE_CP,
        seed=cfg.seed, max_plies=cfg.max_plies, progress=progress)


def reward_series(summary: dict[str, Any], cfg: ExperimentConfig,
                  datasets: tuple[str, ...] = DATASETS) -> tuple[dict, dict]:
    """Reward summary rows -> ``(series, references)`` for
    :func:`~minitranscend.evaluation.figures.rating_vs_temperature`: one line per model over
    temperature, one band per expert (best expert of each dataset first)."""
    rows = {r["policy"]: r for r in summary["summary"]}
    band = lambda r: {"rating": r["mean"], "lo": r["lo"], "hi": r["hi"]}  # noqa: E731
    series = {f"model-{ds}": [{"tau": t, **band(rows[f"model-{ds} tau={t:g}"])} for t in cfg.taus]
              for ds in datasets}
    refs = {}
    for ds in datasets:
        best = summary["transcendence"]["datasets"][ds]["best_expert"]
        refs[f"best expert of {ds} ({best})"] = band(rows[best])
    refs["random"] = band(rows["random"])
    return series, refs


def reward_gap_series(per_state_csv: str | Path, summary: dict[str, Any], cfg: ExperimentConfig,
                      datasets: tuple[str, ...] = DATASETS) -> dict[str, list[dict[str, float]]]:
    """Per temperature, each model's reward minus its dataset's best expert, paired over the same
    states, with 95% intervals that resample whole games (the ``game`` column of
    ``rewards_per_state.csv``): the transcendence test at every temperature, for
    :func:`~minitranscend.evaluation.figures.rating_vs_temperature`."""
    import csv

    import numpy as np

    from .evaluation.reward import paired_bootstrap_ci

    with open(per_state_csv, newline="") as fh:
        table = list(csv.DictReader(fh))
    games = [r["game"] for r in table] if table and "game" in table[0] else None
    col = lambda name: np.array([float(r[name]) for r in table])  # noqa: E731
    series = {}
    for ds in datasets:
        best = summary["transcendence"]["datasets"][ds]["best_expert"]
        rows = []
        for tau in cfg.taus:
            d, lo, hi = paired_bootstrap_ci(col(f"model-{ds} tau={tau:g}"), col(best),
                                            seed=cfg.seed, groups=games)
            rows.append({"tau": tau, "rating": d, "lo": lo, "hi": hi})
        series[f"model-{ds} minus {best}"] = rows
    return series


def headline_figure(source: Path, cfg: ExperimentConfig):
    """The README's headline figure from a results folder (a run's ``rewards/`` or the published
    one): the paired reward gap over temperature for both datasets, zero = the best expert."""
    from .evaluation.figures import rating_vs_temperature

    summary = json.loads((source / "rewards_summary.json").read_text())
    series = reward_gap_series(source / "rewards_per_state.csv", summary, cfg)
    fig = rating_vs_temperature(series, {"best expert of the model's own dataset": {"rating": 0.0}},
                                title="Model minus its best expert, per-state reward "
                                      f"({cfg.profile} profile)",
                                y_title="paired reward difference (95% interval)")
    fig.update_layout(legend=dict(orientation="h", y=-0.25), height=480, width=760)
    return fig


def ladder_verdict(result) -> dict[str, Any]:
    """Does the model's best temperature beat the best expert with non-overlapping 95% intervals?
    ``result``: what :func:`ladder_stage` returns, or the ``ladder.json`` it wrote (as a dict)."""
    series = result["series"] if isinstance(result, dict) else result.series
    references = result["references"] if isinstance(result, dict) else result.references
    (name, points), = series.items()
    best = max(points, key=lambda p: p["rating"])
    expert, ref = max(references.items(), key=lambda kv: kv[1]["rating"])
    return {"model": name, "best_tau": best["tau"], "model_rating": best["rating"],
            "model_lo": best["lo"], "model_hi": best["hi"], "best_expert": expert,
            "expert_rating": ref["rating"], "expert_lo": ref["lo"], "expert_hi": ref["hi"],
            "transcends": bool(best["lo"] > ref["hi"])}


def results_markdown(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                     source: Path | None = None) -> str:
    """The README's results table, built from the files the stages wrote (never typed by hand):
    per-state reward and Elo per temperature with 95% intervals, the experts beside them, and
    both verdicts. ``source``: a folder written by :func:`publish` instead of the run folder."""
    summary_path = (source or rewards_dir(cfg)) / "rewards_summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"no results at {summary_path}: run `minitranscend experiment "
                                f"--profile {cfg.profile}` first (it resumes where it stopped)")
    rewards = json.loads(summary_path.read_text())
    rows = {r["policy"]: r for r in rewards["summary"]}
    tr = rewards["transcendence"]
    lines = [f"Profile `{cfg.profile}`: {cfg.n_games} games per dataset, "
             f"{tr['n_states']} held-out states from {tr.get('n_games', '?')} games "
             f"(Stockfish {tr['limit'].replace('=', ' ')}), {cfg.match_games} games per temperature. "
             "Reward intervals: bootstrap over held-out games; Elo: maximum-likelihood fit, "
             "random player = 0, bootstrap over games.",
             "", "| player | reward (95% CI) | Elo (95% CI) |", "|---|---|---|"]
    ci = lambda m, lo, hi, d: f"{m:.{d}f} ({lo:.{d}f} to {hi:.{d}f})"  # noqa: E731
    verdicts = {}
    for ds in datasets:
        path = source / f"ladder-{ds}-ladder.json" if source else ladder_dir(cfg, ds) / "ladder.json"
        ladder = json.loads(path.read_text()) if path.exists() else None
        ratings = {r["player"]: r for r in ladder["ratings"]} if ladder else {}
        verdicts[ds] = ladder_verdict(ladder) if ladder else None
        names = [e.name for e in cfg.experts[ds]] + [f"model-{ds} tau={t:g}" for t in cfg.taus]
        for name in names:
            r = rows[name]
            e = ratings.get(name.replace(" tau=", "-tau"))
            elo = ci(e["rating"], e.get("lo", e["rating"]), e.get("hi", e["rating"]), 0) if e else "—"
            lines.append(f"| {name} | {ci(r['mean'], r['lo'], r['hi'], 3)} | {elo} |")
    for name in ("oracle", "random"):
        r = rows[name]
        anchor = "0 (anchor)" if name == "random" else "—"
        lines.append(f"| {name} | {ci(r['mean'], r['lo'], r['hi'], 3)} | {anchor} |")
    lines.append("")
    div_path = (source or _root(cfg)) / "diversity.json"
    if div_path.exists():
        div = json.loads(div_path.read_text())
        lines.append("- Diversity (the paper's measure: normalized next-move entropy over opening "
                     f"states seen more than {div['min_count']} times): " + "; ".join(
                         f"{ds} {d['diversity']:.3f} over {d['n_states']} states"
                         for ds, d in div["datasets"].items()) + ".")
    for ds in datasets:
        t = tr["datasets"][ds]
        d = t["model_minus_best_expert"]
        line = (f"- Dataset {ds}: reward of {t['best_model']} minus {t['best_expert']}, paired over "
                f"the same states: {ci(d['mean'], d['lo'], d['hi'], 4)} — "
                f"{'transcends' if t['transcends'] else 'does not transcend'} in reward")
        v = verdicts[ds]
        if v:
            line += (f"; Elo at tau={v['best_tau']:g}: {v['model_rating']:.0f} ({v['model_lo']:.0f} "
                     f"to {v['model_hi']:.0f}) vs {v['best_expert']} {v['expert_rating']:.0f} "
                     f"({v['expert_lo']:.0f} to {v['expert_hi']:.0f}) — "
                     f"{'transcends' if v['transcends'] else 'does not transcend'} in games")
            both = t["transcends"] and v["transcends"]
            line += (f". **By the book's criterion (both): "
                     f"{'transcends' if both else 'does not transcend'}**")
        lines.append(line + ".")
    return "\n".join(lines)


PUBLISHED = Path(__file__).parent / "assets" / "results"


def publish(cfg: ExperimentConfig, dest: Path | None = None) -> Path:
    """Copy a finished run's result files and (small) checkpoints into the package, with their
    provenance, so that the book can show the real experiment even where it only runs the
    ``ci`` profile (CI, a first look on Colab). Returns the folder written."""
    import shutil
    import subprocess

    from .data import fingerprint

    dest = dest or PUBLISHED / cfg.profile
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("rewards_summary.json", "rewards_summary.csv", "rewards_per_state.csv"):
        shutil.copy2(rewards_dir(cfg) / name, dest / name)
    for name in ("habits.json", "diversity.json"):
        shutil.copy2(_root(cfg) / name, dest / name)
    prov: dict[str, Any] = {"command": f"minitranscend experiment --profile {cfg.profile}",
                            "config": json.loads(json.dumps(cfg.to_dict(), default=str))}
    try:
        prov["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                        text=True, cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        prov["commit"] = None
    for ds in DATASETS:
        ladder = ladder_dir(cfg, ds) / "ladder.json"
        if not ladder.exists():
            raise FileNotFoundError(f"no ladder results for dataset {ds}: run `minitranscend "
                                    f"experiment --profile {cfg.profile}` to the end first")
        for name in ("ladder.json", "ratings.csv", "matches.csv", "temperature.csv"):
            if (ladder.parent / name).exists():
                shutil.copy2(ladder.parent / name, dest / f"ladder-{ds}-{name}")
        mdir = model_dir(cfg, ds)
        shutil.copy2(mdir / "best.pt", dest / f"model-{ds}.pt")
        shutil.copy2(mdir / "metrics.jsonl", dest / f"model-{ds}-metrics.jsonl")
        manifest = json.loads((data_dir(cfg, ds) / "manifest.json").read_text())
        prov[ds] = {"data_fingerprint": fingerprint(data_dir(cfg, ds)), "games": manifest.get("n_games"),
                    "plies": manifest.get("n_plies"), "stockfish": manifest.get("stockfish"),
                    "experts": manifest.get("experts"), "train": json.loads((mdir / "config.json").read_text())}
    (dest / "provenance.json").write_text(json.dumps(prov, indent=2, default=str))
    return dest


def published(profile: str = "full") -> Path | None:
    """The shipped results of ``profile`` (see :func:`publish`), or None."""
    d = PUBLISHED / profile
    return d if (d / "provenance.json").exists() else None


def _train_one(cfg: ExperimentConfig, dataset: str, progress: bool) -> str:
    return str(ensure_model(cfg, dataset, progress=progress))


def _train_all(cfg: ExperimentConfig, datasets: tuple[str, ...]) -> list[str]:
    """Train every dataset's model: side by side, one process each, when there are workers to
    spare (the recipe trains on one thread, and two one-thread jobs beat one two-thread job on
    two cores), else one after the other. Each run checkpoints and resumes on its own."""
    if cfg.workers < 2 or len(datasets) < 2:
        return [_train_one(cfg, ds, True) for ds in datasets]
    from concurrent.futures import ProcessPoolExecutor

    from .evaluation.reward import mp_context

    print(f"training {len(datasets)} models side by side (progress: metrics.jsonl in each "
          "model folder)", flush=True)
    with ProcessPoolExecutor(min(cfg.workers, len(datasets)), mp_context=mp_context()) as pool:
        return list(pool.map(_train_one, [cfg] * len(datasets), datasets,
                             [False] * len(datasets)))


def run(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """Every stage for every dataset, in order. Rerunning resumes."""
    summary: dict[str, Any] = {"profile": cfg.profile, "config": cfg.to_dict()}
    for ds in datasets:
        summary[ds] = {"data": str(ensure_data(cfg, ds))}
    for ds, ckpt in zip(datasets, _train_all(cfg, datasets)):
        summary[ds]["model"] = str(ckpt)
    rewards = reward_stage(cfg, datasets)
    summary["rewards"] = rewards["transcendence"]
    if "B" in datasets:
        summary["habits"] = {k: v for k, v in habit_stage(cfg, datasets).items() if k != "stamp"}
    summary["diversity"] = diversity_stage(cfg, datasets)
    for ds in datasets:
        res = ladder_stage(cfg, ds)
        summary[ds]["ratings"] = {"series": res.series, "experts": res.references}
    path = _root(cfg) / "summary.json"
    path.write_text(json.dumps(summary, indent=2))
    return summary


# --------------------------------------------------------------------------- published results
# What the book's chapters read when they show the shipped full-profile run (their parameter
# USE_PUBLISHED): the checkpoints, the held-out states, the result files and the provenance.

def _published_dir(profile: str = "full") -> Path:
    source = published(profile)
    if source is None:
        raise FileNotFoundError(f"no shipped {profile!r} results in this installation (looked in "
                                f"{PUBLISHED / profile}); run `minitranscend experiment --profile "
                                f"{profile} --publish`, or use your own run (USE_PUBLISHED = False)")
    return source


def published_config(profile: str = "full") -> ExperimentConfig:
    """The configuration the shipped results were made with, as recorded in their
    ``provenance.json`` (not today's :func:`config`, which may have changed since)."""
    raw = json.loads((_published_dir(profile) / "provenance.json").read_text())["config"]
    experts = {ds: [ExpertConfig(**e) for e in panel] for ds, panel in raw["experts"].items()}
    return ExperimentConfig(**{**raw, "experts": experts, "taus": tuple(raw["taus"])})


def published_model(dataset: str = "A", profile: str = "full") -> Path:
    """The shipped checkpoint of ``dataset``'s model (its best one, lowest validation loss);
    load it with :func:`~minitranscend.train.load_checkpoint`."""
    _check(dataset)
    path = _published_dir(profile) / f"model-{dataset}.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the shipped results")
    return path


def published_states(n: int | None = None, profile: str = "full") -> list[tuple[str, Any]]:
    """``(game_id, board)`` of the held-out states the shipped rewards were computed on (from
    ``rewards_per_state.csv``, in its order, which is random over held-out games of dataset A);
    the first ``n`` of them, or all. Boards come from FENs: no move history."""
    import csv

    import chess

    with open(_published_dir(profile) / "rewards_per_state.csv", newline="") as fh:
        rows = [(r.get("game", ""), r["fen"]) for r in csv.DictReader(fh)]
    return [(game, chess.Board(fen)) for game, fen in rows[:n]]


def published_results(profile: str = "full") -> dict[str, Any]:
    """The shipped result files, loaded: ``rewards`` (``rewards_summary.json``), ``habits``,
    ``diversity``, ``ladders`` (``{"A": ladder.json, "B": ...}`` as dicts) and ``folder`` (the
    folder itself, e.g. for ``rewards_per_state.csv`` or :func:`headline_figure`)."""
    source = _published_dir(profile)
    read = lambda name: json.loads((source / name).read_text())  # noqa: E731
    return {"folder": source, "rewards": read("rewards_summary.json"), "habits": read("habits.json"),
            "diversity": read("diversity.json"),
            "ladders": {ds: read(f"ladder-{ds}-ladder.json") for ds in DATASETS
                        if (source / f"ladder-{ds}-ladder.json").exists()}}


def published_provenance(profile: str = "full") -> dict[str, Any]:
    """Facts about the shipped run for a chapter to quote: ``command``, ``commit`` (and
    ``commit_short``), ``stockfish``, ``n_games`` (per dataset), and per dataset (``"A"``,
    ``"B"``) the training run's ``minutes`` and ``steps`` and its best checkpoint's
    ``best_minutes``, ``best_step`` and ``best_val_loss`` (from ``model-<ds>-metrics.jsonl``)."""
    source = _published_dir(profile)
    prov = json.loads((source / "provenance.json").read_text())
    commit = prov.get("commit") or ""
    facts: dict[str, Any] = {"command": prov.get("command"), "commit": commit or None,
                             "commit_short": commit[:7] or None,
                             "n_games": prov["config"]["n_games"], "stockfish": None}
    for ds in DATASETS:
        if ds not in prov:
            continue
        facts["stockfish"] = facts["stockfish"] or prov[ds].get("stockfish")
        lines = (source / f"model-{ds}-metrics.jsonl").read_text().splitlines()
        evals = [json.loads(line) for line in lines if line.strip()]
        evals = [e for e in evals if e.get("val_loss") is not None]
        best = min(evals, key=lambda e: e["val_loss"])
        facts[ds] = {"minutes": evals[-1]["elapsed_s"] / 60, "steps": evals[-1]["step"],
                     "best_minutes": best["elapsed_s"] / 60, "best_step": best["step"],
                     "best_val_loss": best["val_loss"], "games": prov[ds].get("games")}
    return facts
# ------------------------------------------------------------------------ end published results


def _command(args: argparse.Namespace) -> int:
    cfg = config(args.profile)
    if args.workers:
        cfg.workers = args.workers
    if args.published:
        source = published(cfg.profile)
        if source is None:
            raise SystemExit(f"no shipped results for profile {cfg.profile!r} in this installation")
        print(results_markdown(cfg, source=source))
        return 0
    if not args.report:
        print(json.dumps(run(cfg, tuple(args.dataset or DATASETS)), indent=2, default=str))
    print(results_markdown(cfg))
    if args.publish:
        print(f"published to {publish(cfg)}")
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run the main experiment end to end (resumable)")
    p.add_argument("--profile", choices=("ci", "full"), default="ci")
    p.add_argument("--dataset", choices=DATASETS, action="append",
                   help="only this dataset (repeatable; default: A and B)")
    p.add_argument("--workers", type=int, help="processes for games and analysis (default 2)")
    p.add_argument("--report", action="store_true",
                   help="only print the results table from the files a finished run wrote")
    p.add_argument("--published", action="store_true",
                   help="only print the results table of the results shipped in the package")
    p.add_argument("--publish", action="store_true",
                   help="copy the results and checkpoints into the package (for the book)")
    p.set_defaults(func=_command)
