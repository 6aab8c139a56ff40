"""The experiment's stages: data -> model -> rewards, habits, diversity -> ladder, and the run.

Each stage writes its results under ``runs/<profile>/experiment/`` (:mod:`.folders`) and skips
work that is already done, so ``minitranscend experiment`` resumes when rerun and every chapter
can call the stage it needs and get the same files, whether the earlier chapters ran in this
session or not. A stage whose result is one file keeps it with the settings that made it
(:func:`~minitranscend.store.cached_json`): the file is reused while they match.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..analysis import distributions
from ..data import diversity, generate_games, iter_games
from ..engine import EngineSettings, SearchLimit
from ..evaluation.ladder import LADDER, evaluate_temperatures, expert_spec
from ..evaluation.reward import (analyse_positions, describe_analysis, evaluate_rewards,
                                 gain_concentration, paired_bootstrap_ci, state_gains,
                                 summarize_rewards, write_reward_results)
from ..held_out import HeldOutState, held_out_states
from ..player_specs import model_label
from ..players import Expert, RandomPlayer
from ..settings import DATASETS, ExperimentConfig, check_dataset_name
from ..store import atomic_write_json, cached_json, load_if_current
from ..train import BEST_NAME, TrainConfig, load_checkpoint, train
from ..workers import worker_pool
from .folders import data_dir, experiment_dir, ladder_dir, model_dir, rewards_dir

DIVERSITY_MAX_PLY = 16  # the paper's opening states: the first 16 plies


def ensure_data(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True) -> Path:
    """Generate (or finish generating) the expert games of ``dataset``; returns its directory.

    Used in chapters 2, 3 and 4."""
    out = data_dir(cfg, dataset)
    seed = cfg.seed + (0 if dataset == "A" else 1)
    generate_games(out, cfg.experts[dataset], cfg.n_games, seed=seed, workers=cfg.workers,
                   max_plies=cfg.max_plies, progress=progress)
    return out


def train_config(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True) -> TrainConfig:
    """The :class:`~minitranscend.train.TrainConfig` of the model trained on ``dataset``.

    Used in chapters 4 and 5."""
    check_dataset_name(dataset)
    return TrainConfig.from_dict({**cfg.train, "data": str(data_dir(cfg, dataset)),
                                  "out": str(model_dir(cfg, dataset)), "seed": cfg.seed,
                                  "progress": progress})


def ensure_model(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True) -> Path:
    """Train (or resume, or reuse) the model on ``dataset``; returns the best checkpoint's path.

    Used in chapters 5 and 6."""
    ensure_data(cfg, dataset, progress=progress)
    tc = train_config(cfg, dataset, progress=progress)
    train(tc)
    return Path(tc.out) / BEST_NAME


def experiment_states(cfg: ExperimentConfig, dataset: str = "A") -> list[HeldOutState]:
    """The experiment's ``cfg.n_states`` held-out states of ``dataset``
    (:func:`~minitranscend.held_out.held_out_states` of its games, with the training run's
    split): both models are scored on these same states, which no model was trained on."""
    ensure_data(cfg, dataset, progress=False)
    return held_out_states(data_dir(cfg, dataset), cfg.n_states,
                           val_fraction=cfg.train.get("val_fraction", TrainConfig.val_fraction),
                           seed=cfg.seed)


def temperature_policies(checkpoint: str | Path, taus: tuple[float, ...], boards: list,
                         prefix: str = "model") -> dict[str, Any]:
    """``{model_label(prefix, tau): board -> {move: p}}`` for every temperature, computing the model's
    distribution once per state (a batched forward pass) and re-tempering it, which is exact
    for move-level temperature."""
    model, tok, _ = load_checkpoint(checkpoint, "cpu")
    base = {b.fen(): d for b, d in zip(boards, distributions(model, tok, boards))}

    def at(tau: float):
        return lambda board: base[board.fen()].at_temperature(tau).as_dict()

    return {model_label(prefix, tau): at(tau) for tau in taus}


def _row(summary: list[dict[str, Any]], policy: str) -> dict[str, Any]:
    return next(r for r in summary if r["policy"] == policy)


def reward_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                 progress: bool = True) -> dict[str, Any]:
    """Per-state reward on held-out states of dataset A: oracle, random, every expert of every
    dataset (exact distributions) and each dataset's model at every temperature, with 95%
    intervals that resample whole held-out games; plus where the low-temperature gain comes
    from. Writes ``rewards/``.

    Used in chapter 7."""
    out = rewards_dir(cfg)
    summary_path = out / "rewards_summary.json"
    # "labels": results made before models were named by player_specs.model_label are redone
    stamp = {"config": cfg.stamp(), "datasets": list(datasets), "labels": "model_label"}
    done = load_if_current(summary_path, stamp)
    if done is not None:
        return done  # same settings: the result is already there
    states = experiment_states(cfg, "A")
    limit = SearchLimit(depth=cfg.reward_depth)
    scores = analyse_positions([s.board.fen() for s in states], limit=limit, workers=cfg.workers,
                               cache_dir=experiment_dir(cfg, "cache"), progress=progress)
    states = [s for s in states if scores[s.board.fen()]]
    keep, games = [s.board for s in states], [s.game for s in states]
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
        model_names = [model_label(f"model-{ds}", t) for t in cfg.taus]
        best_model = max(model_names, key=lambda n: float(rewards[n].mean()))
        diff = paired_bootstrap_ci(rewards[best_model], rewards[best_expert], seed=cfg.seed,
                                   groups=games)
        gains = state_gains(rewards[model_label(f"model-{ds}", min(cfg.taus))],
                            rewards[model_label(f"model-{ds}", 1)])
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
    habit_rate; A's far less). Writes ``habits.json``; reruns read it.

    Used in chapter 7."""
    stamp = {"config": cfg.stamp(), "datasets": list(datasets),
             "models": [model_dir(cfg, ds).name for ds in datasets]}
    habit_cfg = cfg.experts["B"][0]

    def compute() -> dict[str, Any]:
        with Expert(habit_cfg) as expert:
            states = [(s.board, expert.habit_move(s.board)) for s in experiment_states(cfg, "A")]
            states = [(b, h, expert.engine_move(b)) for b, h in states if h is not None]
        states = [(b, h, e) for b, h, e in states if h != e]  # where the habit is a real error
        result: dict[str, Any] = {"habit": habit_cfg.habit, "habit_rate": habit_cfg.habit_rate,
                                  "eps": habit_cfg.eps, "n_states": len(states), "models": {}}
        boards = [b for b, _, _ in states]
        for ds in datasets:
            model, tok, _ = load_checkpoint(ensure_model(cfg, ds, progress=False), "cpu")
            tops = [d.argmax() for d in distributions(model, tok, boards)] if boards else []
            n = max(1, len(states))
            habit = sum(t == h for t, (_, h, _) in zip(tops, states)) / n
            engine = sum(t == e for t, (_, _, e) in zip(tops, states)) / n
            result["models"][f"model-{ds}"] = {"habit": habit, "engine": engine,
                                               "other": 1.0 - habit - engine}
        return result

    return cached_json(experiment_dir(cfg) / "habits.json", stamp, compute)


def diversity_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """The paper's diversity measure of each dataset: mean normalized entropy of the next move
    over opening states (first 16 plies) seen more than ``cfg.diversity_min_count`` times.
    Writes ``diversity.json``.

    Used in chapter 7."""
    min_count = cfg.diversity_min_count
    result: dict[str, Any] = {"max_ply": DIVERSITY_MAX_PLY, "min_count": min_count, "datasets": {}}
    for ds in datasets:
        d = diversity(iter_games(data_dir(cfg, ds)), max_ply=DIVERSITY_MAX_PLY, min_count=min_count)
        result["datasets"][ds] = {"diversity": d["diversity"], "n_states": d["n_states"]}
    atomic_write_json(experiment_dir(cfg) / "diversity.json", result, indent=2)
    return result


def ladder_stage(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True):
    """Matches and ratings for the model trained on ``dataset``, on the course's one ladder
    (:data:`~minitranscend.evaluation.ladder.LADDER`): the model at every match temperature
    against the experts who wrote its data and the random player (``match_games`` games per
    temperature, both colours), plus games among the ladder's reference players and the experts
    so that all sit on one maximum-likelihood Elo scale anchored at the random player = 0, games
    at the ply cap adjudicated by Stockfish. Resumable. Writes ``ladder-<ds>-<tag>/``. The board
    model cannot see the game's history, so it plays with the ladder's draw avoidance
    (:func:`~minitranscend.policy.avoid_draws_when_ahead`; it would otherwise shuffle won games
    into repetitions); the per-state reward scores its pure distribution.

    Used in chapter 7."""
    ckpt = ensure_model(cfg, dataset, progress=progress)
    experts = [expert_spec(e) for e in cfg.experts[dataset]]
    opponents = LADDER.opponents() + experts
    model_opponents = [LADDER.anchor] + [e.label for e in experts]
    per_pair = max(1, cfg.match_games // len(model_opponents))
    return evaluate_temperatures(
        ckpt, cfg.match_taus, opponents, ladder_dir(cfg, dataset),
        games_per_pair=per_pair, model_opponents=model_opponents, model_name=f"model-{dataset}",
        workers=cfg.workers, seed=cfg.seed, max_plies=cfg.max_plies, progress=progress,
        ladder=LADDER)


def _train_one(cfg: ExperimentConfig, dataset: str, progress: bool) -> str:
    return str(ensure_model(cfg, dataset, progress=progress))


def _train_all(cfg: ExperimentConfig, datasets: tuple[str, ...]) -> list[str]:
    """Train every dataset's model: side by side, one process each, when there are workers to
    spare (the recipe trains on one thread, and two one-thread jobs beat one two-thread job on
    two cores), else one after the other. Each run checkpoints and resumes on its own."""
    if cfg.workers < 2 or len(datasets) < 2:
        return [_train_one(cfg, ds, True) for ds in datasets]
    print(f"training {len(datasets)} models side by side (progress: metrics.jsonl in each "
          "model folder)", flush=True)
    with worker_pool(min(cfg.workers, len(datasets))) as pool:
        return list(pool.map(_train_one, [cfg] * len(datasets), datasets,
                             [False] * len(datasets)))


def run(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """Every stage for every dataset, in order. Rerunning resumes. Writes ``summary.json``."""
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
    atomic_write_json(experiment_dir(cfg) / "summary.json", summary, indent=2)
    return summary
