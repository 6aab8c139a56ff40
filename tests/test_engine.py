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


def test_expert_habit_is_the_best_move_of_its_piece_with_exact_mass():
    board = chess.Board()
    with Expert(ExpertConfig("knight-lover", nodes=100, habit="N", habit_rate=1.0), seed=0) as e:
        for _ in range(6):  # habit_rate=1: a knight move whenever a knight can move
            move = e.choose(board)
            assert board.piece_type_at(move.from_square) == chess.KNIGHT
            board.push(move)
    with Expert(ExpertConfig("mixed", nodes=100, eps=0.1, habit="N", habit_rate=0.6), seed=0) as e:
        board = chess.Board()
        dist = e.distribution(board)
        (habit, p_habit), (engine, p_engine), *rest = sorted(dist.items(), key=lambda kv: -kv[1])
        assert board.piece_type_at(habit.from_square) == chess.KNIGHT
        assert board.piece_type_at(engine.from_square) == chess.PAWN  # 1. e4 / d4 at 100 nodes
        assert p_habit == pytest.approx(0.1 / 20 + 0.9 * 0.6)
        assert p_engine == pytest.approx(0.1 / 20 + 0.9 * 0.4)
        assert all(p == pytest.approx(0.1 / 20) for _, p in rest)
        assert sum(dist.values()) == pytest.approx(1.0)
        # no legal move of the habit piece (a bare king): the engine move takes all the mass
        bare = chess.Board("4k3/8/8/8/8/8/4P3/4K3 w - - 0 1")
        assert e.habit_move(bare) is None
        assert max(e.distribution(bare).values()) == pytest.approx(0.1 / len(list(bare.legal_moves)) + 0.9)


def test_expert_config_rejects_a_rate_without_a_habit():
    with pytest.raises(ValueError, match="habit piece"):
        ExpertConfig("x", habit_rate=0.5)
    with pytest.raises(ValueError, match="habit_rate must be a probability"):
        ExpertConfig("x", habit="N", habit_rate=1.5)
    with pytest.raises(ValueError, match="habit must be one of"):
        ExpertConfig("x", habit="Z", habit_rate=0.5)


def test_the_memory_estimate_covers_a_real_engine():
    """workers.sized_workers sizes pools with engine_memory_mb: it must not be below what this
    Stockfish really takes (resident memory after a search, default 16 MB hash)."""
    from minitranscend.engine import engine_memory_mb

    with Engine() as eng:
        eng.play(chess.Board(), SearchLimit(nodes=2000))
        with open(f"/proc/{eng.raw.transport.get_pid()}/status") as fh:
            rss_mb = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS")) / 1024
    assert rss_mb <= engine_memory_mb() and engine_memory_mb(64) == engine_memory_mb() + 48
    assert rss_mb > engine_memory_mb() / 2  # and not far above it either


def test_engine_restarts_counts_distinct_engines():
    from minitranscend.engine import engine_restarts

    with Expert(ExpertConfig("x", nodes=50)) as e:
        e.engine.restarts = 2  # as after two restarts
        assert engine_restarts(e, e, e.engine, RandomPlayer(), None) == 2


def test_a_process_that_dies_while_starting_is_started_again(monkeypatch):
    """A Stockfish killed during its UCI handshake (a kill that lands as a worker starts its
    engines) is started again; a program that does not work still fails at once."""
    from minitranscend import engine as engine_module

    real, calls = engine_module.popen_engine, []

    def dies_once(path, timeout=None):
        calls.append(path)
        if len(calls) == 1:
            raise engine_module.EngineStartError("killed during the handshake", died=True)
        return real(path, timeout)

    monkeypatch.setattr(engine_module, "popen_engine", dies_once)
    with Engine() as eng:
        assert eng.play(chess.Board(), SearchLimit(nodes=50)) in chess.Board().legal_moves
    assert len(calls) == 2
    calls.clear()

    def broken(path, timeout=None):
        calls.append(path)
        raise engine_module.EngineStartError("not an engine")

    monkeypatch.setattr(engine_module, "popen_engine", broken)
    with pytest.raises(engine_module.EngineStartError, match="not an engine"):
        Engine()
    assert len(calls) == 1
