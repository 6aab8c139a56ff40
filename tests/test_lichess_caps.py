"""Chapter 10's Lichess section and its settings: real games at the paper's caps, the diversity
per cap, the monthly download (transport replaced), and the full profile's checkpoint path."""
from __future__ import annotations

import io
import math
from dataclasses import replace
from pathlib import Path

import pytest
import zstandard

from minitranscend.data.lichess import TruncatedInputError
from minitranscend.data.records import iter_games
from minitranscend.paper import (LICHESS_SAMPLE, PAPER_DIVERSITY, PAPER_FIGURE1, PaperCheckpointError,
                                 cap_diversity, download_lichess_month, figure1_series,
                                 lichess_month_url, load_paper_checkpoint, paper_checkpoints,
                                 rate_caps, transcends_cap, write_standin_checkpoint)
from minitranscend.settings import PaperSettings, experiment_config, paper_settings

from test_paper import LISTING, FakeHub, needs_stockfish


# -- the shipped sample ------------------------------------------------------------------------
def test_sample_is_the_shared_real_games():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "lichess"
    if not shared.is_dir():
        pytest.skip("../shared is absent (a user's clone): nothing to compare the sample with")
    text = LICHESS_SAMPLE.read_text()
    for name in ("lichess-2013-01-first4.pgn", "lichess-cc0-2012-12-extra.pgn"):
        assert (shared / name).read_text().strip() in text
    assert text.count("[Event ") == 21
    assert "crazyhouse" not in text.lower()  # standard games only
    assert "CC0" in (LICHESS_SAMPLE.parent / "README.md").read_text()


def test_diversity_per_cap_on_the_shipped_sample(tmp_path):
    rows = cap_diversity(LICHESS_SAMPLE, (1000, 1300, 1500, 1700, 2000), tmp_path, min_count=5)
    by_cap = {r["cap"]: r for r in rows}
    # max(WhiteElo, BlackElo) <= cap: the sample's strongest players are rated 1487 ... 1973
    assert [by_cap[c]["kept"] for c in (1000, 1300, 1500, 1700, 2000)] == [0, 0, 1, 12, 21]
    assert all(r["read"] == 21 and r["kept"] + r["skipped_elo"] == 21 for r in rows)
    for cap in (1000, 1300, 1500):  # too few games: no opening state seen more than 5 times
        assert math.isnan(by_cap[cap]["diversity"]) and by_cap[cap]["n_states"] == 0
        assert by_cap[cap]["paper"] == PAPER_DIVERSITY[cap]
    for cap in (1700, 2000):
        d = by_cap[cap]["diversity"]
        assert math.isfinite(d) and 0.0 <= d <= 1.0 and by_cap[cap]["n_states"] >= 1
        assert by_cap[cap]["paper"] is None
    assert by_cap[1700]["n_states"] == 2 and by_cap[2000]["n_states"] == 4
    assert by_cap[1700]["diversity"] == pytest.approx(0.4603, abs=1e-4)
    assert by_cap[2000]["diversity"] == pytest.approx(0.6547, abs=1e-4)
    # the kept games really are under the cap, and a second call reuses the conversion
    assert all(max(g.white_elo, g.black_elo) <= 1700 for g in iter_games(tmp_path / "cap-1700"))
    assert cap_diversity(LICHESS_SAMPLE, (1700,), tmp_path, min_count=5) == [by_cap[1700]]


# -- the monthly download (urllib replaced at the transport) ----------------------------------
class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_month_and_filter_it(tmp_path):
    payload = zstandard.ZstdCompressor().compress(LICHESS_SAMPLE.read_bytes())
    calls = []

    def urlopen(url, timeout=None):
        calls.append(url)
        return FakeResponse(payload)

    path = download_lichess_month("2013-01", tmp_path, urlopen=urlopen)
    assert calls == ["https://database.lichess.org/standard/lichess_db_standard_rated_2013-01.pgn.zst"]
    assert path.name == "lichess_db_standard_rated_2013-01.pgn.zst" and path.read_bytes() == payload
    assert not list(tmp_path.glob("*.part"))
    assert download_lichess_month("2013-01", tmp_path, urlopen=None) == path  # kept: no second fetch
    rows = cap_diversity(path, (1500, 2000), tmp_path / "caps", min_count=5)
    assert [r["kept"] for r in rows] == [1, 21]
    # a dump cut short is refused, not read as a smaller month
    cut = tmp_path / "cut.pgn.zst"
    cut.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(TruncatedInputError):
        cap_diversity(cut, (2000,), tmp_path / "cut", min_count=5)
    with pytest.raises(ValueError, match="2013-01"):
        lichess_month_url("2013-1")


def test_interrupted_download_leaves_no_dump(tmp_path):
    class Broken(FakeResponse):
        def read(self, *a):
            raise ConnectionResetError("connection reset")

    with pytest.raises(ConnectionResetError):
        download_lichess_month("2013-01", tmp_path, urlopen=lambda url, timeout=None: Broken(b""))
    assert not (tmp_path / "lichess_db_standard_rated_2013-01.pgn.zst").exists()


# -- the settings and the full profile's path ------------------------------------------------
def test_chapter_settings_per_profile():
    ci, full = paper_settings("ci"), paper_settings("full")
    assert experiment_config("ci").chapters.paper == ci
    assert experiment_config("full").chapters.paper == full
    assert "chapters" not in experiment_config("full").stamp()  # no experiment folder changes
    assert not ci.download and ci.lichess_month is None and ci.expect is None
    assert full.download and full.lichess_month == "2013-01" and full.expect == "chessformer-50m"
    assert full.caps == (1000, 1500) and full.levels == (1, 3, 5) and full.move_time == 0.1
    assert set(full.lichess_caps) == {1000, 1300, 1500} <= set(ci.lichess_caps)
    assert set(full.taus) <= set(PAPER_FIGURE1[1000])  # every temperature has the paper's point
    n = len(full.caps) * len(full.taus) * len(full.levels) * full.games
    assert n <= 400  # about an hour at ~8 s per game (an estimate; see the chapter)
    assert isinstance(ci, PaperSettings)


def test_full_profile_downloads_each_cap_and_guards_the_size(tmp_path):
    standin = write_standin_checkpoint(tmp_path / "standin.pt", 1000, steps=5)
    hub = FakeHub(standin)
    full = paper_settings("full")
    paths = paper_checkpoints(full, tmp_path / "unused", cache_dir=tmp_path / "hf", hub=hub)
    assert sorted(paths) == [1000, 1500]
    assert [c[2] for c in hub.calls if c[0] == "download"] == [LISTING[3], LISTING[5]]
    # the full profile insists on the released size: a stand-in is refused, clearly
    with pytest.raises(PaperCheckpointError, match=r"n_layer=2 \(expected 16\)"):
        load_paper_checkpoint(paths[1000], expect=full.expect)


def test_ci_standins_are_in_the_authors_format(tmp_path):
    ci = replace(paper_settings("ci"), standin_steps=5)
    paths = paper_checkpoints(ci, tmp_path)
    for cap, path in paths.items():
        _, _, meta = load_paper_checkpoint(path)
        assert meta["high_elo"] == cap and meta["compiled"] and meta["iter_num"] == 100_000
    mtime = paths[1000].stat().st_mtime_ns
    assert paper_checkpoints(ci, tmp_path)[1000].stat().st_mtime_ns == mtime  # reused


@needs_stockfish
@pytest.mark.slow
def test_rate_caps_and_figure_series(tmp_path):
    ci = replace(paper_settings("ci"), standin_steps=60, games=1, max_plies=16, n_boot=20)
    full_like = replace(ci, download=True)  # the full profile's names, with a fake hub
    standin = write_standin_checkpoint(tmp_path / "standin.pt", 1000, steps=60)
    paths = paper_checkpoints(full_like, tmp_path, cache_dir=tmp_path / "hf", hub=FakeHub(standin))
    results = rate_caps(paths, full_like, tmp_path / "ratings")
    assert sorted(results) == [1000, 1500]
    for cap, res in results.items():
        assert [r["tau"] for r in res["temperature"]] == list(ci.taus)
        assert (tmp_path / "ratings" / f"cap-{cap}" / "temperature.csv").is_file()
        assert res["temperature"][0]["player"].startswith(f"cf{cap}-paper-")
        v = transcends_cap(res["temperature"], cap)
        assert v["lo"] <= v["rating"] <= v["hi"] and isinstance(v["transcends"], bool)
    series, refs = figure1_series(results, full_like)
    assert set(refs) == {"cap 1000", "cap 1500"} and refs["cap 1000"]["rating"] == 1000.0
    assert "CF-1000: the paper's figure (Glicko-2)" in series
    assert series["cf1000: played here (ML, 95%)"][0].keys() >= {"tau", "rating", "lo", "hi"}
