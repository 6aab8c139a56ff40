"""Dataset statistics and the paper's diversity measure, against hand-computed values."""
from __future__ import annotations

import math

import pytest

from minitranscend.data import GameRecord
from minitranscend.data.stats import dataset_stats, diversity, length_histogram_figure, normalized_entropy


def rec(i, uci, result="1-0", white="a", black="b", termination="checkmate"):
    return GameRecord(id=i, white=white, black=black, result=result, termination=termination, uci=uci)


TINY = [rec(0, "e2e4 e7e5"), rec(1, "e2e4 c7c5", "0-1"), rec(2, "e2e4 e7e5", "1/2-1/2", termination="ply cap"),
        rec(3, "d2d4 d7d5")]


def test_normalized_entropy():
    assert normalized_entropy([5]) == 0.0
    assert normalized_entropy([3, 3, 3, 3]) == pytest.approx(1.0)
    assert normalized_entropy([3, 1]) == pytest.approx((-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))) / math.log(2))
    assert normalized_entropy([3, 1, 0]) == normalized_entropy([3, 1])


def test_diversity_hand_computed():
    start = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2)   # e4:3, d4:1 -> 0.8113
    after_e4 = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)) / math.log(2)  # e5:2, c5:1 -> 0.9183
    d = diversity(TINY, max_ply=1, min_count=1)   # states seen more than once: start, after e4
    assert d["n_states"] == 2
    assert d["diversity"] == pytest.approx((start + after_e4) / 2)
    assert d["diversity"] == pytest.approx(0.86478, abs=1e-5)
    d0 = diversity(TINY, max_ply=1, min_count=0)  # + the state after d4 (one move seen: entropy 0)
    assert d0["n_states"] == 3 and d0["diversity"] == pytest.approx((start + after_e4) / 3)
    assert diversity(TINY, max_ply=0, min_count=1)["diversity"] == pytest.approx(start)
    none = diversity(TINY, max_ply=1, min_count=100)
    assert none["n_states"] == 0 and math.isnan(none["diversity"])


def test_diversity_merges_transpositions():
    games = [rec(0, "g1f3 b8c6 b1c3 g8f6 e2e4"), rec(1, "b1c3 b8c6 g1f3 g8f6 d2d4")]
    d = diversity(games, max_ply=4, min_count=1, return_states=True)
    # the games transpose after 3 plies: start (Nf3 / Nc3: 1.0), after 3 plies (Nf6 twice: 0),
    # after 4 plies (e4 / d4: 1.0); the move-order-dependent states in between are seen once
    assert d["n_states"] == 3 and d["diversity"] == pytest.approx(2 / 3)
    states = {fen: (visits, support, h) for fen, visits, support, h in d["states"]}
    assert states["r1bqkb1r/pppppppp/2n2n2/8/8/2N2N2/PPPPPPPP/R1BQKB1R w KQkq -"] == (2, 2, 1.0)
    assert states["r1bqkbnr/pppppppp/2n5/8/8/2N2N2/PPPPPPPP/R1BQKB1R b KQkq -"] == (2, 1, 0.0)


def test_dataset_stats():
    s = dataset_stats(TINY, bin_width=2)
    assert s["n_games"] == 4 and s["n_plies"] == 8 and s["mean_length"] == 2 and s["median_length"] == 2
    assert s["results"] == {"white": 0.5, "black": 0.25, "draw": 0.25}
    assert s["terminations"] == {"checkmate": 3, "ply cap": 1}
    assert s["length_histogram"] == {"bin_width": 2, "edges": [0, 2, 4], "counts": [0, 4]}
    assert s["players"] == {"a": {"games": 4, "score": 2.5 / 4}, "b": {"games": 4, "score": 1.5 / 4}}
    with pytest.raises(ValueError, match="no games"):
        dataset_stats([])


def test_length_histogram_figure():
    fig = length_histogram_figure(TINY)
    assert list(fig.data[0].y) == [4]  # one 10-ply bin
    assert sum(fig.data[0].y) == 4 and "4 games" in fig.layout.title.text


def test_expert_disagreement_separates_shared_from_different_blind_spots():
    """Real Stockfish: after 1.e4 e5 the engine move is Nf3; a knight-blind expert cannot play it."""
    import chess

    from minitranscend.data.stats import expert_disagreement
    from minitranscend.players import ExpertConfig

    board = chess.Board()
    for san in ("e4", "e5"):
        board.push_san(san)
    states = [chess.Board().epd(), board.epd()]
    shared = [ExpertConfig(f"n{i}", nodes=100, eps=0.5, blind_spot="N") for i in range(2)]
    r = expert_disagreement(shared, states)
    assert r["n_states"] == 2 and r["disagree"] == 0.0 and r["mean_distinct"] == 1.0
    mixed = [ExpertConfig("n", nodes=100, blind_spot="N"), ExpertConfig("q", nodes=100, blind_spot="Q")]
    r = expert_disagreement(mixed, states)
    knight_blind, queen_blind = r["moves"][1]
    assert chess.Move.from_uci(queen_blind) == board.parse_san("Nf3")
    assert board.piece_type_at(chess.Move.from_uci(knight_blind).from_square) != chess.KNIGHT
    assert r["disagree"] == 0.5 and r["mean_distinct"] == 1.5  # same move at the start, not after
    with pytest.raises(ValueError, match="at least one"):
        expert_disagreement(mixed, [])


def test_expert_mixture_votes_out_one_blind_spot():
    import chess

    from minitranscend.data.stats import expert_mixture
    from minitranscend.players import ExpertConfig

    board = chess.Board()
    for san in ("e4", "e5"):
        board.push_san(san)
    n_legal = board.legal_moves.count()
    panel = [ExpertConfig("n", nodes=100, eps=0.5, blind_spot="N"),
             ExpertConfig("b", nodes=100, eps=0.5, blind_spot="B"),
             ExpertConfig("q", nodes=100, eps=0.5, blind_spot="Q")]
    mix = expert_mixture(panel, board)
    assert len(mix) == n_legal and sum(mix.values()) == pytest.approx(1.0)
    nf3 = board.parse_san("Nf3")
    assert max(mix, key=mix.get) == nf3
    assert mix[nf3] == pytest.approx(2 / 3 * 0.5 + 0.5 / n_legal)  # two of three see it
    alone = expert_mixture(panel[:1], board)
    assert alone[nf3] == pytest.approx(0.5 / n_legal)  # the knight-blind expert never chooses it
