"""The experiment's stages: data -> models (every seed) -> rewards, habits, diversity -> ladders -> own-game states, and the run.

Each stage writes its results under ``runs/<profile>/experiment/`` (:mod:`.folders`) and skips
work that is already done, so ``minitranscend experiment`` resumes when rerun and every chapter
can call the stage it needs and get the same files, whether the earlier chapters ran in this
session or not. A stage whose result is one file keeps it with the settings that made it
(:func:`~minitranscend.store.cached_json`): the file is reused while they match.
"""
from __future__ import annotations

import math
import random
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import chess
import numpy as np

from ..analysis import distributions
from ..data import diversity, generate_games, iter_games
from ..engine import EngineSettings, SearchLimit
from ..evaluation.ladder import LADDER, evaluate_temperatures, expert_spec
from ..evaluation.match import load_games
from ..evaluation.reward import (analyse_positions, bootstrap_ci, describe_analysis,
                                 evaluate_rewards, normalize_fen, paired_bootstrap_ci,
                                 ratio_bootstrap_ci, summarize_rewards)
from ..held_out import HeldOutState, held_out_states
from ..player_specs import model_label
from ..players import Expert, RandomPlayer
from ..settings import ANALYSIS_PLAN, DATASETS, LADDER_DATASETS, TAU_RULE, ExperimentConfig, check_dataset_name
from ..store import atomic_write_csv, atomic_write_json, cached_json, load_if_current
from ..train import BEST_NAME, TrainConfig, load_checkpoint, train
from ..workers import worker_pool
from .folders import data_dir, experiment_dir, ladder_dir, model_dir, rewards_dir
from .references import board_index, lookup_policies, reference_distributions, vote_name

DIVERSITY_MAX_PLY = 16  # the paper's opening states: the first 16 plies


def ensure_data(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True) -> Path:
    """Generate (or finish generating) the expert games of ``dataset``; returns its directory.

    Used in chapters 2, 3 and 4."""
    out = data_dir(cfg, dataset)
    seed = cfg.seed + DATASETS.index(check_dataset_name(dataset))
    generate_games(out, cfg.experts[dataset], cfg.n_games, seed=seed, workers=cfg.workers,
                   max_plies=cfg.max_plies, progress=progress)
    return out


def model_prefix(dataset: str, seed: int, history: int = 0) -> str:
    """``model-<dataset>-s<seed>``: the name of one trained model in every result file (games,
    ratings, rewards), followed by ``-tau<t>`` (:func:`~minitranscend.player_specs.model_label`).
    A model that reads the mover's last ``history`` moves is ``model-<dataset>-h<history>-s<seed>``."""
    middle = f"-h{history}" if history else ""
    return f"model-{check_dataset_name(dataset)}{middle}-s{seed}"


def train_config(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True,
                 seed: int | None = None, history: int = 0) -> TrainConfig:
    """The :class:`~minitranscend.train.TrainConfig` of the model trained on ``dataset`` with
    training seed ``seed`` (None: the first of ``cfg.train_seeds``); ``history``: the same
    recipe reading the mover's last moves too (chapter 7).

    Used in chapters 4 and 5."""
    check_dataset_name(dataset)
    seed = cfg.train_seeds[0] if seed is None else seed
    return TrainConfig.from_dict({**cfg.train, "data": str(data_dir(cfg, dataset)),
                                  "out": str(model_dir(cfg, dataset, seed, history)),
                                  "seed": seed, "history": history,
                                  "data_cache": str(experiment_dir(cfg, "cache") / "tokenized"),
                                  "progress": progress})


def ensure_model(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True,
                 seed: int | None = None, history: int = 0) -> Path:
    """Train (or resume, or reuse) the model on ``dataset`` with training seed ``seed`` (None:
    the first of ``cfg.train_seeds``); returns the best checkpoint's path.

    Used in chapters 5 and 6."""
    ensure_data(cfg, dataset, progress=progress)
    tc = train_config(cfg, dataset, progress=progress, seed=seed, history=history)
    train(tc)
    return Path(tc.out) / BEST_NAME


def experiment_states(cfg: ExperimentConfig, dataset: str = "A", part: str = "test",
                      n: int | None = None) -> list[HeldOutState]:
    """Held-out states of ``dataset``'s games (:func:`~minitranscend.held_out.held_out_states`,
    with the training run's split): ``part="test"`` (``cfg.n_states`` of them: what the results
    report) or ``"val"`` (``cfg.n_val_states``: where the temperature is chosen). No model was
    trained on either, and the two share no game."""
    ensure_data(cfg, dataset, progress=False)
    n = n or (cfg.n_states if part == "test" else cfg.n_val_states)
    return held_out_states(data_dir(cfg, dataset), n,
                           val_fraction=cfg.train.get("val_fraction", TrainConfig.val_fraction),
                           seed=cfg.seed, part=part)


def temperature_policies(checkpoint: str | Path, taus: tuple[float, ...], boards: list,
                         prefix: str = "model") -> dict[str, Any]:
    """``{model_label(prefix, tau): board -> {move: p}}`` for every temperature, computing the model's
    distribution once per state (a batched forward pass) and re-tempering it, which is exact
    for move-level temperature."""
    return tempered_policies(model_distributions(checkpoint, boards), taus, boards, prefix)


def model_distributions(checkpoint: str | Path, boards: list) -> list:
    """The model's move distribution (tau = 1) in every board, in batched forward passes."""
    model, tok, _ = load_checkpoint(checkpoint, "cpu")
    return distributions(model, tok, boards)


def tempered_policies(base: list, taus: tuple[float, ...], boards: list,
                      prefix: str = "model") -> dict[str, Any]:
    """:func:`temperature_policies` from distributions already computed (``base``, one per
    board)."""
    index = board_index(boards)

    def at(tau: float):
        return lambda board: base[index(board)].at_temperature(tau).as_dict()

    return {model_label(prefix, tau): at(tau) for tau in taus}


def state_sets(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
               ) -> dict[str, list[HeldOutState]]:
    """The named state sets of the reward stage: ``val-<ds>`` (validation half of each
    dataset's held-out games: the temperature rule) and ``<ds>-games`` (test half: the
    results), for every dataset."""
    sets = {f"val-{ds}": experiment_states(cfg, ds, "val") for ds in datasets}
    sets.update({f"{ds}-games": experiment_states(cfg, ds, "test") for ds in datasets})
    return sets


def _score_sets(cfg: ExperimentConfig, sets: dict[str, list], datasets: tuple[str, ...],
                progress: bool) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list], dict[str, list]]:
    """Every policy's per-state reward on every state set: ``(rewards[set][policy], boards[set],
    games[set])``. States whose position has no scored move are dropped."""
    limit = SearchLimit(depth=cfg.reward_depth)
    fens = [s.board.fen() for states in sets.values() for s in states]
    scores = analyse_positions(fens, limit=limit, workers=cfg.workers,
                               cache_dir=experiment_dir(cfg, "cache"), progress=progress)
    rewards, boards, games = {}, {}, {}
    for name, states in sets.items():
        states = [s for s in states if scores[normalize_fen(s.board.fen())]]
        keep = [s.board for s in states]
        boards[name], games[name] = keep, [s.game for s in states]
        policies: dict[str, Any] = {"oracle": "oracle", "random": RandomPlayer()}
        policies.update(lookup_policies(reference_distributions(cfg, keep), keep))
        for ds in datasets:
            for seed in cfg.train_seeds:
                ckpt = model_dir(cfg, ds, seed) / BEST_NAME
                policies.update(temperature_policies(ckpt, cfg.taus, keep,
                                                     prefix=model_prefix(ds, seed)))
        rewards[name] = evaluate_rewards(policies, keep, scores, progress=False)
    return rewards, boards, games


def choose_tau(val_rewards: dict[str, np.ndarray], cfg: ExperimentConfig, dataset: str,
               seed: int, prefix: Callable[[str, int], str] = model_prefix) -> float:
    """:data:`~minitranscend.settings.TAU_RULE`: the temperature of ``cfg.taus`` with the highest
    mean reward on the validation states (ties: the lowest temperature). ``prefix``: how the
    models are named (:func:`model_prefix`; chapter 7's history models have their own)."""
    means = [float(val_rewards[model_label(prefix(dataset, seed), t)].mean())
             for t in cfg.taus]
    return cfg.taus[int(np.argmax(means))]


def chosen_taus(cfg: ExperimentConfig, dataset: str, progress: bool = False) -> dict[int, float]:
    """``{seed: tau}``: the temperature :func:`choose_tau` picked for each of ``dataset``'s
    models, as the reward stage recorded it (running that stage if it has not run)."""
    recorded = reward_stage(cfg, progress=progress)["chosen_tau"][dataset]
    return {int(seed): float(tau) for seed, tau in recorded.items()}


def _ci(t: tuple[float, float, float]) -> dict[str, float]:
    return {"mean": t[0], "lo": t[1], "hi": t[2]}


def compare_on_set(rewards: dict[str, np.ndarray], games: list, cfg: ExperimentConfig,
                   dataset: str, taus: dict[int, float],
                   prefix: Callable[[str, int], str] = model_prefix) -> dict[str, Any]:
    """On one state set: each seed's model (at its chosen temperature) against ``dataset``'s
    best expert on these states and against the panel's exact vote, the recovery ratio
    (model - best expert) / (vote - best expert), every interval resampling whole games, and
    the spread over seeds. ``prefix`` names the models (:func:`model_prefix`)."""
    names = [e.name for e in cfg.experts[dataset]]
    best = max(names, key=lambda n: float(rewards[n].mean()))
    vote = rewards[vote_name(dataset)]
    gap = vote - rewards[best]
    out: dict[str, Any] = {"n_states": len(games), "best_expert": best,
                           "vote_minus_best_expert": _ci(paired_bootstrap_ci(
                               vote, rewards[best], seed=cfg.seed, groups=games)),
                           "seeds": []}
    for seed, tau in taus.items():
        model = rewards[model_label(prefix(dataset, seed), tau)]
        out["seeds"].append({
            "seed": seed, "tau": tau, "model": model_label(prefix(dataset, seed), tau),
            "reward": _ci(bootstrap_ci(model, seed=cfg.seed, groups=games)),
            "model_minus_best_expert": _ci(paired_bootstrap_ci(model, rewards[best],
                                                               seed=cfg.seed, groups=games)),
            "model_minus_vote": _ci(paired_bootstrap_ci(model, vote, seed=cfg.seed, groups=games)),
            "recovery": _ci(ratio_bootstrap_ci(model - rewards[best], gap, seed=cfg.seed,
                                               groups=games)),
        })
    gains = np.array([r["model_minus_best_expert"]["mean"] for r in out["seeds"]])
    recov = np.array([r["recovery"]["mean"] for r in out["seeds"]])
    out["spread"] = {"gain_mean": float(gains.mean()), "gain_sd": float(gains.std(ddof=1)) if len(gains) > 1 else 0.0,
                     "gain_min": float(gains.min()), "gain_max": float(gains.max()),
                     "recovery_mean": float(recov.mean()), "recovery_min": float(recov.min()),
                     "recovery_max": float(recov.max())}
    out["seeds_above_best_expert"] = int(sum(r["model_minus_best_expert"]["lo"] > 0
                                             for r in out["seeds"]))
    out["seeds_below_best_expert"] = int(sum(r["model_minus_best_expert"]["hi"] < 0
                                             for r in out["seeds"]))
    return out


def reward_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                 progress: bool = True) -> dict[str, Any]:
    """Per-state reward, on named state sets of every dataset's held-out games, of: oracle,
    random, the bare engine, every expert, every expert without slips, every panel's exact
    vote, and every model (dataset x training seed) at every temperature. Each model's
    temperature is chosen on validation states (:func:`choose_tau`); on the test sets each seed
    is compared with its dataset's best expert and vote (:func:`compare_on_set`). Writes
    ``rewards/``; reruns with the same settings read it.

    Used in chapter 7."""
    out = rewards_dir(cfg)
    summary_path = out / "rewards_summary.json"
    stamp = {"config": cfg.stamp(), "datasets": list(datasets), "layout": "state-sets-v1"}
    done = load_if_current(summary_path, stamp)
    if done is not None:
        return done  # same settings: the result is already there
    for ds in datasets:
        for seed in cfg.train_seeds:
            ensure_model(cfg, ds, progress=progress, seed=seed)
    rewards, boards, games = _score_sets(cfg, state_sets(cfg, datasets), datasets, progress)
    taus = {ds: {seed: choose_tau(rewards[f"val-{ds}"], cfg, ds, seed) for seed in cfg.train_seeds}
            for ds in datasets}
    comparisons = {ds: {name: compare_on_set(rewards[name], games[name], cfg, ds, taus[ds])
                        for name in rewards if not name.startswith("val-")}
                   for ds in datasets}
    limit = SearchLimit(depth=cfg.reward_depth)
    result = {"stamp": stamp, "limit": limit.describe(), "tau_rule": TAU_RULE,
              "analysis_plan": ANALYSIS_PLAN,
              "interval": "95% cluster bootstrap over held-out games",
              "chosen_tau": {ds: {str(s): t for s, t in v.items()} for ds, v in taus.items()},
              "sets": _set_summaries(cfg, rewards, games),
              "comparisons": comparisons,
              "analysis": describe_analysis(limit, EngineSettings(), None)}
    result["summary"] = result["sets"]["A-games"]["summary"] if "A-games" in result["sets"] else []
    write_state_sets(out / "rewards_per_state.csv", rewards, boards, games)
    atomic_write_json(summary_path, result, indent=1)
    return result


def _set_summaries(cfg: ExperimentConfig, rewards: dict[str, dict[str, np.ndarray]],
                   games: dict[str, list]) -> dict[str, Any]:
    """Per state set: its size, its number of games, and every policy's mean reward with a
    95% interval over games."""
    return {name: {"n_states": len(games[name]), "n_games": len(set(games[name])),
                   "summary": summarize_rewards(r, seed=cfg.seed, groups=games[name])}
            for name, r in rewards.items()}


def write_state_sets(path: Path, rewards: dict[str, dict[str, np.ndarray]],
                     boards: dict[str, list], games: dict[str, list]) -> None:
    """One CSV row per state of every set: ``set``, ``game``, ``fen``, then one column per
    policy (every set has the same policies)."""
    rows = []
    for name, r in rewards.items():
        for i, board in enumerate(boards[name]):
            rows.append({"set": name, "game": games[name][i], "fen": normalize_fen(board.fen()),
                         **{p: f"{v[i]:.5f}" for p, v in r.items()}})
    atomic_write_csv(path, rows)


def habit_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """What each model (every seed) plays at temperature 0 on the test states of dataset A where dataset B's
    shared habit applies: the share of states where its top move is that habit move, the
    engine move, or something else; the experts' own habit rate beside it. The direct check of
    the ablation's mechanism (B's model should play the habit far more often than its experts'
    habit_rate; A's far less). Writes ``habits.json``; reruns read it.

    Used in chapter 7."""
    stamp = {"config": cfg.stamp(), "datasets": list(datasets),
             "models": [model_dir(cfg, ds, seed).name for ds in datasets
                        for seed in cfg.train_seeds]}
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
            for seed in cfg.train_seeds:
                ckpt = ensure_model(cfg, ds, progress=False, seed=seed)
                model, tok, _ = load_checkpoint(ckpt, "cpu")
                tops = [d.argmax() for d in distributions(model, tok, boards)] if boards else []
                n = max(1, len(states))
                habit = sum(t == h for t, (_, h, _) in zip(tops, states)) / n
                engine = sum(t == e for t, (_, _, e) in zip(tops, states)) / n
                result["models"][model_prefix(ds, seed)] = {"habit": habit, "engine": engine,
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


def ladder_stage(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True,
                 taus: tuple[float, ...] | None = None):
    """Matches and ratings for the first seed's model of ``dataset``, on the course's one ladder
    (:data:`~minitranscend.evaluation.ladder.LADDER`): the model at its chosen temperature (the
    reward stage's :func:`choose_tau`) and at ``cfg.match_taus`` (tau = 1) against the experts
    who wrote its data and the random player (``match_games`` games per temperature, both
    colours), plus games among the ladder's reference players and the experts so that all sit
    on one maximum-likelihood Elo scale anchored at the random player = 0, games at the ply cap
    adjudicated by Stockfish. Resumable. Writes ``ladder-<ds>-<tag>/``. The board model cannot
    see the game's history, so it plays with the ladder's draw avoidance
    (:func:`~minitranscend.policy.avoid_draws_when_ahead`; it would otherwise shuffle won games
    into repetitions); the per-state reward scores its pure distribution.

    Used in chapter 7."""
    seed = cfg.train_seeds[0]
    ckpt = ensure_model(cfg, dataset, progress=progress, seed=seed)
    if taus is None:
        taus = tuple(sorted({chosen_taus(cfg, dataset, progress)[seed], *cfg.match_taus}))
    experts = [expert_spec(e) for e in cfg.experts[dataset]]
    opponents = LADDER.opponents() + experts
    model_opponents = [LADDER.anchor] + [e.label for e in experts]
    per_pair = max(1, cfg.match_games // len(model_opponents))
    return evaluate_temperatures(
        ckpt, taus, opponents, ladder_dir(cfg, dataset),
        games_per_pair=per_pair, model_opponents=model_opponents,
        model_name=model_prefix(dataset, seed), workers=cfg.workers, seed=cfg.seed,
        max_plies=cfg.max_plies, progress=progress, ladder=LADDER)


def own_game_states(cfg: ExperimentConfig, dataset: str, n: int | None = None,
                    min_ply: int = 4) -> list[HeldOutState]:
    """``n`` (default ``cfg.n_own_states``) states from the rated model's own games at its
    chosen temperature (the ladder's), where the model is to move: the positions it actually
    meets when it plays, not its experts' positions. Spread evenly over the games, shuffled
    with ``cfg.seed``; each keeps its game (match folder and index) for the intervals."""
    seed = cfg.train_seeds[0]
    label = model_label(model_prefix(dataset, seed), chosen_taus(cfg, dataset)[seed])
    games = []
    for folder in sorted((ladder_dir(cfg, dataset) / "matches").iterdir()):
        for g in load_games(folder):
            if label in (g.get("white"), g.get("black")):
                games.append((f"{folder.name}#{g['index']}", g))
    if not games:
        raise FileNotFoundError(f"no games of {label} in {ladder_dir(cfg, dataset)}: run the "
                                "ladder stage first (`minitranscend experiment` does)")
    n = n or cfg.n_own_states
    per_game = max(1, math.ceil(1.2 * n / len(games)))
    rng = random.Random(cfg.seed)
    states = []
    for gid, g in games:
        board, moves = chess.Board(), g["moves"].split()
        mover = chess.WHITE if g["white"] == label else chess.BLACK
        plies = [i for i in range(min_ply, len(moves)) if (i % 2 == 0) == (mover == chess.WHITE)]
        chosen = set(rng.sample(plies, min(per_game, len(plies))))
        for i, uci in enumerate(moves):
            if i in chosen and not board.is_game_over():
                states.append(HeldOutState(gid, board.copy(), chess.Move.from_uci(uci)))
            board.push_uci(uci)
    rng.shuffle(states)
    return states[:n]


def own_games_stage(cfg: ExperimentConfig, datasets: tuple[str, ...] = LADDER_DATASETS,
                    progress: bool = True) -> dict[str, Any]:
    """The reward stage's comparison on states from each rated model's own games
    (:func:`own_game_states`, sets ``own-<ds>``): does the gain over the best expert hold where
    the model meets the positions its own play leads to? Writes ``rewards/own_games_*``.

    Used in chapter 7."""
    out = rewards_dir(cfg)
    stamp = {"config": cfg.stamp(), "datasets": list(datasets), "layout": "state-sets-v1",
             "ladders": [ladder_dir(cfg, ds).name for ds in datasets]}
    path = out / "own_games_summary.json"
    done = load_if_current(path, stamp)
    if done is not None:
        return done
    sets = {f"own-{ds}": own_game_states(cfg, ds) for ds in datasets}
    rewards, boards, games = _score_sets(cfg, sets, DATASETS, progress)
    result = {"stamp": stamp,
              "sets": _set_summaries(cfg, rewards, games),
              "comparisons": {ds: {f"own-{ds}": compare_on_set(
                  rewards[f"own-{ds}"], games[f"own-{ds}"], cfg, ds, chosen_taus(cfg, ds))}
                  for ds in datasets}}
    write_state_sets(out / "own_games_per_state.csv", rewards, boards, games)
    atomic_write_json(path, result, indent=1)
    return result


def _train_one(cfg: ExperimentConfig, dataset: str, seed: int, progress: bool,
               history: int = 0) -> str:
    return str(ensure_model(cfg, dataset, progress=progress, seed=seed, history=history))


def score_reward_states(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                        workers: int | None = None, progress: bool = False) -> int:
    """Stockfish's score of every legal move of the reward stage's states (:func:`state_sets`),
    into the analysis cache, where :func:`reward_stage` finds them; returns the number of
    states. They depend on the data only, not on any model, so :func:`run` scores them while
    the models train."""
    fens = [s.board.fen() for states in state_sets(cfg, datasets).values() for s in states]
    analyse_positions(fens, limit=SearchLimit(depth=cfg.reward_depth),
                      workers=workers or cfg.workers, cache_dir=experiment_dir(cfg, "cache"),
                      progress=progress)
    return len(fens)


def _train_all(cfg: ExperimentConfig, datasets: tuple[str, ...], score_states: bool = False,
               history: int = 0) -> list[str]:
    """Train every (dataset, seed) model: side by side, one process each, when there are
    workers to spare (the recipe trains on one thread, and two one-thread jobs beat one
    two-thread job on two cores), else one after the other. Each run checkpoints and resumes
    on its own.

    With ``score_states`` the pool also runs :func:`score_reward_states` (on one core), as its
    first job: nine models on two lanes leave one lane idle for the last round, and the
    scoring (about 9 core-minutes in the full profile) fills it, instead of running after the
    training on both cores (measured: 61.6 min for the whole run before, see
    ``docs/experiment_design.md``)."""
    jobs = [(ds, seed) for seed in cfg.train_seeds for ds in datasets]
    if cfg.workers < 2 or len(jobs) < 2:
        return [_train_one(cfg, ds, seed, True, history) for ds, seed in jobs]
    print(f"training {len(jobs)} models, {min(cfg.workers, len(jobs))} side by side (progress: "
          "metrics.jsonl in each model folder)" + (", and scoring the reward states"
                                                   if score_states else ""), flush=True)
    with worker_pool(min(cfg.workers, len(jobs))) as pool:
        scoring = pool.submit(score_reward_states, cfg, datasets, 1) if score_states else None
        models = [pool.submit(_train_one, cfg, ds, seed, False, history) for ds, seed in jobs]
        if scoring is not None:
            scoring.result()
        return [m.result() for m in models]


def run_record(cfg: ExperimentConfig) -> dict[str, Any]:
    """Where this run's settings come from, taken when it starts: the commit checked out, when
    it was committed, and whether ``settings.py`` (the pre-registered analysis) differs from
    it. Published with the results, so that a reader sees the config was committed first."""
    here = Path(__file__).resolve().parent
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True,  # noqa: E731
                                    cwd=here).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD") or None
        committed = git("show", "-s", "--format=%cI", "HEAD") or None
        dirty = bool(git("status", "--porcelain", "--", str(here.parent / "settings.py")))
    except OSError:
        commit, committed, dirty = None, None, None
    return {"config_commit": commit, "config_committed_at": committed,
            "settings_modified_since_commit": dirty,
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": f"minitranscend experiment --profile {cfg.profile}", "stages_s": {}}


def run(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS) -> dict[str, Any]:
    """Every stage for every dataset, in order; rerunning resumes. Times each stage and the
    whole run, and writes ``summary.json`` and ``run.json`` (:func:`run_record` plus the wall
    time; a resumed run records the time of its last, resuming, invocation)."""
    record = run_record(cfg)
    start = time.monotonic()
    atomic_write_json(experiment_dir(cfg) / "run.json", {**record, "finished": False}, indent=2)

    def timed(name: str, fn, *args, **kwargs):
        t = time.monotonic()
        value = fn(*args, **kwargs)
        record["stages_s"][name] = round(time.monotonic() - t, 1)
        print(f"[{name}: {record['stages_s'][name]:.0f} s]", flush=True)
        return value

    summary: dict[str, Any] = {"profile": cfg.profile, "config": cfg.to_dict()}
    for ds in datasets:
        summary[ds] = {"data": str(timed(f"data-{ds}", ensure_data, cfg, ds))}
    summary["models"] = timed("train", _train_all, cfg, datasets, score_states=True)
    rewards = timed("rewards", reward_stage, cfg, datasets)
    summary["chosen_tau"] = rewards["chosen_tau"]
    summary["comparisons"] = rewards["comparisons"]
    if "B" in datasets:
        summary["habits"] = {k: v for k, v in timed("habits", habit_stage, cfg, datasets).items()
                             if k != "stamp"}
    summary["diversity"] = timed("diversity", diversity_stage, cfg, datasets)
    rated = tuple(ds for ds in LADDER_DATASETS if ds in datasets)
    for ds in rated:
        res = timed(f"ladder-{ds}", ladder_stage, cfg, ds)
        summary[ds]["ratings"] = {"series": res.series, "experts": res.references}
    if rated:
        own = timed("own-games", own_games_stage, cfg, rated)
        summary["own_games"] = own["comparisons"]
    record.update(finished=True, wall_s=round(time.monotonic() - start, 1),
                  finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    atomic_write_json(experiment_dir(cfg) / "run.json", record, indent=2)
    summary["run"] = record
    atomic_write_json(experiment_dir(cfg) / "summary.json", summary, indent=2)
    print(f"experiment finished in {record['wall_s'] / 60:.1f} min (run.json)", flush=True)
    return summary
