"""Chapter 6 exercise checkers: right answers pass, typical wrong ones fail with a useful hint."""
from __future__ import annotations

import math

import chess

from minitranscend.exercises import (EX6_MOVE_SCORES, check_elo_from_score, check_expert_reward,
                                     check_game_score)


def test_expert_reward():
    right = 0.8 * 0.62 + 0.2 * sum(EX6_MOVE_SCORES.values()) / 4
    assert check_expert_reward(right)[0]
    assert abs(right - 0.5795) < 1e-9
    for wrong, hint in ((0.62, "oracle"), (0.496, "engine move"), (0.4175, "random"), (0.55, "not it")):
        ok, msg = check_expert_reward(wrong)
        assert not ok and hint in msg
    assert not check_expert_reward("abc")[0]
    assert not check_expert_reward(None)[0]


def test_elo_from_score():
    assert check_elo_from_score(1200 + 400 * math.log10(3))[0]
    assert check_elo_from_score(1390.8)[0]
    assert "natural log" in check_elo_from_score(1200 + 400 * math.log(3))[1]
    assert "sign" in check_elo_from_score(1200 - 400 * math.log10(3))[1]
    assert not check_elo_from_score(1500)[0]
    assert not check_elo_from_score(None)[0]


def _right(board: chess.Board, color: chess.Color) -> float:
    outcome = board.outcome(claim_draw=True)
    return 0.5 if outcome.winner is None else float(outcome.winner == color)


def test_game_score():
    assert check_game_score(_right)[0]

    def paper(board, color):  # the paper's harness: the stalemated side loses
        if board.is_stalemate():
            return 0.0 if board.turn == color else 1.0
        return _right(board, color)

    ok, msg = check_game_score(paper)
    assert not ok and "stalemate" in msg and "harness" in msg

    def no_claims(board, color):  # forgets claimable draws: outcome() is None on a repetition
        outcome = board.outcome()
        return 0.5 if outcome.winner is None else float(outcome.winner == color)

    ok, msg = check_game_score(no_claims)
    assert not ok and "claim_draw" in msg
    assert not check_game_score(lambda b, c: 1.0)[0]
    assert not check_game_score(lambda b, c: None)[0]
