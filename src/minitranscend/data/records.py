"""Game records: one game = one JSON line, the on-disk format every other module reads.

A record is deliberately minimal — the moves in UCI and who played them — because everything
else (SAN text, tokens, boards, statistics) is a pure function of the move list and is cheaper
to recompute than to store and keep consistent::

    {"id": 17, "white": "expert-N", "black": "expert-Q", "result": "1-0",
     "termination": "checkmate", "uci": "e2e4 e7e5 ...",
     "white_elo": 1234, "black_elo": 1180, "time_control": "600+0",   # the last four optional
     "engine_restarts": 1}

``engine_restarts`` appears only in a self-play game during which a Stockfish process died and
was restarted (:class:`minitranscend.engine.Engine` retries on a fresh process). Such a game is
still a legal, finished game, but it is no longer a pure function of the seed: the new process
starts with an empty hash, so from that move on it may play otherwise than an undisturbed run
(a rerun of the same command can give another game there, and the dataset's fingerprint
differs). Games without a restart carry no such field, so their bytes are unchanged.

A dataset is a directory of ``shard-00000.jsonl, shard-00001.jsonl, ...`` (see
:mod:`minitranscend.data.generate`), read in shard order by :func:`iter_games`.
"""
from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import chess

from ..store import atomic_write_text, file_digest

RESULTS = ("1-0", "0-1", "1/2-1/2")
SHARD_GLOB = "shard-*.jsonl"
MANIFEST = "manifest.json"


class IncompleteDatasetError(ValueError):
    """A dataset whose manifest is missing, unreadable, says ``complete: false`` or does not
    match its shards: training on it would silently use part of the games (or other games)."""


@dataclass
class GameRecord:
    """One finished game from the standard starting position."""

    id: int
    white: str
    black: str
    result: str
    termination: str
    uci: str  # space-separated UCI moves, "" for a game without moves
    white_elo: int | None = None
    black_elo: int | None = None
    time_control: str | None = None
    engine_restarts: int = 0  # Stockfish processes restarted during this game (see above)

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"game {self.id}: result must be one of {RESULTS}, got {self.result!r}")

    @property
    def uci_moves(self) -> list[str]:
        return self.uci.split()

    @property
    def moves(self) -> list[chess.Move]:
        """The moves as python-chess moves (not checked for legality; see :meth:`replay`)."""
        return [chess.Move.from_uci(u) for u in self.uci.split()]

    @property
    def n_plies(self) -> int:
        return len(self.uci.split())

    def board_after(self, n: int) -> chess.Board:
        """The board after the first ``n`` plies (0 = start), with its move stack."""
        moves = self.moves
        if not 0 <= n <= len(moves):
            raise IndexError(f"game {self.id} has {len(moves)} plies; board_after({n}) is out of range")
        board = chess.Board()
        for m in moves[:n]:
            board.push(m)
        return board

    def replay(self) -> chess.Board:
        """The final board, checking that every move is legal (ValueError naming the ply if not)."""
        board = chess.Board()
        for i, m in enumerate(self.moves):
            if not board.is_legal(m):
                raise ValueError(f"game {self.id}: ply {i + 1} move {m.uci()} is illegal in {board.fen()}")
            board.push(m)
        return board

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "white": self.white, "black": self.black,
                             "result": self.result, "termination": self.termination, "uci": self.uci}
        for k in ("white_elo", "black_elo", "time_control"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.engine_restarts:  # only then: undisturbed games keep their bytes
            d["engine_restarts"] = self.engine_restarts
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GameRecord":
        try:
            return cls(id=int(d["id"]), white=str(d["white"]), black=str(d["black"]),
                       result=d["result"], termination=str(d["termination"]), uci=d["uci"],
                       white_elo=d.get("white_elo"), black_elo=d.get("black_elo"),
                       time_control=d.get("time_control"),
                       engine_restarts=int(d.get("engine_restarts", 0)))
        except KeyError as e:
            raise ValueError(f"game record is missing the field {e.args[0]!r}: {d}") from None

    @classmethod
    def from_json(cls, line: str) -> "GameRecord":
        return cls.from_dict(json.loads(line))


def shard_paths(directory: str | os.PathLike) -> list[Path]:
    """The JSONL shards of a dataset directory, in order."""
    return [Path(p) for p in sorted(glob.glob(os.path.join(os.fspath(directory), SHARD_GLOB)))]


def iter_games(path_or_dir: str | os.PathLike) -> Iterator[GameRecord]:
    """Stream the games of one ``.jsonl`` file, or of every ``shard-*.jsonl`` in a directory in order.

    Used in chapters 2, 3, 4, 6, 7.
    """
    path = Path(path_or_dir)
    if path.is_dir():
        files = shard_paths(path)
        if not files:
            raise FileNotFoundError(
                f"{path} holds no {SHARD_GLOB} files. Create a dataset with "
                f"`minitranscend data generate --out {path}` or `minitranscend data lichess --out {path}`.")
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"no dataset at {path} (neither a directory of shards nor a .jsonl file)")
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield GameRecord.from_json(line)
                except (ValueError, json.JSONDecodeError) as e:
                    raise ValueError(f"{f}:{lineno}: bad game record ({e})") from None


def write_jsonl_shard(path: str | os.PathLike, games: Iterable[GameRecord]) -> None:
    """Write games atomically, so a reader never sees half a shard."""
    atomic_write_text(path, "".join(g.to_json() + "\n" for g in games))


def count_lines(path: str | os.PathLike) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def fingerprint(directory: str | os.PathLike) -> str:
    """sha256 over the JSONL shards' bytes, concatenated in order: equal fingerprints mean the
    same games in the same order, however they are split into shards (PGN copies, manifests
    and token files are not part of it)."""
    return file_digest(shard_paths(directory), "sha256")


def read_manifest(directory: str | os.PathLike) -> dict[str, Any] | None:
    """A dataset's ``manifest.json`` (None when it has none); an unreadable one raises
    :class:`IncompleteDatasetError` (manifests are written atomically, so it was not our run)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise IncompleteDatasetError(
            f"{path} is not readable JSON ({e}) — rerun the command that made the dataset "
            "(data generate / data lichess) into this folder, or delete the folder") from None
    if not isinstance(manifest, dict):
        raise IncompleteDatasetError(f"{path} is not a manifest (a JSON object) — rerun the "
                                     "command that made the dataset")
    return manifest


def check_dataset(directory: str | os.PathLike, allow_incomplete: bool = False,
                  require_manifest: bool = False, data_fingerprint: str | None = None
                  ) -> dict[str, Any] | None:
    """The dataset's manifest, after checking that it describes a finished dataset.

    Refuses (:class:`IncompleteDatasetError`) a manifest that says ``complete: false`` (a
    killed ``data generate`` or ``data lichess``), one whose recorded fingerprint differs from
    ``data_fingerprint`` (the shards changed after it was written) and, with
    ``require_manifest`` (the command line), a folder without one. ``allow_incomplete`` turns
    the refusals into a note on stderr. A folder of hand-written shards (tests, notebooks) has
    no manifest, which the library accepts."""
    directory = Path(directory)
    manifest = read_manifest(directory) if directory.is_dir() else None
    problem = None
    if manifest is None:
        if require_manifest and directory.is_dir():
            problem = (f"{directory} has no {MANIFEST}, so nothing says its games are all there — "
                       "make it with `minitranscend data generate` or `data lichess`, or pass "
                       "--allow-incomplete to use the shards as they are")
    elif not manifest.get("complete"):
        have, want = manifest.get("n_games"), manifest.get("n_games_requested")
        counts = f"{have} of {want} games; " if have is not None and want is not None else ""
        problem = (f"{directory} is an unfinished dataset ({counts}its manifest says complete: "
                   "false) — rerun the command that makes it to finish it, or pass "
                   "--allow-incomplete to use what is there")
    elif data_fingerprint is not None and manifest.get("fingerprint") not in (None, data_fingerprint):
        problem = (f"{directory}: its shards changed after the manifest was written (fingerprint "
                   f"{data_fingerprint[:12]}, manifest {str(manifest['fingerprint'])[:12]}) — "
                   "rerun the command that makes it, or pass --allow-incomplete")
    if problem is not None:
        if not allow_incomplete:
            raise IncompleteDatasetError(problem)
        print(f"note: using it anyway (allow_incomplete): {problem.split(' — ')[0]}",
              file=sys.stderr)
    return manifest
