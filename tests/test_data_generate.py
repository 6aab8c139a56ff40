"""Expert self-play generation: legal, correctly scored, deterministic, resumable (real Stockfish)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import chess
import chess.pgn
import pytest

from minitranscend.data import GameRecord, iter_games
from minitranscend.data.generate import game_plan, generate_games
from minitranscend.data.records import fingerprint
from minitranscend.players import default_experts
from minitranscend.referee import game_result, selfplay_rules
from minitranscend.tokenizers import load_tokens

N, SHARD, MAX_PLIES = 24, 8, 120


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "experts"
    generate_games(out, default_experts(), N, seed=3, workers=2, max_plies=MAX_PLIES,
                   shard_size=SHARD, progress=False)
    return out


def test_layout_and_manifest(dataset: Path):
    names = sorted(p.name for p in dataset.iterdir())
    assert names == ["manifest.json", *[f"shard-{k:05d}.{e}" for k in range(3) for e in ("jsonl", "pgn")],
                     "tokens-move.npz"]
    m = json.loads((dataset / "manifest.json").read_text())
    assert m["complete"] and m["n_games"] == N and m["seed"] == 3
    assert m["stockfish"].startswith("Stockfish")
    assert m["fingerprint"] == fingerprint(dataset)
    games = list(iter_games(dataset))
    assert [g.id for g in games] == list(range(N))
    assert m["n_plies"] == sum(g.n_plies for g in games)
    tg = load_tokens(dataset, "move")
    assert len(tg) == N and list(tg.game_ids) == list(range(N))


def test_games_legal_and_correctly_scored(dataset: Path):
    names = {c.name for c in default_experts()}
    for g in iter_games(dataset):
        assert g.white in names and g.black in names and g.white != g.black
        board = g.replay()  # raises on any illegal move
        assert 1 <= g.n_plies <= MAX_PLIES
        outcome = board.outcome(claim_draw=False)
        if g.termination == "checkmate":
            assert board.is_checkmate()
            assert g.result == ("0-1" if board.turn == chess.WHITE else "1-0")
        elif g.termination == "ply cap":
            assert g.n_plies == MAX_PLIES and g.result == "1/2-1/2" and outcome is None
        elif g.termination == "threefold repetition":
            assert board.is_repetition(3) and g.result == "1/2-1/2"
        else:
            assert outcome is not None and g.result == "1/2-1/2"
            assert g.termination == outcome.termination.name.lower().replace("_", " ")


def test_pgn_matches_records(dataset: Path):
    records = {g.id: g for g in iter_games(dataset)}
    seen = 0
    for pgn_path in sorted(dataset.glob("shard-*.pgn")):
        with open(pgn_path) as fh:
            while (game := chess.pgn.read_game(fh)) is not None:
                h = game.headers
                rec = records[int(h["Round"])]
                assert not game.errors
                assert [m.uci() for m in game.mainline_moves()] == rec.uci_moves
                assert (h["White"], h["Black"], h["Result"], h["Termination"]) == \
                       (rec.white, rec.black, rec.result, rec.termination)
                assert int(h["PlyCount"]) == rec.n_plies
                assert "eps=0.2" in h["WhiteSettings"] and h["Engine"].startswith("Stockfish")
                seen += 1
    assert seen == N


def test_game_plan_pairs_distinct_experts_in_both_colours():
    plans = [game_plan(0, i, 4) for i in range(400)]
    assert all(w != b for w, b, *_ in plans)
    assert {(w, b) for w, b, *_ in plans} == {(w, b) for w in range(4) for b in range(4) if w != b}
    assert plans == [game_plan(0, i, 4) for i in range(400)]
    assert plans != [game_plan(1, i, 4) for i in range(400)]


def test_selfplay_rules():
    from minitranscend.players import RandomPlayer
    from minitranscend.referee import play_game

    rules = selfplay_rules(250)
    fool = chess.Board()
    for san in ["f3", "e5", "g4", "Qh4#"]:
        fool.push_san(san)
    assert game_result(fool, rules) == ("0-1", "checkmate")
    stalemate = chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1")
    assert game_result(stalemate, rules) == ("1/2-1/2", "stalemate")
    assert game_result(chess.Board("8/8/8/4k3/8/8/4K3/8 w - - 0 1"), rules) == \
        ("1/2-1/2", "insufficient material")
    rep = chess.Board()
    for _ in range(2):
        for san in ["Nf3", "Nf6", "Ng1", "Ng8"]:
            assert game_result(rep, rules) is None  # automatic: no draw while it is only claimable
            rep.push_san(san)
    assert game_result(rep, rules) == ("1/2-1/2", "threefold repetition")
    fifty = chess.Board("8/8/8/4k3/8/8/4K3/R7 w - - 100 80")
    assert game_result(fifty, rules) == ("1/2-1/2", "fifty moves")
    g = play_game(RandomPlayer("w"), RandomPlayer("b"), selfplay_rules(1))
    assert (g.result, g.termination, g.plies) == ("1/2-1/2", "ply cap", 1)
    g = play_game(RandomPlayer("w"), RandomPlayer("b"), selfplay_rules(2))
    assert g.plies == 2


def test_same_seed_same_games_any_worker_count(dataset: Path, tmp_path: Path):
    # one worker instead of two, and only the first two shards: identical bytes
    generate_games(tmp_path / "a", default_experts(), 2 * SHARD, seed=3, workers=1,
                   max_plies=MAX_PLIES, shard_size=SHARD, progress=False, tokenize=False)
    for k in range(2):
        name = f"shard-{k:05d}"
        for ext in ("jsonl", "pgn"):
            assert (tmp_path / "a" / f"{name}.{ext}").read_bytes() == (dataset / f"{name}.{ext}").read_bytes()
    # another seed: other games
    generate_games(tmp_path / "b", default_experts(), SHARD, seed=4, workers=1,
                   max_plies=MAX_PLIES, shard_size=SHARD, progress=False, tokenize=False)
    assert (tmp_path / "b" / "shard-00000.jsonl").read_bytes() != (dataset / "shard-00000.jsonl").read_bytes()


def test_resume_after_lost_shard_and_stale_tmp(dataset: Path, tmp_path: Path):
    d = tmp_path / "resume"
    shutil.copytree(dataset, d)
    (d / "shard-00001.jsonl").unlink()       # shard lost
    (d / "shard-00002.pgn").unlink()         # half-written shard (pgn missing)
    (d / "shard-00001.jsonl.tmp").write_text('{"id": 8, "garbage": true}\n')  # killed mid-write
    (d / "manifest.json").write_text(json.dumps({**json.loads((d / "manifest.json").read_text()),
                                                 "complete": False}))
    m = generate_games(d, default_experts(), N, seed=3, workers=2, max_plies=MAX_PLIES,
                       shard_size=SHARD, progress=False)
    assert m["fingerprint"] == fingerprint(dataset)
    assert not list(d.glob("*.tmp"))
    assert (d / "shard-00002.pgn").read_bytes() == (dataset / "shard-00002.pgn").read_bytes()
    assert [g.id for g in iter_games(d)] == list(range(N))


def test_resume_refuses_other_settings(dataset: Path, tmp_path: Path):
    d = tmp_path / "other"
    shutil.copytree(dataset, d)
    with pytest.raises(ValueError, match="different settings"):
        generate_games(d, default_experts(), N, seed=99, workers=1, max_plies=MAX_PLIES,
                       shard_size=SHARD, progress=False)


@pytest.mark.slow
def test_killed_run_resumes_to_identical_dataset(dataset: Path, tmp_path: Path):
    """SIGKILL a real generation process after its first shard, rerun, compare with uninterrupted."""
    d = tmp_path / "killed"
    code = ("from minitranscend.data.generate import generate_games\n"
            "from minitranscend.players import default_experts\n"
            f"generate_games({str(d)!r}, default_experts(), {N}, seed=3, workers=1, "
            f"max_plies={MAX_PLIES}, shard_size={SHARD}, progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.time() + 60
        while not (d / "shard-00000.jsonl").exists():
            assert proc.poll() is None and time.time() < deadline, "generation ended or stalled"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the process group holds only what we started
    finally:
        proc.wait()
    assert not (d / "shard-00002.jsonl").exists()
    m = generate_games(d, default_experts(), N, seed=3, workers=2, max_plies=MAX_PLIES,
                       shard_size=SHARD, progress=False)
    assert m["fingerprint"] == fingerprint(dataset)
    ids = [g.id for g in iter_games(d)]
    assert ids == list(range(N))


def test_record_round_trip_and_board_after():
    r = GameRecord(id=5, white="a", black="b", result="1-0", termination="checkmate",
                   uci="e2e4 e7e5 d1h5", white_elo=1200)
    assert GameRecord.from_json(r.to_json()) == r
    assert "black_elo" not in json.loads(r.to_json())
    assert r.board_after(0) == chess.Board()
    assert r.board_after(2).fen() == "rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2"
    with pytest.raises(IndexError):
        r.board_after(4)
    with pytest.raises(ValueError, match="result"):
        GameRecord(id=0, white="a", black="b", result="*", termination="x", uci="")
    bad = GameRecord(id=7, white="a", black="b", result="1-0", termination="x", uci="e2e4 e2e4")
    with pytest.raises(ValueError, match="ply 2"):
        bad.replay()


def test_default_workers_follow_memory_as_well_as_cores(monkeypatch):
    """Each worker holds one Stockfish per expert (~136 MB each): one worker per core would need
    ~37 GB on 64 cores, so the default is what the available memory holds, at most one per core."""
    from minitranscend import workers
    from minitranscend.data import generate

    per_worker = generate.worker_memory_mb(4)
    assert 4 * 136 < per_worker < 700  # 4 engines + the worker process
    assert generate.default_workers(4, cpus=64, available_mb=8000) == (8000 - 512) // per_worker == 12
    assert generate.default_workers(4, cpus=64, available_mb=64 * 1024) == 64  # room for all
    assert generate.default_workers(4, cpus=64, available_mb=30 * 1024) == (30 * 1024 - 512) // per_worker
    assert generate.default_workers(4, cpus=2, available_mb=512 * 1024) == 2  # cores limit
    assert generate.default_workers(4, cpus=16, available_mb=300) == 1  # never 0
    assert generate.default_workers(1, cpus=64, available_mb=8000) > generate.default_workers(
        4, cpus=64, available_mb=8000)  # fewer experts, fewer engines per worker
    monkeypatch.setattr(workers, "available_memory_mb", lambda: None)  # memory unknown: cores
    monkeypatch.setattr(workers, "usable_cpus", lambda: 6)
    assert workers.sized_workers(per_worker) == 6
    monkeypatch.setattr(workers, "available_memory_mb", lambda: 2 * per_worker + 512)
    assert workers.sized_workers(per_worker) == 2
    with pytest.raises(ValueError, match="per_worker_mb"):
        workers.sized_workers(0)


def test_the_real_machine_is_read():
    from minitranscend import workers

    mem = workers.available_memory_mb()
    assert mem is None or mem > 0
    assert 1 <= workers.usable_cpus() <= (os.cpu_count() or 1)


def test_a_finished_dataset_is_only_read(dataset: Path, tmp_path: Path):
    # the experiment asks for its datasets from several processes at once (the reward states are
    # scored while models train): asking for a finished one must not rewrite anything, or a
    # trainer reading the manifest in between sees "complete": false and refuses the data
    d = tmp_path / "done"
    shutil.copytree(dataset, d)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in d.iterdir()}
    m = generate_games(d, default_experts(), N, seed=3, workers=2, max_plies=MAX_PLIES,
                       shard_size=SHARD, progress=False)
    assert m == json.loads((dataset / "manifest.json").read_text()) and m["complete"]
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in d.iterdir()} == before
    (d / "tokens-move.npz").unlink()  # something missing: finished again, and rewritten
    m = generate_games(d, default_experts(), N, seed=3, workers=2, max_plies=MAX_PLIES,
                       shard_size=SHARD, progress=False)
    assert m["complete"] and (d / "tokens-move.npz").exists()
