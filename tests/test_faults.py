"""Fault injection: damaged inputs, killed runs, dead engines and bad settings (issue 14).

Every case asserts the exact outcome — a clear one-line error (exit code 2 on the command line),
an exact resume (byte-identical to an uninterrupted run), or a counted skip — and that no
process we started survives. The figures (cases, runs killed and resumed, games compared, games
lost, processes left) go to ``_build/fault_report.json`` and into one summary line at the end.

Runs are small (a few games, short ply caps) so the whole file takes well under a minute on two
cores. Kill points are drawn at random from ``$FAULT_SEED`` (default 14), so a failure can be
replayed exactly.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import chess
import pytest
import zstandard

import minitranscend
from minitranscend.cli import main
from minitranscend.data.generate import generate_games
from minitranscend.data.lichess import TruncatedInputError, convert_lichess, read_lichess
from minitranscend.data.records import (GameRecord, IncompleteDatasetError, check_dataset,
                                        fingerprint, iter_games, write_jsonl_shard)
from minitranscend import engine as engine_module
from minitranscend.engine import Engine, EngineSettings, EngineStartError
from minitranscend.evaluation.match import check_unique_labels, load_games, run_match
from minitranscend.evaluation.reward import positions_from_games
from minitranscend.player_specs import PlayerSpec
from minitranscend.players import ExpertConfig, default_experts
from minitranscend.store import DamagedFileError, read_jsonl
from minitranscend.train import TrainConfig, train
from procs import proc_table

ROOT = Path(__file__).resolve().parents[1]
REPORT_PATH = ROOT / "_build" / "fault_report.json"
RNG = random.Random(int(os.environ.get("FAULT_SEED", "14")))
TINY_TRAIN = dict(tokenizer="move", preset="tiny", model={"n_layer": 1, "n_head": 2, "n_embd": 32},
                  block_size=32, batch_size=8, max_iters=2, warmup_iters=1, eval_interval=1,
                  eval_iters=1, progress=False, seed=7)

FIGURES: dict[str, Any] = {"cases": 0, "runs_killed": 0, "runs_resumed": 0, "engines_killed": 0,
                           "games_compared": 0, "positions_compared": 0, "games_lost": 0,
                           "processes_left": 0, "fault_seed": int(os.environ.get("FAULT_SEED", "14"))}
# The commands these tests start import the package these tests import (not another install).
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(Path(minitranscend.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module", autouse=True)
def fault_report(request) -> Iterator[dict[str, Any]]:
    """Collects the figures; at the end writes them and prints the summary line."""
    yield FIGURES
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(FIGURES, indent=2) + "\n")
    line = ("fault injection: {cases} cases, {runs_killed} runs killed and {runs_resumed} resumed, "
            "{engines_killed} engines killed, {games_compared} games and {positions_compared} "
            "positions compared, {games_lost} games lost, {processes_left} processes "
            "left").format(**FIGURES)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():  # past pytest's capture, onto the terminal
        reporter.write_line("")
        reporter.write_line(line)


@pytest.fixture(autouse=True)
def count_case() -> Iterator[None]:
    """Every test here is one fault case; none may leave a child process of this one behind."""
    before = set(_descendants(os.getpid()))
    yield
    FIGURES["cases"] += 1
    # multiprocessing's resource tracker, started by the first pool in this process, lives as
    # long as this process by design (it is not a worker and holds no engine)
    left = _wait_gone([p for p in _descendants(os.getpid())
                       if p not in before and not _is_resource_tracker(p)], 10)
    FIGURES["processes_left"] += len(left)
    assert not left, f"processes left behind: {left}"


# -- processes (psutil is not a dependency: /proc) ------------------------------------------------
def _descendants(pid: int) -> dict[int, str]:
    """Living (not zombie) descendants of ``pid``: pid -> name."""
    table = proc_table()
    children: dict[int, list[int]] = {}
    for p, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(p)
    out, todo = {}, list(children.get(pid, []))
    while todo:
        p = todo.pop()
        if table[p][2] != "Z":
            out[p] = table[p][1]
        todo += children.get(p, [])
    return out


def _is_resource_tracker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"resource_tracker" in fh.read()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    entry = proc_table().get(pid)
    return entry is not None and entry[2] != "Z"


def _wait_gone(pids, timeout: float) -> list[int]:
    deadline = time.time() + timeout
    left = [p for p in pids if _alive(p)]
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = [p for p in left if _alive(p)]
    return left


def _cli(capsys, *args: str) -> tuple[int, str]:
    """``minitranscend ARGS`` in this process (a new interpreter costs seconds of torch import;
    the kill tests below run the real command): ``(exit code, stderr)``."""
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err


def _one_error_line(result: tuple[int, str], *needles: str) -> str:
    """The run failed with exit code 2 and exactly one ``error: what — fix`` line, no traceback."""
    code, err = result
    assert code == 2, (code, err[-2000:])
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert " — " in lines[0], lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _kill_parent_when(cmd: list[str], ready, delay: float, cwd: Path) -> dict[int, str]:
    """Start ``cmd``, wait until ``ready()``, then ``delay`` seconds, and SIGKILL the parent
    alone (not its group): its workers and engines must go by themselves. Returns every
    descendant seen while it ran, all of which must be gone afterwards."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    seen: dict[int, str] = {}
    try:
        deadline = time.time() + 60
        while not ready():
            assert proc.poll() is None, "the run ended before the kill point"
            assert time.time() < deadline, "the run stalled"
            seen.update(_descendants(proc.pid))
            time.sleep(0.05)
        end = time.time() + delay
        while time.time() < end and proc.poll() is None:
            seen.update(_descendants(proc.pid))
            time.sleep(0.02)
        seen.update(_descendants(proc.pid))
        assert proc.poll() is None, "the run finished before the kill point"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        FIGURES["runs_killed"] += 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = _wait_gone(seen, 15)
    FIGURES["processes_left"] += len(left)
    for p in left:  # ours (started by this test): do not leak them into the other tests
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"survived the parent's SIGKILL: {[(p, seen[p]) for p in left]}"
    return seen


# -- damaged inputs -------------------------------------------------------------------------------
def _pgn_game(i: int) -> str:
    moves = ["1. e4 e5 2. Nf3 Nc6 3. Bb5 a6", "1. d4 d5 2. c4 e6 3. Nc3 Nf6", "1. f3 e5 2. g4 Qh4#"][i % 3]
    result = "0-1" if i % 3 == 2 else "1/2-1/2"
    return (f'[Event "g{i}"]\n[White "w{i}"]\n[Black "b{i}"]\n[Result "{result}"]\n'
            f'[WhiteElo "1200"]\n[BlackElo "1100"]\n[TimeControl "600+0"]\n\n{moves} {result}\n\n')


@pytest.fixture()
def pgn_text() -> str:
    return "".join(_pgn_game(i) for i in range(1500))


def test_truncated_zst_is_reported_never_a_complete_dataset(tmp_path, pgn_text, capsys):
    full = zstandard.ZstdCompressor().compress(pgn_text.encode())
    cut = tmp_path / "dump.pgn.zst"
    cut.write_bytes(full[: len(full) * 6 // 10])
    with pytest.raises(TruncatedInputError, match="cut short"):
        list(read_lichess(cut)[0])
    out = tmp_path / "out"
    proc = _cli(capsys, "data", "lichess", "--in", str(cut), "--out", str(out))
    _one_error_line(proc, "cut short", "download it again")
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    with pytest.raises(IncompleteDatasetError, match="unfinished"):
        check_dataset(out)
    # the whole file reads completely: the same games as the plain text, none lost
    whole, plain = tmp_path / "whole.pgn.zst", tmp_path / "whole.pgn"
    whole.write_bytes(full)
    plain.write_text(pgn_text)
    reference = list(read_lichess(plain)[0])
    got = list(read_lichess(whole)[0])
    FIGURES["games_compared"] += len(reference)
    FIGURES["games_lost"] += sum(g not in got for g in reference)
    assert got == reference and len(got) == 1500


def test_pgn_cut_mid_game_drops_and_counts_the_last_game(tmp_path, pgn_text):
    text = "".join(_pgn_game(i) for i in range(5))
    cut = tmp_path / "cut.pgn"
    cut.write_text(text[: text.rindex("3. Bb5") + 3])  # game 3's movetext, cut after "3. "
    games, counts = read_lichess(cut)
    kept = list(games)
    assert len(kept) == 3 and counts["skipped_truncated"] == 1 and counts["read"] == 4
    assert [g.white for g in kept] == ["w0", "w1", "w2"]


def test_a_header_with_unusual_digits_skips_that_game_only(tmp_path):
    games = [_pgn_game(i) for i in range(3)]
    games[0] = games[0].replace('[WhiteElo "1200"]', '[WhiteElo "12²"]')  # str.isdigit() says yes
    games[1] = games[1].replace('[TimeControl "600+0"]', '[TimeControl "6²0+0"]')
    f = tmp_path / "odd.pgn"
    f.write_text("".join(games))
    kept, counts = read_lichess(f, max_elo=1300, time_controls=["300..900"])
    assert [g.white for g in kept] == ["w2"]
    assert (counts["skipped_malformed"], counts["skipped_time_control"]) == (1, 1)


def test_compression_is_read_from_the_bytes_not_the_name(tmp_path, pgn_text, capsys):
    text = "".join(_pgn_game(i) for i in range(6))
    plain = tmp_path / "a.pgn"
    plain.write_text(text)
    reference = list(read_lichess(plain)[0])
    data = zstandard.ZstdCompressor().compress(text.encode())
    for name, payload in (("B.PGN.ZST", data), ("c.pgn", data), ("d.pgn.zst", text.encode())):
        f = tmp_path / name
        f.write_bytes(payload)
        assert list(read_lichess(f)[0]) == reference, name
    junk = tmp_path / "e.pgn.zst"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ValueError, match="binary data"):
        list(read_lichess(junk)[0])
    empty = tmp_path / "f.pgn"
    empty.write_text("not a chess file\n")
    proc = _cli(capsys, "data", "lichess", "--in", str(empty), "--out", str(tmp_path / "o"))
    _one_error_line(proc, "no PGN games")


def test_lichess_cache_follows_the_content_not_the_path(tmp_path):
    src = tmp_path / "dump.pgn"
    src.write_text("".join(_pgn_game(i) for i in range(4)))
    out = tmp_path / "out"
    first = convert_lichess(src, out, progress=False, tokenize=False)
    src.write_text("".join(_pgn_game(i) for i in range(1, 3)))  # replaced: same path, other games
    second = convert_lichess(src, out, progress=False, tokenize=False)
    assert (first["n_games"], second["n_games"]) == (4, 2)
    assert [g.white for g in iter_games(out)] == ["w1", "w2"]
    assert second["args"]["source_sha256"] != first["args"]["source_sha256"]


def test_jsonl_damage_in_the_middle_is_reported_and_nothing_deleted(tmp_path, capsys):
    m = tmp_path / "m"
    m.mkdir()
    rows = [{"index": i, "white": "a", "black": "b", "result": "1-0"} for i in range(20)]
    lines = [json.dumps(r) + "\n" for r in rows]
    lines[2] = '{"index": 2, "whi\n'
    (m / "games.jsonl").write_text("".join(lines))
    before = (m / "games.jsonl").read_bytes()
    with pytest.raises(DamagedFileError, match="games.jsonl:3"):
        load_games(m)
    proc = _cli(capsys, "eval", "ratings", "--matches", str(m), "--out", str(tmp_path / "r"))
    _one_error_line(proc, "games.jsonl:3")
    assert (m / "games.jsonl").read_bytes() == before  # nothing "repaired" away
    FIGURES["games_compared"] += 20


def test_a_torn_last_line_is_dropped_and_said(tmp_path, capsys):
    p = tmp_path / "log.jsonl"
    p.write_text('{"a": 1}\n{"a": 2}\n{"a": 3')
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}]
    assert "torn last line" in capsys.readouterr().err
    assert p.read_text() == '{"a": 1}\n{"a": 2}\n'


@pytest.fixture()
def small_dataset(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    rng = random.Random(0)
    games = []
    for gid in range(40):
        b = chess.Board()
        while not b.is_game_over() and len(b.move_stack) < 40:
            b.push(rng.choice(list(b.legal_moves)))
        games.append(GameRecord(gid, "r", "r", "1/2-1/2", "test", " ".join(m.uci() for m in b.move_stack)))
    write_jsonl_shard(d / "shard-00000.jsonl", games)
    return d


def _train_config(tmp_path: Path, data: Path, **kw) -> Path:
    cfg = tmp_path / "train.json"
    cfg.write_text(json.dumps({**TINY_TRAIN, "data": str(data), "out": str(tmp_path / "model"), **kw}))
    return cfg


@pytest.mark.parametrize("manifest", ["missing", "incomplete", "torn", "mismatched"])
def test_train_refuses_an_unfinished_dataset(tmp_path, small_dataset, manifest, capsys):
    fp = fingerprint(small_dataset)
    text = {"missing": None,
            "incomplete": json.dumps({"complete": False, "n_games": 40, "n_games_requested": 200}),
            "torn": '{"complete": tr',
            "mismatched": json.dumps({"complete": True, "fingerprint": "0" * 64})}[manifest]
    if text is not None:
        (small_dataset / "manifest.json").write_text(text)
    cfg = _train_config(tmp_path, small_dataset)
    proc = _cli(capsys, "train", "--config", str(cfg))
    _one_error_line(proc, str(small_dataset))
    assert not (tmp_path / "model" / "ckpt.pt").exists()
    if manifest in ("missing", "incomplete"):
        proc = _cli(capsys, "data", "stats", "--data", str(small_dataset))
        _one_error_line(proc, "--allow-incomplete")
    if manifest == "incomplete":  # the library refuses it too (the experiment trains through it)
        with pytest.raises(IncompleteDatasetError, match="40 of 200"):
            train(TrainConfig.from_dict({**TINY_TRAIN, "data": str(small_dataset),
                                         "out": str(tmp_path / "lib")}))
        code, err = _cli(capsys, "train", "--config", str(cfg), "--allow-incomplete")
        assert code == 0, err[-2000:]
        assert "using it anyway" in err and (tmp_path / "model" / "ckpt.pt").exists()
    assert fingerprint(small_dataset) == fp


def test_a_tiny_dataset_says_it_has_no_validation_and_writes_no_infinity(tmp_path, capsys):
    d = tmp_path / "tiny"
    d.mkdir()
    b = chess.Board()
    moves = []
    for _ in range(40):
        m = sorted(b.legal_moves, key=lambda x: x.uci())[0]
        b.push(m)
        moves.append(m.uci())
    write_jsonl_shard(d / "shard-00000.jsonl", [GameRecord(i, "r", "r", "1/2-1/2", "t", " ".join(moves))
                                                for i in (0, 1)])
    summary = train(TrainConfig.from_dict({**TINY_TRAIN, "data": str(d), "out": str(tmp_path / "m"),
                                           "val_fraction": 0.01}))
    assert "no validation games" in capsys.readouterr().err
    assert summary["best"] is None and "no validation" in summary["note"]
    assert summary["best_val_loss"] is None and Path(summary["checkpoint"]).is_file()
    json.dumps(summary, allow_nan=False, default=str)  # no Infinity / NaN
    for f in (tmp_path / "m").glob("*.json*"):
        assert "Infinity" not in f.read_text() and "NaN" not in f.read_text(), f


# -- killed runs: resume byte for byte --------------------------------------------------------------
GEN = dict(n_games=12, seed=5, max_plies=40, shard_size=2)


def test_sigkill_of_data_generate_resumes_byte_for_byte(tmp_path):
    ref = tmp_path / "ref"
    generate_games(ref, default_experts(), GEN["n_games"], seed=GEN["seed"], workers=1,
                   max_plies=GEN["max_plies"], shard_size=GEN["shard_size"], progress=False)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "minitranscend", "data", "generate", "--out", str(out),
           "--games", str(GEN["n_games"]), "--seed", str(GEN["seed"]), "--workers", "2",
           "--max-plies", str(GEN["max_plies"]), "--shard-size", str(GEN["shard_size"])]
    delay = RNG.uniform(0.0, 0.3)
    seen = _kill_parent_when(cmd, lambda: (out / "shard-00000.jsonl").exists(), delay, ROOT)
    assert any(n.startswith("stockfish") for n in seen.values()), seen
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    with pytest.raises(IncompleteDatasetError):
        check_dataset(out)
    generate_games(out, default_experts(), GEN["n_games"], seed=GEN["seed"], workers=2,
                   max_plies=GEN["max_plies"], shard_size=GEN["shard_size"], progress=False)
    FIGURES["runs_resumed"] += 1
    names = sorted(p.name for p in ref.glob("shard-*"))
    assert names == sorted(p.name for p in out.glob("shard-*"))
    for n in names:
        assert (out / n).read_bytes() == (ref / n).read_bytes(), n
    ref_games = [g.to_json() for g in iter_games(ref)]
    got = {g.to_json() for g in iter_games(out)}
    FIGURES["games_compared"] += len(ref_games)
    FIGURES["games_lost"] += sum(g not in got for g in ref_games)
    assert fingerprint(out) == fingerprint(ref) and check_dataset(out)["complete"]


MATCH = dict(a="expert:default:0", b="stockfish:nodes=200", games=10, seed=1, opening_plies=2, max_plies=80)


def test_sigkill_of_eval_match_resumes_byte_for_byte(tmp_path):
    kw = dict(seed=MATCH["seed"], opening_plies=MATCH["opening_plies"], max_plies=MATCH["max_plies"],
              progress=False)
    ref = tmp_path / "ref"
    run_match(MATCH["a"], MATCH["b"], MATCH["games"], ref, workers=1, **kw)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "minitranscend", "eval", "match", "--a", MATCH["a"], "--b", MATCH["b"],
           "--games", str(MATCH["games"]), "--out", str(out), "--workers", "2",
           "--seed", str(MATCH["seed"]), "--opening-plies", str(MATCH["opening_plies"]),
           "--max-plies", str(MATCH["max_plies"])]
    jsonl = out / "games.jsonl"
    after = RNG.randint(1, 3)  # games written before the kill, then a random fraction of a game
    delay = RNG.uniform(0.0, 0.1)
    seen = _kill_parent_when(cmd, lambda: jsonl.exists() and jsonl.read_bytes().count(b"\n") >= after,
                             delay, ROOT)
    assert sum(n.startswith("stockfish") for n in seen.values()) >= 2, seen
    n_before = len(load_games(out))
    assert n_before < MATCH["games"], "the kill came after the last game"
    run_match(MATCH["a"], MATCH["b"], MATCH["games"], out, workers=2, **kw)
    FIGURES["runs_resumed"] += 1
    for name in ("games.pgn", "summary.json", "summary.csv", "match.json"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    ref_games = {g["index"]: g for g in load_games(ref)}
    got = {g["index"]: g for g in load_games(out)}
    assert len(jsonl.read_text().splitlines()) == MATCH["games"]  # no duplicates
    FIGURES["games_compared"] += len(ref_games)
    FIGURES["games_lost"] += sum(got.get(i) != g for i, g in ref_games.items())
    assert got == ref_games


def _fen_file(path: Path, n: int, seed: int = 3) -> list[str]:
    """``n`` positions from random games, one FEN a line (the reward command's input)."""
    rng = random.Random(seed)
    games = []
    for _ in range(n):
        b = chess.Board()
        while not b.is_game_over() and len(b.move_stack) < 30:
            b.push(rng.choice(list(b.legal_moves)))
        games.append([m.uci() for m in b.move_stack])
    fens = [b.fen() for b in positions_from_games(games, n, seed=seed)]
    path.write_text("".join(f + "\n" for f in fens))
    return fens


def test_sigkill_of_eval_reward_resumes_from_the_cache(tmp_path, capsys):
    """Kill the parent of ``eval reward --workers 2`` after its first cached chunk: workers and
    engines go with it, and the rerun scores only what is missing, to the same files."""
    fens = tmp_path / "fens.txt"
    n = len(_fen_file(fens, 96))
    args = ["eval", "reward", "--positions", str(fens), "--policy", "random", "--policy", "oracle",
            "--depth", "6", "--boot", "50"]
    ref = tmp_path / "ref"
    code, err = _cli(capsys, *args, "--workers", "1", "--out", str(ref))
    assert code == 0, err[-2000:]
    out = tmp_path / "killed"
    cache = out / "cache"

    def cached() -> int:
        return sum(f.read_bytes().count(b"\n") for f in cache.glob("scores-*.jsonl"))

    after = RNG.randint(1, 3) * 8  # chunks of 8 positions, then a random fraction of a chunk
    delay = RNG.uniform(0.0, 0.3)
    seen = _kill_parent_when([sys.executable, "-m", "minitranscend", *args, "--workers", "2",
                              "--out", str(out)], lambda: cached() >= after, delay, ROOT)
    assert sum(n.startswith("stockfish") for n in seen.values()) >= 2, seen
    [cache_file] = cache.glob("scores-*.jsonl")
    kept = cache_file.read_bytes()
    n_before = kept.count(b"\n")
    assert 0 < n_before < n and not (out / "rewards_summary.json").exists()
    code, err = _cli(capsys, *args, "--workers", "2", "--out", str(out))
    assert code == 0, err[-2000:]
    FIGURES["runs_resumed"] += 1
    resumed = cache_file.read_bytes()
    assert resumed.startswith(kept) and resumed.count(b"\n") == n  # kept, and nothing twice
    assert resumed == (ref / "cache" / cache_file.name).read_bytes()
    for name in ("rewards_per_state.csv", "rewards_summary.json", "rewards_summary.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    FIGURES["positions_compared"] += n


LADDER_SCRIPT = """\
import sys

from minitranscend.evaluation.ladder import evaluate_temperatures
from minitranscend.evaluation.ratings import Rung
from minitranscend.player_specs import PlayerSpec

OPPONENTS = [Rung("random", "random"), Rung("stockfish:nodes=10,name=sf-n10", "sf-n10", rating=1000.0),
             Rung("expert:eps=0.5,nodes=10,name=exp-half", "exp-half")]


def stand_in(tau):
    return PlayerSpec("expert", {"eps": tau, "nodes": 10}, name=f"stand-in-tau{tau:g}")


def run(out, workers):
    return evaluate_temperatures(stand_in, [0.0, 1.0], OPPONENTS, out, games_per_pair=4,
                                 ladder_games=2, workers=workers, max_plies=40, n_boot=50,
                                 glicko_orders=3, progress=False)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
"""


def test_sigkill_of_a_ladder_run_resumes_byte_for_byte(tmp_path, monkeypatch):
    """Kill the parent of a ladder (``evaluate_temperatures``, 2 workers, each playing whole
    matches with its own engines): nothing survives, and the rerun finishes the interrupted
    matches to the files of an uninterrupted run."""
    script = tmp_path / "ladder_run.py"
    script.write_text(LADDER_SCRIPT)
    monkeypatch.syspath_prepend(str(tmp_path))
    import ladder_run

    ref, out = tmp_path / "ref", tmp_path / "killed"
    ladder_run.run(ref, 1)
    plan = json.loads((ref / "ladder.json").read_text())["plan"]
    total = sum(p["n_games"] for p in plan)

    def played() -> int:
        return sum(f.read_bytes().count(b"\n") for f in out.glob("matches/*/games.jsonl"))

    after = RNG.randint(2, total // 2)
    seen = _kill_parent_when([sys.executable, str(script), str(out), "2"],
                             lambda: played() >= after, RNG.uniform(0.0, 0.2), ROOT)
    assert sum(n.startswith("stockfish") for n in seen.values()) >= 2, seen
    n_before = played()
    assert n_before < total and not (out / "ladder.json").exists()
    ladder_run.run(out, 2)
    FIGURES["runs_resumed"] += 1
    for name in ("ladder.json", "ratings.csv", "temperature.csv", "matches.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    for p in plan:
        folder = Path("matches") / p["folder"]
        for name in ("games.pgn", "summary.json"):
            assert (out / folder / name).read_bytes() == (ref / folder / name).read_bytes(), folder
        want = {g["index"]: g for g in load_games(ref / folder)}
        got = {g["index"]: g for g in load_games(out / folder)}
        assert len((out / folder / "games.jsonl").read_text().splitlines()) == p["n_games"]
        FIGURES["games_compared"] += len(want)
        FIGURES["games_lost"] += sum(got.get(i) != g for i, g in want.items())
        assert got == want


# -- engines --------------------------------------------------------------------------------------
def test_a_killed_engine_is_replaced_and_reaped():
    with Engine() as eng:
        first = eng.raw.transport.get_pid()
        os.kill(first, signal.SIGKILL)
        move = eng.play(chess.Board(), engine_module.SearchLimit(nodes=100))
        assert move in chess.Board().legal_moves and eng.restarts == 1
        second = eng.raw.transport.get_pid()
    assert _wait_gone([first, second], 10) == []


def test_engines_killed_under_data_generate_are_restarted_and_recorded(tmp_path):
    """SIGKILL every Stockfish process of a running ``data generate --workers 2`` (not the
    parent): the run finishes with every game, each game an engine restart touched says so in
    its record and PGN, the manifest counts them, and every other game is byte-identical to an
    undisturbed run's."""
    n = 20
    ref = tmp_path / "ref"
    generate_games(ref, default_experts(), n, seed=GEN["seed"], workers=1,
                   max_plies=GEN["max_plies"], shard_size=GEN["shard_size"], progress=False)
    out = tmp_path / "restarted"
    cmd = [sys.executable, "-m", "minitranscend", "data", "generate", "--out", str(out),
           "--games", str(n), "--seed", str(GEN["seed"]), "--workers", "2",
           "--max-plies", str(GEN["max_plies"]), "--shard-size", str(GEN["shard_size"])]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV)
    try:
        deadline = time.time() + 60
        while not (out / "shard-00000.jsonl").exists():
            assert proc.poll() is None and time.time() < deadline, "the run ended or stalled"
            time.sleep(0.02)
        time.sleep(RNG.uniform(0.0, 0.2))
        engines = [p for p, name in _descendants(proc.pid).items() if name.startswith("stockfish")]
        assert proc.poll() is None and len(engines) == 8, engines  # 2 workers x 4 experts
        for p in engines:
            os.kill(p, signal.SIGKILL)
        FIGURES["engines_killed"] += len(engines)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert _wait_gone(engines, 10) == []
    manifest = check_dataset(out)
    records = list(iter_games(out))
    restarted = {g.id: g.engine_restarts for g in records if g.engine_restarts}
    assert restarted, "no game was played on by a restarted engine"
    assert manifest["complete"] and manifest["engine_restarts"] == sum(restarted.values())
    assert manifest["games_with_engine_restarts"] == sorted(restarted)
    assert "not reproducible from the seed" in err
    pgn = "".join(p.read_text() for p in sorted(out.glob("shard-*.pgn")))
    assert pgn.count("[EngineRestarts ") == len(restarted)
    ref_games = {g.id: g for g in iter_games(ref)}
    assert sorted(g.id for g in records) == sorted(ref_games) == list(range(n))  # nothing lost
    FIGURES["games_compared"] += n
    FIGURES["games_lost"] += len(set(ref_games) - {g.id for g in records})
    for g in records:
        want = ref_games[g.id]
        if g.engine_restarts:  # a whole, legal game between the planned players
            g.replay()
            assert (g.white, g.black) == (want.white, want.black)
        else:  # untouched: the exact bytes of the undisturbed run
            assert g.to_json() == want.to_json(), g.id
    # the records say a restart happened, so the data is not the seed's dataset: no fingerprint
    # of an undisturbed run can vouch for it
    assert fingerprint(out) != fingerprint(ref)


def test_a_program_that_is_not_an_engine_fails_fast_and_is_reaped(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFISH_PATH", "/bin/cat")
    monkeypatch.setattr(engine_module, "START_TIMEOUT_S", 1.0)
    engine_module._version_of.cache_clear()
    try:
        with pytest.raises(EngineStartError, match="STOCKFISH_PATH"):
            Engine()
        assert main(["eval", "match", "--a", "random", "--b", "stockfish:nodes=10", "--games", "1",
                     "--out", "/tmp/never-written-by-this-test", "--workers", "1"]) == 2
    finally:
        engine_module._version_of.cache_clear()
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and "STOCKFISH_PATH" in err and "Traceback" not in err


@pytest.mark.parametrize("kw", [dict(skill_level=25), dict(skill_level=-1), dict(hash_mb=-5),
                                dict(threads=0)])
def test_invalid_engine_options_fail_before_any_process_starts(kw):
    before = set(_descendants(os.getpid()))
    with pytest.raises(ValueError, match="engine option"):
        Engine(EngineSettings(**kw))
    assert set(_descendants(os.getpid())) <= before


# -- bad settings on the command line --------------------------------------------------------------
@pytest.mark.parametrize("spec, needle", [
    ("stockfish:skill_level=25", "skill_level"), ("stockfish:hash_mb=-5", "hash_mb"),
    ("stockfish:threads=0", "threads"), ("stockfish:nodes=-5", "nodes"),
    ("stockfish:skill=3", "skill_level"), ("model:x.pt:tau=inf", "tau"),
    ("model:x.pt:tau=nan", "tau"), ("model:x.pt:avoid_draws=maybe", "avoid_draws"),
])
def test_invalid_specs_are_one_line_errors(tmp_path, capsys, spec, needle):
    t0 = time.time()
    code = main(["eval", "match", "--a", spec, "--b", "random", "--games", "1",
                 "--out", str(tmp_path / "m"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and needle in err, err
    assert time.time() - t0 < 5 and not (tmp_path / "m").exists()


def test_boolean_spec_values_parse_strictly():
    assert PlayerSpec.parse("model:x.pt:tau=0.1,avoid_draws=false").params["avoid_draws"] is False
    assert PlayerSpec.parse("model:x.pt:tau=0.1,avoid_draws=true").params["avoid_draws"] is True


def test_experts_file_with_a_bad_skill_level(tmp_path, capsys):
    experts = tmp_path / "experts.json"
    experts.write_text(json.dumps([{"name": "e1", "nodes": 50, "skill_level": 25}]))
    args = ["data", "generate", "--experts", str(experts), "--games", "2", "--out", str(tmp_path / "d")]
    _one_error_line(_cli(capsys, *args), "experts.json", "Skill Level")
    # the real command, once: exit code 2 and the one line on stderr, in a few seconds
    proc = subprocess.run([sys.executable, "-m", "minitranscend", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env=ENV)
    _one_error_line((proc.returncode, proc.stderr), "experts.json", "Skill Level")
    with pytest.raises(ValueError, match="Skill Level"):
        ExpertConfig("e", skill_level=25)


@pytest.mark.parametrize("args, needle", [
    (["data", "generate", "--max-plies", "0", "--games", "2"], "max_plies"),
    (["eval", "match", "--a", "random", "--b", "random", "--games", "2", "--max-plies", "4",
      "--opening-plies", "4"], "opening"),
    (["eval", "match", "--a", "random", "--b", "random", "--games", "2", "--max-plies", "0"], "max_plies"),
    (["data", "lichess", "--in", "README.md", "--limit", "-1"], "limit"),
])
def test_impossible_counts_are_refused_up_front(tmp_path, capsys, args, needle):
    code = main([*args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and needle in err, err


def test_debug_shows_the_traceback(tmp_path, capsys):
    code = main(["--debug", "eval", "match", "--a", "stockfish:threads=0", "--b", "random",
                 "--games", "1", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("error: ")


def test_two_checkpoints_with_one_file_name_are_not_merged(tmp_path):
    a, b = "model:runs/x/best.pt:tau=0.1", "model:runs/y/best.pt:tau=0.1"
    assert PlayerSpec.parse(a).label == PlayerSpec.parse(b).label  # both "model-best-tau0.1"
    with pytest.raises(ValueError, match="share the name"):
        run_match(a, b, 2, tmp_path / "m", progress=False)
    for name, spec in (("m1", a), ("m2", b)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "match.json").write_text(json.dumps({"player_a": spec, "player_b": "random"}))
    with pytest.raises(ValueError, match="two different players"):
        check_unique_labels([tmp_path / "m1", tmp_path / "m2"])
    check_unique_labels([tmp_path / "m1", tmp_path / "m1"])  # the same player twice is fine
