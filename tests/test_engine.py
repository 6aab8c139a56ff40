"""Engine access and the players built on it, with the real Stockfish."""
import os
import signal

import chess
import pytest

from minitranscend.engine import (Engine, EngineSettings, SearchLimit, StockfishNotFoundError,
                                  find_stockfish, stockfish_version)
from minitranscend.players import Expert, ExpertConfig, RandomPlayer


def test_missing_stockfish_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("STOCKFISH_PATH", str(tmp_path / "no-such-engine"))
    with pytest.raises(StockfishNotFoundError) as err:
        find_stockfish()
    text = str(err.value)
    assert "apt-get install" in text and "brew install stockfish" in text and "STOCKFISH_PATH" in text


def test_version_is_recorded_and_settings_are_checked():
    assert stockfish_version().startswith("Stockfish")
    with pytest.raises(ValueError, match="Skill Level"):
        EngineSettings(skill_level=25).uci_options()
    with pytest.raises(ValueError, match="nodes="):
        SearchLimit()
    with Engine() as eng:
        d = eng.describe()
        assert d["engine"] == stockfish_version() and d["threads"] == 1


def test_a_killed_engine_is_restarted_and_the_request_retried():
    with Engine() as eng:
        os.kill(eng.raw.transport.get_pid(), signal.SIGKILL)
        move = eng.play(chess.Board(), SearchLimit(nodes=200))
        assert move in chess.Board().legal_moves and eng.restarts == 1


def test_expert_blind_spot_and_exact_distribution():
    board = chess.Board()
    with Expert(ExpertConfig("blind-N", nodes=100, eps=0.0, blind_spot="N"), seed=1) as e:
        for _ in range(12):  # a blind expert never moves a knight while it has another move
            if board.is_game_over():
                break
            move = e.choose(board)
            assert board.piece_type_at(move.from_square) != chess.KNIGHT
            board.push(move)
    with Expert(ExpertConfig("noisy", nodes=100, eps=0.3), seed=0) as e:
        dist = e.distribution(chess.Board())
        assert abs(sum(dist.values()) - 1) < 1e-12
        assert max(dist.values()) == pytest.approx(0.7 + 0.3 / 20)


def test_expert_games_are_a_function_of_the_seed():
    def game(seed):
        with Expert(ExpertConfig("e", nodes=50, eps=0.5), seed=0) as e:
            e.new_game(seed)
            b = chess.Board()
            for _ in range(20):
                b.push(e.choose(b))
            return [m.uci() for m in b.move_stack]
    assert game(3) == game(3) and game(3) != game(4)
    assert RandomPlayer().distribution(chess.Board())[chess.Move.from_uci("e2e4")] == pytest.approx(1 / 20)
