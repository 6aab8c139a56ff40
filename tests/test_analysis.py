"""minitranscend.analysis and minitranscend.held_out: held-out states, policy statistics,
per-character temperature, sizes."""
import json
import math

import chess
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitranscend import analysis as an
from minitranscend.held_out import held_out_states
from minitranscend.model import GPT, GPTConfig
from minitranscend.policy import MoveDistribution, apply_temperature
from minitranscend.tokenizers import get_tokenizer
from minitranscend.train import is_val_game


def _write_games(tmp_path, n_games=60, plies=12, seed=0):
    import random

    rng = random.Random(seed)
    lines = []
    for gid in range(n_games):
        board = chess.Board()
        moves = []
        for _ in range(plies):
            legal = list(board.legal_moves)
            if not legal:
                break
            m = rng.choice(legal)
            moves.append(m.uci())
            board.push(m)
        lines.append(json.dumps({"id": gid, "white": "a", "black": "b", "result": "1/2-1/2",
                                 "termination": "ply cap", "uci": " ".join(moves)}))
    (tmp_path / "shard-00000.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_held_out_states_are_validation_positions_with_the_played_move(tmp_path):
    d = _write_games(tmp_path, n_games=200)
    states = held_out_states(d, n=20, val_fraction=0.2, min_ply=0)
    assert len(states) == 20
    records = {json.loads(line)["id"]: json.loads(line)["uci"].split()
               for line in (d / "shard-00000.jsonl").read_text().splitlines()}
    val_ids = {g for g in records if is_val_game(g, 0.2)}
    for game, b, m in states:
        assert game in val_ids and m in b.legal_moves
        played = [x.uci() for x in b.move_stack]
        # the position and its next move are a prefix of its own held-out game
        assert records[game][:len(played) + 1] == played + [m.uci()]
    # spread over the held-out games (not the first few), with their ids for cluster intervals
    assert len({s.game for s in states}) >= min(20, len(val_ids)) // 2
    assert held_out_states(d, n=20, val_fraction=0.2, min_ply=0) == states  # seeded
    assert all(s.board.ply() >= 4 for s in held_out_states(d, n=20, val_fraction=0.2))
    with pytest.raises(ValueError, match="held-out states"):
        held_out_states(d, n=10_000, val_fraction=0.2)


def test_policy_stats_values_on_hand_made_distributions():
    b = chess.Board()
    moves = list(b.legal_moves)
    probs = np.full(len(moves), 0.5 / (len(moves) - 1))
    probs[0] = 0.5
    d = MoveDistribution(moves, probs, illegal_mass=0.25)
    s = an.policy_stats(None, None, [b, b], [moves[0], moves[1]], dists=[d, d])
    assert s.n_positions == 2
    assert s.illegal_mass == pytest.approx(0.25)
    assert s.top1_agreement == pytest.approx(0.5)
    assert s.expert_nll == pytest.approx(0.5 * (-math.log(0.5) - math.log(0.5 / 19)))
    assert s.uniform_agreement == pytest.approx(1 / 20)
    assert s.uniform_nll == pytest.approx(math.log(20))
    assert s.entropy == pytest.approx(d.entropy())
    with pytest.raises(ValueError, match="as many moves"):
        an.policy_stats(None, None, [b], [], dists=[d])


def test_policy_stats_on_a_real_untrained_model():
    torch.manual_seed(0)
    tok = get_tokenizer("move")
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16))
    b1 = chess.Board()
    b2 = chess.Board()
    b2.push_san("e4")
    s = an.policy_stats(model, tok, [b1, b2], [chess.Move.from_uci("e2e4"), chess.Move.from_uci("e7e5")])
    # an untrained model spreads its mass over ~1970 ids, of which only 20 are legal
    assert s.illegal_mass > 0.9
    assert s.expert_nll == pytest.approx(math.log(20), abs=0.1)


def test_entropy_curve_limits():
    d = MoveDistribution(list(chess.Board().legal_moves), np.linspace(1, 2, 20) / np.linspace(1, 2, 20).sum())
    taus = [0.001, 1.0, 1e4]
    e = an.entropy_curve([d], taus)
    assert e[0] == pytest.approx(0.0, abs=1e-6)
    assert e[1] == pytest.approx(d.entropy())
    assert e[2] == pytest.approx(math.log(20), abs=1e-4)
    assert np.all(np.diff(an.entropy_curve([d], np.geomspace(0.01, 100, 20))) > 0)


def test_top_moves_order_and_san():
    b = chess.Board()
    moves = list(b.legal_moves)
    probs = np.arange(1, 21, dtype=float)
    d = MoveDistribution(moves, probs / probs.sum())
    top = an.top_moves(d, b, k=3)
    assert [p for _, p in top] == sorted([p for _, p in top], reverse=True)
    assert top[0] == (b.san(moves[-1]), pytest.approx(20 / 210))


def test_per_char_temperature_differs_from_move_level():
    words = {"e4": 0.4, "Nf3": 0.3, "Nc3": 0.3}
    assert an.per_char_temperature(words, 1.0) == pytest.approx(words)
    greedy = an.per_char_temperature(words, 0.0)
    assert greedy == pytest.approx({"Nf3": 0.5, "Nc3": 0.5})  # the shared "N" wins the first step
    move_level = apply_temperature(np.array([0.4, 0.3, 0.3]), 0.01)
    assert move_level[0] > 0.99  # while move-level temperature picks e4


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text("abcN", min_size=1, max_size=3), st.floats(0.01, 1.0), min_size=1, max_size=6),
       st.sampled_from([0.1, 0.5, 1.0, 2.0]))
def test_per_char_temperature_is_a_distribution(words, tau):
    q = an.per_char_temperature(words, tau)
    assert sum(q.values()) == pytest.approx(1.0)
    assert set(q) <= set(words)
    if tau == 1.0:
        total = sum(words.values())
        assert q == pytest.approx({w: p / total for w, p in words.items()})


def test_count_params_and_preset_table():
    cfg = GPTConfig(vocab_size=32, block_size=16, n_layer=2, n_head=2, n_embd=8)
    assert an.count_params(cfg) == GPT(cfg).num_params()
    rows = {r["preset"]: r for r in an.preset_table(presets=["tiny", "chessformer-50m"])}
    assert 50e6 < rows["chessformer-50m"]["params_char"] < 51e6  # the paper's "50M"
    assert rows["tiny"]["params_move"] > rows["tiny"]["params_char"]  # 1970 vs 32 embeddings
    assert an.gpu_tokens_per_s(1e9, mfu=0.5, peak_flops=1e12) == pytest.approx(500.0)


def test_training_summary():
    rows = [{"step": 0, "val_loss": 5.0, "tokens": 0, "elapsed_s": 0.0, "tokens_per_s": 0.0},
            {"step": 50, "val_loss": 3.0, "tokens": 100, "elapsed_s": 30.0, "tokens_per_s": 10.0},
            {"step": 100, "val_loss": 3.5, "tokens": 200, "elapsed_s": 60.0, "tokens_per_s": 20.0}]
    s = an.training_summary(rows)
    assert s == {"step": 100, "minutes": 1.0, "tokens": 200, "tokens_per_s": 15.0,
                 "first_val_loss": 5.0, "best_val_loss": 3.0}
    with pytest.raises(ValueError):
        an.training_summary([])
