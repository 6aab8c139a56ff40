"""The Lichess reader: the paper's Elo filter, unfinished/malformed games, time controls, .zst."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from minitranscend.data import iter_games
from minitranscend.data.lichess import COUNT_KEYS, convert_lichess, read_lichess, time_control_filter


def game(white_elo="1200", black_elo="1100", result="1-0", tc="600+0", moves=None, extra=""):
    headers = [("Event", "Rated Rapid game"), ("Site", "https://lichess.org/x"), ("White", "alice"),
               ("Black", "bob"), ("Result", result), ("WhiteElo", white_elo), ("BlackElo", black_elo),
               ("TimeControl", tc), ("Termination", "Normal")]
    text = "".join(f'[{k} "{v}"]\n' for k, v in headers if v is not None) + extra
    body = moves if moves is not None else \
        "1. e4 { [%clk 0:10:00] } 1... e5 { [%clk 0:10:00] } 2. Qh5 Nc6 3. Bc4 Nf6?? 4. Qxf7#"
    return f"{text}\n{body} {result}\n\n"


GAMES = [
    game(),                                                    # 0 kept (mate, clock comments)
    game(white_elo="1400"),                                    # 1 Elo above cap
    game(black_elo="1301"),                                    # 2 Elo above cap (black)
    game(white_elo="1300", black_elo="1300", result="1/2-1/2",
         moves="1. d4 (1. e4 e5) 1... d5 $1 2. c4!? e6"),       # 3 kept: at the cap, variation + NAGs
    game(result="*", moves="1. e4 e5"),                        # 4 unfinished
    game(moves="1. e4 e5 2. Ke3 Nc6"),                         # 5 illegal move
    game(moves="1. e4 e5 2. Zz9 Nc6"),                         # 6 unparsable move
    game(white_elo=None),                                      # 7 missing Elo
    game(black_elo="?"),                                       # 8 invalid Elo
    game(tc="60+0"),                                           # 9 bullet: time-control filter
    game(tc="-"),                                              # 10 correspondence: filter
    game(result="0-1", moves=""),                              # 11 no moves
    game(extra='[Variant "Chess960"]\n'),                      # 12 variant
    game(white_elo="900", black_elo="950", result="0-1", tc="900+10",
         moves="1. f3 e5 2. g4 Qh4#"),                         # 13 kept
    game(result="1-0", extra='[FEN "8/8/8/4k3/8/8/4K3/R7 w - - 0 1"]\n[SetUp "1"]\n',
         moves="1. Ra5+ Kd4"),                                 # 14 custom start position
]
EXPECTED = {"read": 15, "kept": 3, "skipped_unfinished": 1, "skipped_malformed": 6, "skipped_elo": 2,
            "skipped_time_control": 2, "skipped_empty": 1, "skipped_truncated": 0}


@pytest.fixture()
def pgn(tmp_path: Path) -> Path:
    p = tmp_path / "lichess.pgn"
    p.write_text("".join(GAMES))
    return p


def test_counts_exact(pgn: Path):
    games, counts = read_lichess(pgn, max_elo=1300, time_controls=["300..900"])
    kept = list(games)
    assert counts == EXPECTED
    assert sum(counts[k] for k in COUNT_KEYS if k.startswith("skipped")) + counts["kept"] == counts["read"]
    assert [g.id for g in kept] == [0, 1, 2]
    a, b, c = kept
    assert a.uci == "e2e4 e7e5 d1h5 b8c6 f1c4 g8f6 h5f7" and a.result == "1-0"
    assert (a.white, a.black, a.white_elo, a.black_elo, a.time_control, a.termination) == \
           ("alice", "bob", 1200, 1100, "600+0", "Normal")
    assert b.uci == "d2d4 d7d5 c2c4 e7e6" and b.result == "1/2-1/2"  # side line dropped
    assert c.uci == "f2f3 e7e5 g2g4 d8h4" and c.replay().is_checkmate()


def test_no_filters(pgn: Path):
    games, counts = read_lichess(pgn)
    assert len(list(games)) == 9
    # without an Elo cap the Elo headers are optional: games 7 and 8 are kept, as are 1, 2, 9, 10
    assert counts == {"read": 15, "kept": 9, "skipped_unfinished": 1, "skipped_malformed": 4,
                      "skipped_elo": 0, "skipped_time_control": 0, "skipped_empty": 1,
                      "skipped_truncated": 0}


def test_limit_counts_kept_games(pgn: Path):
    games, counts = read_lichess(pgn, max_elo=1300, limit=2)
    assert len(list(games)) == 2 and counts["kept"] == 2 and counts["read"] == 4


def test_zstd_stream(pgn: Path, tmp_path: Path):
    zst = tmp_path / "lichess.pgn.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(pgn.read_bytes()))
    plain = list(read_lichess(pgn, max_elo=1300, time_controls=["300..900"])[0])
    games, counts = read_lichess(zst, max_elo=1300, time_controls=["300..900"])
    assert list(games) == plain and counts == EXPECTED


def test_time_control_filter():
    keep = time_control_filter(["180+2", "600..900"])
    assert keep("180+2") and keep("600+0") and keep("900+10")
    assert not keep("180+0") and not keep("901+0") and not keep("-") and not keep(None)
    assert time_control_filter(["..60"])("60+1") and time_control_filter(["-"])("-")
    assert time_control_filter(None) is None
    with pytest.raises(ValueError, match="range"):
        time_control_filter(["a..b"])


def test_convert_writes_shards_and_manifest(pgn: Path, tmp_path: Path):
    out = tmp_path / "out"
    m = convert_lichess(pgn, out, max_elo=1300, time_controls=["300..900"], shard_size=2,
                        progress=False)
    assert m["counts"] == EXPECTED and m["n_games"] == 3 and m["n_shards"] == 2
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.jsonl", "shard-00001.jsonl"]
    assert json.loads((out / "manifest.json").read_text())["counts"] == EXPECTED
    assert list(iter_games(out)) == list(read_lichess(pgn, 1300, ["300..900"])[0])
    assert (out / "tokens-move.npz").exists()
    # a smaller rerun into the same directory leaves no stale shard behind
    m2 = convert_lichess(pgn, out, max_elo=1300, limit=1, shard_size=2, progress=False)
    assert m2["n_games"] == 1 and len(list(out.glob("shard-*.jsonl"))) == 1


def test_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="lichess"):
        list(read_lichess(tmp_path / "nope.pgn")[0])
