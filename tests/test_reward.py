"""Per-state reward with the real Stockfish: move scores, policy rewards, cache, statistics."""
import time

import chess
import numpy as np
import pytest

from minitranscend.engine import SearchLimit
from minitranscend.evaluation.reward import (analyse_positions, bootstrap_ci, gain_concentration,
                                             evaluate_rewards, load_cache, paired_bootstrap_ci,
                                             policy_reward, state_gains)
from minitranscend.players import RandomPlayer

MATE_IN_ONE = "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1"  # Ra8# (back-rank mate)
MIDDLEGAME = "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4"
LIMIT = SearchLimit(depth=6)


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return analyse_positions([MATE_IN_ONE, MIDDLEGAME], LIMIT, workers=1, cache_dir=cache,
                             progress=False), cache


def test_every_legal_move_is_scored(scores):
    s, _ = scores
    for fen in (MATE_IN_ONE, MIDDLEGAME):
        board = chess.Board(fen)
        assert set(s[board.fen()]) == {m.uci() for m in board.legal_moves}
        assert all(0.0 <= v <= 1.0 for v in s[board.fen()].values())


def test_mate_in_one_scores_near_one(scores):
    s = scores[0][chess.Board(MATE_IN_ONE).fen()]
    assert s["a1a8"] > 0.95
    others = [v for m, v in s.items() if m != "a1a8"]
    assert np.median(others) < 0.95
    assert max(s, key=s.get) == "a1a8"


def test_uniform_policy_reward_is_mean_score(scores):
    s, _ = scores
    fen = chess.Board(MIDDLEGAME).fen()
    r = evaluate_rewards({"random": RandomPlayer()}, [fen], s, progress=False)["random"][0]
    assert r == pytest.approx(np.mean(list(s[fen].values())), abs=1e-12)
    best = evaluate_rewards({"oracle": "oracle"}, [fen], s, progress=False)["oracle"][0]
    assert best == pytest.approx(max(s[fen].values()))


def test_policy_reward_checks_moves():
    assert policy_reward({"e2e4": 0.5, "d2d4": 0.5}, {"e2e4": 0.6, "d2d4": 0.4, "g1f3": 0.5}) \
        == pytest.approx(0.5)
    with pytest.raises(KeyError):
        policy_reward({"e2e5": 1.0}, {"e2e4": 0.6})


def test_cache_hit_costs_nothing_and_survives_torn_line(scores):
    s, cache = scores
    t = time.perf_counter()
    again = analyse_positions([MIDDLEGAME, MATE_IN_ONE], LIMIT, workers=2, cache_dir=cache,
                              progress=False)
    assert time.perf_counter() - t < 0.5  # no engine analysis, no worker processes
    assert again == {k: s[k] for k in again}
    (path,) = cache.glob("scores-*.jsonl")
    with open(path, "a") as f:
        f.write('{"fen": "torn')  # a run killed mid-write
    assert len(load_cache(path)) == 2
    assert path.read_text().endswith("\n")


def test_terminal_positions_map_to_empty():
    stalemate = "7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"
    assert analyse_positions([stalemate], LIMIT, workers=1, progress=False) == \
        {chess.Board(stalemate).fen(): {}}


def test_bootstrap_ci_brackets_mean_and_paired_is_tighter():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.8, 400)
    a, b = base + 0.01, base + rng.normal(0, 0.005, 400)
    mean, lo, hi = bootstrap_ci(a, n_boot=500)
    assert lo < mean < hi
    d, dlo, dhi = paired_bootstrap_ci(a, b, n_boot=500)
    assert dlo > 0  # the paired test sees a 0.01 improvement that unpaired intervals overlap on
    assert (dhi - dlo) < (hi - lo) / 5


def test_gain_concentration():
    gains = np.zeros(100)
    gains[:2] = 1.0
    gains[2:] = 0.01
    share = gain_concentration(gains, top=[0.01, 0.02, 1.0])
    assert share[0.02] == pytest.approx(2.0 / 2.98)
    assert share[1.0] == pytest.approx(1.0)
    assert np.isnan(gain_concentration(-gains)[0.01])
    assert np.allclose(state_gains([0.5, 0.7], [0.4, 0.7]), [0.1, 0.0])


def test_boards_with_history_score_like_their_fen(scores):
    from minitranscend.evaluation.reward import positions_from_games

    s, _ = scores
    (board,) = positions_from_games(["e2e4 e7e5 g1f3 b8c6 f1c4 g8f6"], n=1, min_ply=6)
    assert board.fen() == chess.Board(MIDDLEGAME).fen() and len(board.move_stack) == 6
    r_board = evaluate_rewards({"r": RandomPlayer()}, [board], s, progress=False)["r"]
    r_fen = evaluate_rewards({"r": RandomPlayer()}, [MIDDLEGAME], s, progress=False)["r"]
    assert r_board[0] == r_fen[0]


def test_cluster_bootstrap_widens_for_correlated_states_and_reduces_to_plain():
    rng = np.random.default_rng(2)
    per_game = rng.normal(0, 1, 100)
    values = np.repeat(per_game, 8)  # 8 identical states per game: 100 independent values, not 800
    games = np.repeat(np.arange(100), 8)
    _, lo, hi = bootstrap_ci(values, n_boot=1000)
    _, clo, chi = bootstrap_ci(values, n_boot=1000, groups=games)
    assert (chi - clo) / (hi - lo) == pytest.approx(np.sqrt(8), rel=0.2)
    # one state per group is the plain bootstrap, draw for draw
    assert bootstrap_ci(per_game, groups=list(range(100))) == bootstrap_ci(per_game)
    with pytest.raises(ValueError, match="one label per value"):
        bootstrap_ci(values, groups=games[:10])


def test_policies_read_the_callers_board_and_may_not_change_it(scores):
    from minitranscend.experiment.references import board_index, lookup_policies

    s, _ = scores
    board = chess.Board(MIDDLEGAME)
    first = next(iter(board.legal_moves))
    dists = {"one-move": [{first: 1.0}]}
    seen = []
    policies = {"spy": lambda b: seen.append(b) or {first: 1.0}, **lookup_policies(dists, [board])}
    r = evaluate_rewards(policies, [board], s, progress=False)
    assert seen == [board] and seen[0] is board  # no copy per policy: boards carry whole games
    assert r["spy"][0] == r["one-move"][0] == s[board.fen()][first.uci()]
    at = board_index([board])
    assert at(board) == 0 and at(chess.Board(MIDDLEGAME)) == 0  # by identity, else by FEN

    def pushes(b):
        b.push(first)
        return {first: 1.0}

    with pytest.raises(RuntimeError, match="changed the board"):
        evaluate_rewards({"pushes": pushes}, [chess.Board(MIDDLEGAME)], s, progress=False)
