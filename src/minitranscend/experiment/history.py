"""Does a model that can tell who is playing still vote? (chapter 7's last section)

A board model cannot know which of dataset A's experts is to move: in every position it can
only learn the experts' moves averaged over who might be moving, and at low temperature it
plays the top of that average, which is where the panel's exact majority vote comes from (the
denoising of chapter 7). The paper's model reads the whole game, and a game shows who is
playing: an expert who loves its king moves its king. A model that identifies the mover could
imitate *that* expert instead, and at low temperature play that expert's own most likely move,
which for every expert of panel A is its habit move wherever the habit applies (``(1 - eps) *
habit_rate`` = 0.3 on the habit move against 0.2 on the engine's). The taxonomy paper calls
this skill *selection*; here it would work against the model.

:func:`history_stage` trains A's recipe again with the mover's own last
:data:`~minitranscend.settings.HISTORY_MOVES` moves as extra input (the board tokenizer's
``history``), same data, steps and seeds, and measures on A's test states, fixed beforehand in
:data:`~minitranscend.settings.HISTORY_PLAN`:

* **identification**: the log-loss of the experts' actual moves (tau = 1) beside the two
  bounds the exact distributions give (the panel's average: the best a model that cannot tell
  the experts apart can do, roughly; the mover's own distribution: the best any model can do),
  and per expert the share of states where the model's top move is the mover's habit move, or
  another expert's;
* **the verdict**: each seed at its validation-chosen temperature against the best expert, the
  panel's vote, the *mover-mode* policy (the argmax of the moving expert's exact distribution:
  the prediction for a model that knows who moves) and the board model of the same seed.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

import chess
import numpy as np

from ..data import iter_games
from ..engine import SearchLimit
from ..evaluation.reward import (analyse_positions, evaluate_rewards, normalize_fen,
                                 paired_bootstrap_ci)
from ..players import expert_mixture, panel_mixture
from ..settings import HISTORY_MOVES, HISTORY_PLAN, ExperimentConfig
from ..store import atomic_write_csv, atomic_write_json, load_if_current
from ..train import BEST_NAME
from .folders import data_dir, experiment_dir, model_dir, rewards_dir
from .references import lookup_policies, panel_moves, reference_distributions, vote_name
from .stages import (_ci, _set_summaries, _train_all, choose_tau, chosen_taus, compare_on_set,
                     experiment_states, model_distributions, model_prefix, run_record,
                     tempered_policies)

MOVER_MODE = "mover-mode"  # the moving expert's most likely move: a model that knows who moves
MOVER = "mover"            # the moving expert's own exact distribution


def history_prefix(dataset: str, seed: int) -> str:
    """``model-<dataset>-h<N>-s<seed>``: a history model's name in the result files."""
    return model_prefix(dataset, seed, HISTORY_MOVES)


def movers(cfg: ExperimentConfig, dataset: str) -> dict[Any, tuple[str, str]]:
    """``{game id: (white expert, black expert)}`` of ``dataset``'s games."""
    return {g.id: (g.white, g.black) for g in iter_games(data_dir(cfg, dataset))}


def _mover(names: dict[Any, tuple[str, str]], game: Any, board: chess.Board) -> str:
    white, black = names[game]
    return white if board.turn == chess.WHITE else black


def history_stage(cfg: ExperimentConfig, dataset: str = "A", progress: bool = True,
                  ) -> dict[str, Any]:
    """Train ``dataset``'s recipe with the mover's last moves as input (every training seed),
    then compare it with the board models on the reward stage's validation and test states (see
    the module's docstring). Writes ``history.json`` and ``rewards/history_per_state.csv``,
    records its own wall time and config commit; reruns with the same settings read them.

    Used in chapter 7."""
    path = experiment_dir(cfg) / "history.json"
    stamp = {"config": cfg.stamp(), "dataset": dataset, "history": HISTORY_MOVES,
             "layout": "history-v1"}
    done = load_if_current(path, stamp)
    if done is not None:
        return done
    record = run_record(cfg)
    record["command"] += " --history"
    start = time.monotonic()
    board_taus = chosen_taus(cfg, dataset, progress)  # the main run first (resumes if needed)
    t = time.monotonic()
    _train_all(cfg, (dataset,), history=HISTORY_MOVES)
    record["stages_s"]["train"] = round(time.monotonic() - t, 1)

    t = time.monotonic()
    names = movers(cfg, dataset)
    experts = {e.name: e for e in cfg.experts[dataset]}
    sets = {f"val-{dataset}": experiment_states(cfg, dataset, "val"),
            f"{dataset}-games": experiment_states(cfg, dataset, "test")}
    scores = analyse_positions([s.board.fen() for states in sets.values() for s in states],
                               limit=SearchLimit(depth=cfg.reward_depth), workers=cfg.workers,
                               cache_dir=experiment_dir(cfg, "cache"), progress=progress)
    rewards, boards, games, states_of = {}, {}, {}, {}
    test_extra: dict[str, Any] = {}
    for name, states in sets.items():
        states = [s for s in states if scores[normalize_fen(s.board.fen())]]
        keep = [s.board for s in states]
        boards[name], games[name], states_of[name] = keep, [s.game for s in states], states
        moves = panel_moves(cfg, keep)
        refs = reference_distributions(cfg, keep, moves)
        mover = [_mover(names, s.game, s.board) for s in states]
        refs[MOVER] = [refs[m][i] for i, m in enumerate(mover)]
        refs[MOVER_MODE] = [{max(d, key=d.get): 1.0} for d in refs[MOVER]]
        keep_refs = [*experts, vote_name(dataset), "engine", MOVER, MOVER_MODE]
        policies: dict[str, Any] = {"oracle": "oracle"}
        policies.update(lookup_policies({k: refs[k] for k in keep_refs}, keep))
        dists: dict[str, list] = {}
        for seed in cfg.train_seeds:
            for prefix, hist in ((model_prefix(dataset, seed), 0),
                                 (history_prefix(dataset, seed), HISTORY_MOVES)):
                dists[prefix] = model_distributions(model_dir(cfg, dataset, seed, hist) / BEST_NAME,
                                                    keep)
                policies.update(tempered_policies(dists[prefix], cfg.taus, keep, prefix))
        rewards[name] = evaluate_rewards(policies, keep, scores, progress=False)
        if not name.startswith("val-"):
            test_extra = {"moves": moves, "refs": refs, "mover": mover, "dists": dists}
    hist_taus = {seed: choose_tau(rewards[f"val-{dataset}"], cfg, dataset, seed, history_prefix)
                 for seed in cfg.train_seeds}
    test = f"{dataset}-games"
    r, g = rewards[test], games[test]
    verdict = compare_on_set(r, g, cfg, dataset, hist_taus, history_prefix)
    board = compare_on_set(r, g, cfg, dataset, board_taus)
    for row in verdict["seeds"]:
        model = r[row["model"]]
        twin = model_prefix(dataset, row["seed"])
        twin_label = next(b["model"] for b in board["seeds"] if b["seed"] == row["seed"])
        row["minus_board_model"] = _ci(paired_bootstrap_ci(model, r[twin_label], seed=cfg.seed,
                                                           groups=g))
        row["minus_mover_mode"] = _ci(paired_bootstrap_ci(model, r[MOVER_MODE], seed=cfg.seed,
                                                          groups=g))
        row["board_model"] = twin
    best = verdict["best_expert"]
    result: dict[str, Any] = {
        "stamp": stamp, "plan": HISTORY_PLAN, "history_moves": HISTORY_MOVES,
        "dataset": dataset, "n_states": len(g), "chosen_tau": {str(k): v for k, v in hist_taus.items()},
        "board_chosen_tau": {str(k): v for k, v in board_taus.items()},
        "history_models": verdict, "board_models": board,
        "mover_mode_minus_best_expert": _ci(paired_bootstrap_ci(r[MOVER_MODE], r[best],
                                                                seed=cfg.seed, groups=g)),
        "mover_mode_minus_vote": _ci(paired_bootstrap_ci(r[MOVER_MODE], r[vote_name(dataset)],
                                                         seed=cfg.seed, groups=g)),
        "sets": _set_summaries(cfg, {test: r}, {test: g}),
        "identification": identification(cfg, dataset, states_of[test], boards[test],
                                          test_extra),
    }
    record["stages_s"]["evaluate"] = round(time.monotonic() - t, 1)
    record.update(finished=True, wall_s=round(time.monotonic() - start, 1),
                  finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    result["run"] = record
    _write_states(rewards_dir(cfg) / "history_per_state.csv", r, boards[test], g,
                  test_extra["mover"])
    atomic_write_json(path, result, indent=1)
    print(f"history models finished in {record['wall_s'] / 60:.1f} min ({path.name})", flush=True)
    return result


def identification(cfg: ExperimentConfig, dataset: str, states: list, boards: list,
                   extra: dict[str, Any]) -> dict[str, Any]:
    """Does each model know who is moving? On the test states: the mean log-loss of the
    experts' actual moves (tau = 1) for every model and for two exact bounds (the panel's
    average distribution; the mover's own), and, where the mover's habit move exists and
    differs from the engine move, per expert the share of states where the model's top move is
    the mover's habit move, another panel expert's habit move, or the engine move."""
    experts = cfg.experts[dataset]
    moves, refs, mover, dists = extra["moves"], extra["refs"], extra["mover"], extra["dists"]
    actual = [s.move for s in states]
    panel_avg = [panel_mixture([refs[e.name][i] for e in experts]) for i in range(len(boards))]
    loss = {"panel-average": _log_loss(panel_avg, actual), MOVER: _log_loss(refs[MOVER], actual)}
    for prefix, ds in dists.items():
        loss[prefix] = _log_loss([d.as_dict() for d in ds], actual)
    habit_of = {e.name: e.habit for e in experts}
    rows: dict[str, dict[str, Any]] = {}
    for expert in experts:
        name = expert.name
        idx = [i for i, m in enumerate(mover) if m == name
               and moves[i][1].get(habit_of[name]) not in (None, moves[i][0])]
        row: dict[str, Any] = {"habit": habit_of[name], "n_states": len(idx)}
        for prefix, ds in dists.items():
            own = other = engine = 0
            for i in idx:
                top = ds[i].argmax()
                engine_move, habits = moves[i]
                own += top == habits[habit_of[name]]
                other += top != habits[habit_of[name]] and top in {
                    habits.get(habit_of[e.name]) for e in experts if e.name != name} - {None}
                engine += top == engine_move
            n = max(1, len(idx))
            row[prefix] = {"own_habit": own / n, "other_habit": other / n, "engine": engine / n}
        row["expert_habit_probability"] = _mean_habit_probability(expert, boards, moves, idx)
        rows[name] = row
    return {"log_loss": loss, "per_expert": rows}


def _mean_habit_probability(expert, boards, moves, idx) -> float:
    """The expert's own probability of its habit move on those states (its exact mixture)."""
    if not idx:
        return math.nan
    ps = [expert_mixture(expert, list(boards[i].legal_moves), moves[i][0],
                         moves[i][1][expert.habit])[moves[i][1][expert.habit]] for i in idx]
    return float(np.mean(ps))


def _log_loss(dists: list[dict], actual: list[chess.Move]) -> dict[str, float]:
    """Mean and standard error of ``-log p(actual move)`` (nats)."""
    v = np.array([-math.log(max(d.get(m, 0.0), 1e-12)) for d, m in zip(dists, actual)])
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / math.sqrt(len(v)))}


def _write_states(path, rewards: dict[str, np.ndarray], boards: list, games: list,
                  mover: list[str]) -> None:
    rows = [{"game": games[i], "mover": mover[i], "fen": normalize_fen(b.fen()),
             **{p: f"{v[i]:.5f}" for p, v in rewards.items()}} for i, b in enumerate(boards)]
    atomic_write_csv(path, rows)


