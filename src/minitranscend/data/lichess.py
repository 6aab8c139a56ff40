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
                + skipped_time_control + skipped_empty + skipped_truncated

A game whose movetext does not end with its result token (``1-0``, ``0-1``, ``1/2-1/2``, ``*``)
was cut short — a ``.pgn`` cut mid-game ends that way — and is counted in ``skipped_truncated``,
never kept as a finished game. A compressed input must end cleanly: a ``.pgn.zst`` cut
mid-stream raises :class:`TruncatedInputError` (reading on would keep a fraction of the dump
and call it complete). The compression is read from the file's first bytes (zstandard, gzip,
bzip2 or plain text), not from its extension, so a misnamed or upper-case ``.PGN.ZST`` file is
read correctly; binary data that is none of these is refused.

Malformed means: no/invalid ``Result``; a non-standard variant or a ``FEN`` start position; an
illegal or unparsable move (python-chess reported errors); missing or non-numeric Elo headers
*when filtering by Elo* (without ``max_elo`` the Elo fields are just recorded when present).
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import chess
import chess.pgn
from tqdm.auto import tqdm

from .. import __version__
from ..store import atomic_write_json, file_digest
from ..tokenizers import MoveTokenizer, tokenize_dataset
from .records import MANIFEST, RESULTS, GameRecord, fingerprint, shard_paths, write_jsonl_shard

COUNT_KEYS = ("read", "kept", "skipped_unfinished", "skipped_malformed", "skipped_elo",
              "skipped_time_control", "skipped_empty", "skipped_truncated")
ZSTD_MAGIC, GZIP_MAGIC, BZIP2_MAGIC = b"\x28\xb5\x2f\xfd", b"\x1f\x8b", b"BZh"


class TruncatedInputError(ValueError):
    """A compressed input that stops in the middle of its stream: the file was cut short."""


class _ZstdFrames(io.RawIOBase):
    """Decompresses every zstandard frame of a file and raises :class:`TruncatedInputError` if
    the file ends inside one (``zstandard``'s stream reader just stops there, silently)."""

    def __init__(self, path: Path) -> None:
        import zstandard  # optional: only .zst dumps need it

        self._zstd = zstandard
        self._path = path
        self._fh = open(path, "rb")
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._fed = False  # the current frame has received input
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            chunk = self._fh.read(1 << 20)
            if not chunk:
                if self._fed and not self._dobj.eof:
                    raise TruncatedInputError(
                        f"{self._path} ends in the middle of a zstandard frame: the file is cut "
                        "short (an interrupted download or copy) — download it again; the games "
                        "read so far are not a complete dataset")
                return 0
            while chunk:
                try:
                    self._buf += self._dobj.decompress(chunk)
                except self._zstd.ZstdError as e:
                    raise TruncatedInputError(f"{self._path} is damaged zstandard data ({e}) — "
                                              "download it again") from None
                self._fed = True
                chunk = b""
                if self._dobj.eof:  # a frame ended; the next one (if any) starts fresh
                    chunk = self._dobj.unused_data
                    self._dobj = self._zstd.ZstdDecompressor().decompressobj()
                    self._fed = False
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def open_pgn(path: str | os.PathLike) -> io.TextIOBase:
    """A text stream over a PGN file, plain or compressed (zstandard, gzip, bzip2: recognised by
    their first bytes, whatever the extension), never loaded whole. A zstandard file cut
    mid-stream raises :class:`TruncatedInputError` when the reader reaches the cut."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no PGN file at {path}; Lichess dumps are at https://database.lichess.org/")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    binary = None
    if head.startswith(ZSTD_MAGIC):
        binary = io.BufferedReader(_ZstdFrames(path), buffer_size=1 << 20)
    elif head.startswith(GZIP_MAGIC):
        binary = gzip.open(path, "rb")
    elif head.startswith(BZIP2_MAGIC):
        binary = bz2.open(path, "rb")
    elif b"\x00" in head:
        raise ValueError(f"{path} is binary data, not PGN text or zstandard/gzip/bzip2-compressed "
                         "PGN — check the file (Lichess dumps are .pgn.zst)")
    elif path.name.lower().endswith((".zst", ".gz", ".bz2")):
        print(f"note: {path} is plain text despite its extension; reading it as PGN",
              file=sys.stderr)
    if binary is None:
        return open(path, encoding="utf-8", errors="replace")
    return io.TextIOWrapper(binary, encoding="utf-8", errors="replace")


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
        if not (base.isascii() and base.isdigit()):
            return False
        return any(lo <= int(base) <= hi for lo, hi in ranges)

    return keep


def _elo(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    # ASCII only: str.isdigit() accepts digits int() refuses ("²"), which aborted a conversion
    return int(value) if value.isascii() and value.isdigit() else None


class _FilterVisitor(chess.pgn.BaseVisitor):
    """Collects headers, rejects on them (skipping the movetext), else collects UCI moves."""

    def __init__(self, decide: Callable[[dict[str, str]], str | None]) -> None:
        self.decide = decide

    def begin_game(self) -> None:
        self.headers: dict[str, str] = {}
        self.moves: list[str] = []
        self.errors: list[Exception] = []
        self.reject: str | None = None
        self.ended = False  # the movetext's result token was read: the game is not cut short

    def visit_header(self, tagname: str, tagvalue: str) -> None:
        self.headers[tagname] = tagvalue

    def end_headers(self):
        self.reject = self.decide(self.headers)
        return chess.pgn.SKIP if self.reject else None

    def begin_variation(self):
        return chess.pgn.SKIP

    def visit_move(self, board: chess.Board, move: chess.Move) -> None:
        self.moves.append(move.uci())

    def visit_result(self, result: str) -> None:
        self.ended = True

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
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be a number of games >= 1 (or none), got {limit!r}")
    if max_elo is not None and max_elo < 0:
        raise ValueError(f"max_elo must be >= 0, got {max_elo!r}")
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
        headed = 0  # games with PGN headers: none at all means this is not a PGN file
        bar = tqdm(desc="read lichess", unit="game", disable=not progress)
        with open_pgn(path) as fh:
            try:
                while limit is None or counts["kept"] < limit:
                    v = chess.pgn.read_game(fh, Visitor=lambda: _FilterVisitor(decide))
                    if v is None:
                        break
                    counts["read"] += 1
                    headed += bool(v.headers)
                    bar.update(1)
                    reason = v.reject or ("skipped_malformed" if v.errors else None) \
                        or ("skipped_truncated" if not v.ended else None) \
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
        if headed == 0:
            raise ValueError(f"{path} holds no PGN games (is it the right file?) — a Lichess "
                             "dump is a .pgn or .pgn.zst from https://database.lichess.org/")

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
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    games, counts = read_lichess(in_path, max_elo, time_controls, limit, progress=progress)
    src = Path(in_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Keyed on the input's content, not its path: a replaced file (same name, other games)
    # must be converted again. sha256 reads the whole file once, cheaper than converting it.
    st = src.stat()
    args = {"source": str(src.resolve()), "source_size": st.st_size, "source_mtime_ns": st.st_mtime_ns,
            "source_sha256": file_digest(src), "max_elo": max_elo,
            "time_controls": list(time_controls) if time_controls else None,
            "limit": limit, "shard_size": shard_size}
    mpath = out / MANIFEST
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except ValueError:
            old = {}  # not ours to trust (manifests are written atomically): convert again
        if old.get("complete") and old.get("args") == args and old.get("fingerprint") == fingerprint(out):
            return old
    # Before any shard changes: the folder is unfinished until the final manifest says otherwise,
    # so a conversion killed halfway never leaves an old "complete" manifest over new shards.
    atomic_write_json(mpath, {"kind": "lichess", "args": args, "complete": False}, indent=2,
                      allow_nan=False)
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
    if tokenize:
        tokenize_dataset(out, MoveTokenizer(), progress=False)
    manifest = {"kind": "lichess", "args": args, "counts": counts, "n_games": counts["kept"],
                "n_plies": n_plies, "n_shards": k, "minitranscend": __version__,
                "python_chess": chess.__version__, "fingerprint": fingerprint(out), "complete": True}
    atomic_write_json(mpath, manifest, indent=2, allow_nan=False)  # last: the folder is complete
    return manifest
