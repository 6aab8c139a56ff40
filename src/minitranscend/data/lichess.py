"""Read Lichess PGN dumps (``.pgn`` or ``.pgn.zst``) with the paper's filter, streaming.

The paper keeps a game only if ``max(WhiteElo, BlackElo) <= cap`` — so the *best* player in the
training set is rated exactly at the cap, and "beating the cap" means beating every expert — and
drops unfinished games (result ``*``). Everything else is optional here: a time-control filter
and a limit.

Games are filtered on their headers first and only the kept ones have their moves parsed (a
python-chess visitor that skips the movetext of rejected games), because SAN parsing is the
expensive part and most games of a dump fail the rating filter. Every game read is counted
exactly once, in ``kept`` or in one ``skipped_*`` reason::

    read = kept + skipped_unfinished + skipped_malformed + skipped_elo
                + skipped_time_control + skipped_empty

Malformed means: no/invalid ``Result``; a non-standard variant or a ``FEN`` start position; an
illegal or unparsable move (python-chess reported errors); missing or non-numeric Elo headers
*when filtering by Elo* (without ``max_elo`` the Elo fields are just recorded when present).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import chess
import chess.pgn
from tqdm.auto import tqdm

from .. import __version__
from ..store import atomic_write_json
from ..tokenizers import MoveTokenizer, tokenize_dataset
from .records import RESULTS, GameRecord, fingerprint, shard_paths, write_jsonl_shard

COUNT_KEYS = ("read", "kept", "skipped_unfinished", "skipped_malformed", "skipped_elo",
              "skipped_time_control", "skipped_empty")


def open_pgn(path: str | os.PathLike) -> io.TextIOBase:
    """A text stream over a ``.pgn`` or zstandard-compressed ``.pgn.zst`` file (never loaded whole)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no PGN file at {path}; Lichess dumps are at https://database.lichess.org/")
    if path.suffix == ".zst":
        import zstandard  # optional: only .zst dumps need it

        raw = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.TextIOWrapper(io.BufferedReader(reader), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def time_control_filter(specs: Iterable[str] | None) -> Callable[[str | None], bool] | None:
    """A predicate on the ``TimeControl`` header from specs, any of which may match:

    * an exact header value: ``"600+0"``, ``"180+2"``, ``"-"`` (correspondence);
    * a range of base seconds, inclusive, either end optional: ``"300..900"``, ``"..179"``, ``"480.."``.
    """
    if specs is None:
        return None
    specs = [s.strip() for s in specs]
    if not specs:
        return None
    exact: set[str] = set()
    ranges: list[tuple[float, float]] = []
    for s in specs:
        if ".." in s:
            lo, hi = s.split("..", 1)
            try:
                ranges.append((float(lo) if lo else float("-inf"), float(hi) if hi else float("inf")))
            except ValueError:
                raise ValueError(f"bad time-control range {s!r}; write e.g. '300..900' (base seconds)") from None
        else:
            exact.add(s)

    def keep(tc: str | None) -> bool:
        if tc is None:
            return False
        if tc in exact:
            return True
        base = tc.split("+", 1)[0]
        if not base.isdigit():
            return False
        return any(lo <= int(base) <= hi for lo, hi in ranges)

    return keep


def _elo(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


class _FilterVisitor(chess.pgn.BaseVisitor):
    """Collects headers, rejects on them (skipping the movetext), else collects UCI moves."""

    def __init__(self, decide: Callable[[dict[str, str]], str | None]) -> None:
        self.decide = decide

    def begin_game(self) -> None:
        self.headers: dict[str, str] = {}
        self.moves: list[str] = []
        self.errors: list[Exception] = []
        self.reject: str | None = None

    def visit_header(self, tagname: str, tagvalue: str) -> None:
        self.headers[tagname] = tagvalue

    def end_headers(self):
        self.reject = self.decide(self.headers)
        return chess.pgn.SKIP if self.reject else None

    def begin_variation(self):
        return chess.pgn.SKIP

    def visit_move(self, board: chess.Board, move: chess.Move) -> None:
        self.moves.append(move.uci())

    def handle_error(self, error: Exception) -> None:
        self.errors.append(error)

    def result(self) -> "_FilterVisitor":
        return self


def read_lichess(path: str | os.PathLike, max_elo: int | None = None,
                 time_controls: Iterable[str] | None = None, limit: int | None = None,
                 progress: bool = False) -> tuple[Iterator[GameRecord], dict[str, int]]:
    """Stream the games of a Lichess PGN (or ``.pgn.zst``) that pass the filter.

    Returns ``(games, counts)``: ``games`` is a generator of :class:`GameRecord` (ids 0, 1, ...
    in file order of the kept games); ``counts`` is a dict that the generator fills as it runs
    (final once the generator is exhausted). ``limit`` stops after that many *kept* games.

    Used in chapter 2.
    """
    keep_tc = time_control_filter(time_controls)
    counts = dict.fromkeys(COUNT_KEYS, 0)

    def decide(h: dict[str, str]) -> str | None:
        result = h.get("Result")
        if result == "*":
            return "skipped_unfinished"
        if result not in RESULTS:
            return "skipped_malformed"
        if h.get("Variant", "Standard").lower() not in ("standard", "chess") or "FEN" in h:
            return "skipped_malformed"
        if max_elo is not None:
            we, be = _elo(h.get("WhiteElo")), _elo(h.get("BlackElo"))
            if we is None or be is None:
                return "skipped_malformed"
            if max(we, be) > max_elo:
                return "skipped_elo"
        if keep_tc is not None and not keep_tc(h.get("TimeControl")):
            return "skipped_time_control"
        return None

    def games() -> Iterator[GameRecord]:
        bar = tqdm(desc="read lichess", unit="game", disable=not progress)
        with open_pgn(path) as fh:
            try:
                while limit is None or counts["kept"] < limit:
                    v = chess.pgn.read_game(fh, Visitor=lambda: _FilterVisitor(decide))
                    if v is None:
                        break
                    counts["read"] += 1
                    bar.update(1)
                    reason = v.reject or ("skipped_malformed" if v.errors else None) \
                        or ("skipped_empty" if not v.moves else None)
                    if reason:
                        counts[reason] += 1
                        continue
                    h = v.headers
                    record = GameRecord(
                        id=counts["kept"], white=h.get("White", "?"), black=h.get("Black", "?"),
                        result=h["Result"], termination=h.get("Termination", "unknown"),
                        uci=" ".join(v.moves), white_elo=_elo(h.get("WhiteElo")),
                        black_elo=_elo(h.get("BlackElo")), time_control=h.get("TimeControl"))
                    counts["kept"] += 1
                    yield record
            finally:
                bar.close()

    return games(), counts


def convert_lichess(in_path: str | os.PathLike, out_dir: str | os.PathLike,
                    max_elo: int | None = None, time_controls: Iterable[str] | None = None,
                    limit: int | None = None, shard_size: int = 10_000, progress: bool = True,
                    tokenize: bool = True) -> dict[str, Any]:
    """Filter a Lichess dump into the sharded JSONL format of :mod:`.records`; return the manifest.

    A conversion that finished with the same arguments is not redone. An interrupted one is
    redone from the start (reading is sequential; shards are written atomically, so the
    directory never holds half a shard).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    args = {"source": str(Path(in_path).resolve()), "max_elo": max_elo,
            "time_controls": list(time_controls) if time_controls else None,
            "limit": limit, "shard_size": shard_size}
    mpath = out / "manifest.json"
    if mpath.exists():
        old = json.loads(mpath.read_text())
        if old.get("complete") and old.get("args") == args and old.get("fingerprint") == fingerprint(out):
            return old
    games, counts = read_lichess(in_path, max_elo, time_controls, limit, progress=progress)
    k, buf, n_plies = 0, [], 0
    for g in games:
        buf.append(g)
        n_plies += g.n_plies
        if len(buf) == shard_size:
            write_jsonl_shard(out / f"shard-{k:05d}.jsonl", buf)
            k, buf = k + 1, []
    if buf or k == 0:
        write_jsonl_shard(out / f"shard-{k:05d}.jsonl", buf)
        k += 1
    for p in shard_paths(out):  # shards of an earlier, larger conversion into the same directory
        if int(p.stem.split("-")[1]) >= k:
            p.unlink()
    manifest = {"kind": "lichess", "args": args, "counts": counts, "n_games": counts["kept"],
                "n_plies": n_plies, "n_shards": k, "minitranscend": __version__,
                "python_chess": chess.__version__, "fingerprint": fingerprint(out), "complete": True}
    atomic_write_json(mpath, manifest, indent=2)
    if tokenize:
        tokenize_dataset(out, MoveTokenizer(), progress=False)
    return manifest
