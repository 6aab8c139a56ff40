"""Matches with real players: correct results (stalemate = draw), openings, PGN, resume."""
import json

import chess
import pytest

from minitranscend.evaluation.match import MatchConfig, load_games, run_match
from minitranscend.player_specs import PlayerSpec
from minitranscend.referee import game_result, pgn_games, play_game
from minitranscend.store import DamagedFileError
from minitranscend.players import RandomPlayer, StockfishPlayer
from minitranscend.engine import SearchLimit
from procs import descendants


def test_stalemate_is_a_draw():
    board = chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")  # black to move, no legal move, not in check
    assert game_result(board) == ("1/2-1/2", "stalemate")


def test_other_terminations():
    assert game_result(chess.Board("R5k1/5ppp/8/8/8/8/8/6K1 b - - 0 1")) == ("1-0", "checkmate")
    assert game_result(chess.Board("8/8/4k3/8/8/3K4/8/8 w - - 0 1")) == ("1/2-1/2", "insufficient material")
    assert game_result(chess.Board("8/8/4k3/8/8/3K4/7R/8 w - - 100 80")) == ("1/2-1/2", "fifty-move rule")
    b = chess.Board()
    for _ in range(2):
        for u in ("g1f3", "g8f6", "f3g1", "f6g8"):
            b.push_uci(u)
    assert game_result(b) == ("1/2-1/2", "threefold repetition")


def test_game_into_stalemate_scored_draw():
    # White queen to f7 stalemates; full-strength Stockfish would mate instead, so force the move
    class Stalemater(RandomPlayer):
        def choose(self, board):
            return chess.Move.from_uci("e7f7")

    g = play_game(Stalemater("w"), RandomPlayer("b"), start_fen="7k/4Q3/6K1/8/8/8/8/8 w - - 0 1")
    assert (g.result, g.termination, g.plies) == ("1/2-1/2", "stalemate", 1)


def test_ply_cap_and_pgn_headers():
    g = play_game(RandomPlayer("r1"), RandomPlayer("r2"), seed=3, max_plies=10, opening=["e2e4"])
    assert (g.result, g.termination, g.plies) == ("1/2-1/2", "ply cap", 10)
    (game,) = pgn_games(g.pgn)
    assert game.headers["Termination"] == "ply cap"
    assert game.headers["OpeningMoves"] == "e2e4"
    assert json.loads(game.headers["WhiteSettings"])["type"] == "random"
    assert [m.uci() for m in game.mainline_moves()] == g.moves


def test_spec_strings_roundtrip():
    for text in ("random", "stockfish:skill_level=3,nodes=200", "expert:default:2",
                 "expert:eps=0.3,blind_spot=N,nodes=100", "model:/tmp/x.pt:tau=0.1",
                 "model:/tmp/x.pt:tau=0,avoid_draws=false,name=m"):
        spec = PlayerSpec.parse(text)
        assert PlayerSpec.parse(str(spec)) == spec
    assert PlayerSpec.parse("model:C:/a/b.pt:tau=0.5").path == "C:/a/b.pt"
    with pytest.raises(ValueError, match="unknown player kind"):
        PlayerSpec.parse("gnuchess")
    with pytest.raises(ValueError, match="unknown parameter"):
        PlayerSpec.parse("stockfish:nodez=3").build()


def test_spec_values_are_checked_up_front():
    assert PlayerSpec.parse("model:m.pt:avoid_draws=false").params["avoid_draws"] is False
    assert PlayerSpec.parse("model:m.pt:avoid_draws=True").params["avoid_draws"] is True
    for text, key in (("model:m.pt:avoid_draws=maybe", "avoid_draws"), ("model:m.pt:tau=-1", "tau"),
                      ("model:m.pt:tau=inf", "tau"), ("stockfish:nodes=0", "nodes"),
                      ("stockfish:skill_level=21", "skill_level"), ("expert:eps=1.5", "eps"),
                      ("expert:blind_spot=X", "blind_spot"), ("stockfish:nodes=1.5", "nodes")):
        with pytest.raises(ValueError, match=key):
            PlayerSpec.parse(text)
    with pytest.raises(ValueError, match="skill_level"):  # the old key names the new one
        PlayerSpec.parse("stockfish:skill=3")


def test_one_name_per_player():
    from minitranscend.player_specs import model_label, model_spec

    assert model_spec("m.pt", 0.001, "model-A").label == model_label("model-A", 0.001) == \
        "model-A-tau0.001"
    assert PlayerSpec.parse("model:m.pt:tau=1").label == "model-m-tau1"


def test_a_damaged_games_file_raises_and_stays_intact(tmp_path):
    lines = [json.dumps({"index": i, "result": "1-0"}) + "\n" for i in range(20)]
    lines[2] = '{"index": 2, "res\n'  # line 3: damage no interrupted run makes
    path = tmp_path / "games.jsonl"
    path.write_text("".join(lines))
    before = path.read_bytes()
    with pytest.raises(DamagedFileError, match=r"games.jsonl:3"):
        load_games(tmp_path)
    assert path.read_bytes() == before


def test_openings_shared_by_pairs_and_colours_alternate():
    cfg = MatchConfig("a", "b", seed=5, opening_plies=4)
    p0, p1, p2 = cfg.game_plan(0), cfg.game_plan(1), cfg.game_plan(2)
    assert p0["opening"] == p1["opening"] != p2["opening"]
    assert p0["a_white"] and not p1["a_white"]
    assert MatchConfig("a", "b", book=True).game_plan(3)["opening_name"] == "Italian Game"


@pytest.mark.slow
def test_killed_match_resumes_without_duplicates(tmp_path):
    a, b = "expert:default:0", "stockfish:nodes=30"  # deterministic given the game seed
    kw = dict(seed=1, opening_plies=2, max_plies=60, progress=False)
    full = run_match(a, b, 6, tmp_path / "full", workers=2, **kw)
    part = tmp_path / "part"
    run_match(a, b, 6, part, workers=1, **kw)
    lines = (part / "games.jsonl").read_text().splitlines(keepends=True)
    (part / "games.jsonl").write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    resumed = run_match(a, b, 6, part, workers=2, **kw)
    games = load_games(part)
    assert [g["index"] for g in games] == list(range(6))
    assert len((part / "games.jsonl").read_text().splitlines()) == 6
    by_index = {g["index"]: (g["result"], g["moves"]) for g in load_games(tmp_path / "full")}
    assert {g["index"]: (g["result"], g["moves"]) for g in games} == by_index
    assert (resumed["wins"], resumed["draws"], resumed["losses"]) == \
        (full["wins"], full["draws"], full["losses"])
    assert len(pgn_games((part / "games.pgn").read_text())) == 6
    with pytest.raises(ValueError, match="different match"):
        run_match(a, b, 6, part, workers=1, seed=2, progress=False)


def test_stockfish_beats_random():
    with StockfishPlayer("sf", SearchLimit(nodes=200)) as sf:
        g = play_game(sf, RandomPlayer(), seed=0, max_plies=200)
    assert (g.result, g.termination) == ("1-0", "checkmate")


def test_ply_cap_adjudication_by_stockfish(tmp_path):
    import json as _json

    from minitranscend.engine import Engine
    from minitranscend.evaluation.match import engine_adjudicator

    queen_up = "4k3/8/8/8/8/8/3QK3/8 w - - 0 1"  # White a queen up: decided
    with Engine() as eng:
        judge = engine_adjudicator(eng, 400)
        g = play_game(RandomPlayer("w", 1), RandomPlayer("b", 2), max_plies=2, start_fen=queen_up,
                      adjudicator=judge)
        assert (g.result, g.termination) == ("1-0", "ply cap, adjudicated")
        g = play_game(RandomPlayer("w", 1), RandomPlayer("b", 2), max_plies=1, adjudicator=judge)
        assert (g.result, g.termination) == ("1/2-1/2", "ply cap")  # the start: nobody is ahead
    out = tmp_path / "m"
    s = run_match("random", "random", 2, out, workers=1, max_plies=2, start_fen=queen_up,
                  adjudicate=400, progress=False)
    assert s["terminations"] == {"ply cap, adjudicated": 2}
    # a folder written before adjudication existed (no key) resumes under adjudicate=None
    cfg = _json.loads((out / "match.json").read_text())
    plain = tmp_path / "plain"
    run_match("random", "random", 1, plain, workers=1, max_plies=2, progress=False)
    saved = _json.loads((plain / "match.json").read_text())
    saved.pop("adjudicate")
    (plain / "match.json").write_text(_json.dumps(saved))
    assert run_match("random", "random", 2, plain, workers=1, max_plies=2, progress=False)["games"] == 2
    assert cfg["adjudicate"] == 400


@pytest.mark.slow
@pytest.mark.skipif(not __import__("os").path.isdir("/proc"), reason="reads /proc")
def test_sigterm_stops_the_workers_and_their_engines(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "run.py"
    script.write_text("from minitranscend.evaluation.match import run_match\n"
                      "if __name__ == '__main__':\n"
                      f"    run_match('stockfish:nodes=5000', 'expert:default:0', 200, {str(tmp_path / 'm')!r},"
                      " workers=2, opening_plies=2, progress=False)\n")
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # both workers up, each with its engine(s)
            tree = descendants(parent.pid)
            if sum(n.startswith("stockfish") for n in tree.values()) >= 3:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"workers did not start: {tree}")
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in tree):
            time.sleep(0.2)
        assert not [f"{p} {n}" for p, n in tree.items() if _alive(p)]
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
