"""Chapter 7's history models: the probe of who is moving, and the stage end to end (real
Stockfish, a tiny run)."""
import json
from dataclasses import replace

import chess
import numpy as np
import pytest

from minitranscend.experiment import history as hist
from minitranscend.experiment.references import panel_moves, reference_distributions
from minitranscend.policy import MoveDistribution
from minitranscend.held_out import HeldOutState
from minitranscend.settings import HISTORY_MOVES, HISTORY_PLAN, experiment_config

OPENING = "e2e4 e7e5 g1f3 b8c6 f1c4 g8f6 d2d3 f8c5 e1g1 d7d6 c2c3 a7a6"


def _states(cfg):
    """Positions after each ply of one opening, alternately 'moved' by A's first two experts."""
    board, states = chess.Board(), []
    for uci in OPENING.split():
        states.append(HeldOutState(0, board.copy(), chess.Move.from_uci(uci)))
        board.push_uci(uci)
    return states


def _point(move, board):
    """A model distribution with all its mass on ``move``."""
    moves = list(board.legal_moves)
    return MoveDistribution(moves, np.array([1.0 if m == move else 0.0 for m in moves]))


def test_identification_counts_the_movers_habit_and_scores_the_bounds():
    cfg = experiment_config("ci")
    experts = cfg.experts["A"]
    states = _states(cfg)
    boards = [s.board for s in states]
    moves = panel_moves(cfg, boards)
    refs = reference_distributions(cfg, boards, moves)
    mover = [experts[0].name if s.board.turn == chess.WHITE else experts[1].name for s in states]
    refs[hist.MOVER] = [refs[m][i] for i, m in enumerate(mover)]
    habit = lambda i: moves[i][1][next(e.habit for e in experts if e.name == mover[i])]  # noqa: E731
    knows = [_point(habit(i) or moves[i][0], b) for i, b in enumerate(boards)]
    votes = [_point(moves[i][0], b) for i, b in enumerate(boards)]
    out = hist.identification(cfg, "A", states, boards,
                              {"moves": moves, "refs": refs, "mover": mover,
                               "dists": {"knows-the-mover": knows, "engine-only": votes}})
    for name in (experts[0].name, experts[1].name):
        row = out["per_expert"][name]
        assert row["n_states"] > 0
        assert row["knows-the-mover"]["own_habit"] == 1.0 and row["knows-the-mover"]["engine"] == 0.0
        assert row["engine-only"]["engine"] == 1.0 and row["engine-only"]["own_habit"] == 0.0
        e = next(x for x in experts if x.name == name)
        assert row["expert_habit_probability"] == pytest.approx(
            e.eps / np.mean([b.legal_moves.count() for i, b in enumerate(boards)
                             if mover[i] == name and habit(i) not in (None, moves[i][0])])
            + (1 - e.eps) * e.habit_rate, abs=0.02)
    loss = out["log_loss"]
    # the mover's own distribution predicts its moves no worse than the panel's average
    assert loss[hist.MOVER]["mean"] <= loss["panel-average"]["mean"] + 1e-9
    assert loss["knows-the-mover"]["mean"] > loss[hist.MOVER]["mean"]  # point masses pay for misses


def test_history_stage_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("MINITRANSCEND_RUNS", str(tmp_path))
    cfg = replace(experiment_config("ci"), n_games=60, n_states=16, n_val_states=12,
                  n_own_states=8, train_seeds=(0, 1), taus=(0.001, 1.0),
                  train=dict(experiment_config("ci").train, max_iters=20, eval_interval=10))
    result = hist.history_stage(cfg, progress=False)
    assert result["history_moves"] == HISTORY_MOVES
    seeds = result["history_models"]["seeds"]
    assert [s["model"].split("-tau")[0] for s in seeds] == ["model-A-h8-s0", "model-A-h8-s1"]
    assert [s["board_model"] for s in seeds] == ["model-A-s0", "model-A-s1"]
    assert {s["tau"] for s in seeds} <= set(cfg.taus)
    # the board models' comparison is the reward stage's, on the same states
    from minitranscend.experiment.stages import reward_stage
    main = reward_stage(cfg, progress=False)["comparisons"]["A"]["A-games"]
    assert result["board_models"]["seeds"] == main["seeds"]
    assert result["run"]["finished"] and result["run"]["wall_s"] > 0
    assert set(result["identification"]["log_loss"]) >= {"panel-average", "mover", "model-A-h8-s0"}
    assert (tmp_path / "ci" / "experiment" / "rewards" / "history_per_state.csv").exists()
    again = hist.history_stage(cfg, progress=False)  # rerun: read back, nothing retrained
    assert again == json.loads(json.dumps(result)) and again["run"] == result["run"]


def test_shipped_history_models_were_planned_before_they_ran():
    from minitranscend.experiment import published, published_model
    from minitranscend.train import load_checkpoint

    shipped = published("full")
    result = json.loads((shipped / "history.json").read_text())
    run = result["run"]
    assert run["finished"] and run["settings_modified_since_commit"] is False
    assert run["config_committed_at"] < run["started_at"]
    assert result["plan"] == HISTORY_PLAN and result["history_moves"] == HISTORY_MOVES
    cfg = experiment_config("full")
    assert [s["seed"] for s in result["history_models"]["seeds"]] == list(cfg.train_seeds)
    for s in result["history_models"]["seeds"]:
        assert s["tau"] in cfg.taus
    model, tok, _ = load_checkpoint(published_model("A", seed=0, history=HISTORY_MOVES), "cpu")
    assert tok.history == HISTORY_MOVES and tok.seq_len == 70 + 2 * HISTORY_MOVES
    board = chess.Board()
    for uci in OPENING.split():
        board.push_uci(uci)
    from minitranscend.analysis import distributions
    (d,) = distributions(model, tok, [board])
    assert d.argmax() in board.legal_moves and abs(d.probs.sum() - 1) < 1e-6
    # knowing the mover predicts better than the panel average, and no model beats the true
    # distribution of the moves (the mover's own)
    loss = result["identification"]["log_loss"]
    assert loss["mover"]["mean"] < loss["panel-average"]["mean"]
    assert all(v["mean"] > loss["mover"]["mean"] for k, v in loss.items() if k.startswith("model-"))
