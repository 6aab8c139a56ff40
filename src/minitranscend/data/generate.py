"""Expert self-play: many Stockfish-backed experts play each other, games go to sharded files.

Why it is built this way:

* **Every game is a pure function of (seed, game id).** :func:`game_plan` derives the pairing
  (two different experts, random colours) and the two experts' per-game seeds from a string
  seed; each expert starts the game with ``new_game(seed)`` (a fresh random stream and
  ``ucinewgame``, so Stockfish's hash is cleared and a 1-thread node-limited search repeats
  exactly). The output therefore does not depend on the number of workers or on which worker
  played which game, and a resumed run reproduces the games a killed run would have written.
* **Fixed shards, written atomically.** Shard k holds game ids ``[k*S, (k+1)*S)``. The main
  process collects a shard's games from the workers and writes ``shard-k.pgn`` then
  ``shard-k.jsonl`` to ``*.tmp`` files renamed when complete. A killed run loses at most the
  shards in flight; a rerun of the same command skips complete shards, so nothing is
  duplicated or lost.
* **Game end.** The referee (:func:`minitranscend.referee.play_game`) plays every game by
  :func:`~minitranscend.referee.selfplay_rules`: the rules of chess, plus — as Lichess and most
  servers do — a draw as soon as a position occurs for the third time (``threefold
  repetition``) or 50 moves pass without a capture or pawn move (``fifty moves``), not when a
  draw *could* be claimed with the next move (which ends games one move earlier than they are
  actually drawn). Games reaching ``max_plies`` are scored ``1/2-1/2`` with termination
  ``ply cap``.
* **Engine restarts are recorded.** A Stockfish process that dies mid-run is restarted and the
  move retried (:class:`minitranscend.engine.Engine`), so the run finishes and loses no game. But
  the new process starts with an empty hash and may play that game on differently from an
  undisturbed run: such a game is not reproducible from the seed, and the dataset's fingerprint
  differs from an undisturbed run's. So the game's record carries ``engine_restarts`` (its PGN an
  ``EngineRestarts`` header) and the manifest counts them (``engine_restarts``,
  ``games_with_engine_restarts``). Games without a restart keep their exact bytes; to get the
  reproducible dataset back, delete the shards holding the listed games and rerun the command.
* **Memory.** Each worker process holds one Stockfish process per expert (4 for the default
  panel), each ~136 MB resident with the 16 MB hash the experts use (~0.6 GB per worker with
  the worker itself). The default number of workers is therefore the smaller of the usable cores
  and what the available memory holds (:func:`default_workers`), not one per core.
"""
from __future__ import annotations

import json
import multiprocessing.util
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import chess
from tqdm.auto import tqdm

from .. import __version__
from ..engine import EngineSettings, engine_memory_mb, engine_restarts, stockfish_version
from ..players import Expert, ExpertConfig
from ..referee import GameResult, GameRules, play_game, selfplay_rules
from ..store import atomic_write_json, atomic_write_text
from ..tokenizers import MoveTokenizer, tokenize_dataset, tokens_path
from ..workers import WORKER_PROCESS_MB, completed, sized_workers, worker_pool, worker_state
from .records import GameRecord, count_lines, fingerprint, iter_games, read_manifest

DEFAULT_SHARD_SIZE = 100
PGN_DATE = "????.??.??"  # fixed (unknown) date: identical runs give identical bytes
EVENT = "minitranscend expert self-play"
MANIFEST = "manifest.json"


def load_experts(path: str | os.PathLike) -> list[ExpertConfig]:
    """Experts from a JSON file: a list of ExpertConfig fields, e.g.
    ``[{"name": "e1", "nodes": 100, "eps": 0.2, "blind_spot": "N"}, ...]``."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}: expected a non-empty JSON list of expert settings")
    experts = []
    for i, d in enumerate(raw):
        try:
            experts.append(ExpertConfig(**d))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: expert {i + 1} ({d!r}): {e}; allowed fields: "
                             f"{list(ExpertConfig.__dataclass_fields__)}") from None
    return experts


def game_plan(seed: int, game_id: int, n_experts: int) -> tuple[int, int, int, int]:
    """``(white, black, white_seed, black_seed)`` for one game: expert indices and per-game seeds.

    A string seed goes through sha512 inside :class:`random.Random`, so the plan is the same in
    every process and Python version. With one expert it plays itself.
    """
    rng = random.Random(f"minitranscend-game:{seed}:{game_id}")
    white = rng.randrange(n_experts)
    black = white
    if n_experts > 1:
        black = rng.randrange(n_experts - 1)
        black += black >= white
    return white, black, rng.getrandbits(62), rng.getrandbits(62)


def play_selfplay_game(game_id: int, experts: Sequence[Expert], seed: int, max_plies: int,
              engine_version: str) -> tuple[GameRecord, str]:
    """Play game ``game_id`` (pairing and seeds from :func:`game_plan`) by the referee's
    self-play rules; return its record and its PGN text."""
    w, b, w_seed, b_seed = game_plan(seed, game_id, len(experts))
    white, black = experts[w], experts[b]
    restarts_before = engine_restarts(white, black)
    restarts: list[int] = []

    def headers(g: GameResult, white: Expert, black: Expert, rules: GameRules) -> dict[str, str]:
        h = {"Event": EVENT, "Site": "minitranscend", "Date": PGN_DATE, "Round": str(game_id),
             "White": g.white, "Black": g.black, "Result": g.result,
             "Termination": g.termination, "PlyCount": str(g.plies),
             "WhiteSettings": white.config.header(), "BlackSettings": black.config.header(),
             "Engine": engine_version}
        restarts.append(engine_restarts(white, black) - restarts_before)  # the game is over
        if restarts[0]:  # only then: an undisturbed game keeps its exact bytes
            h["EngineRestarts"] = str(restarts[0])
        return h

    g = play_game(white, black, selfplay_rules(max_plies), seeds=(w_seed, b_seed),
                          pgn_headers=headers)
    record = GameRecord(id=game_id, white=g.white, black=g.black, result=g.result,
                        termination=g.termination, uci=" ".join(g.moves),
                        engine_restarts=restarts[0])
    return record, g.pgn


# -- worker processes ----------------------------------------------------------------------------
def _init_worker(configs: list[ExpertConfig], seed: int, max_plies: int, engine_path: str | None,
                 engine_version: str) -> None:
    experts = [Expert(c, engine_path=engine_path) for c in configs]
    worker_state("generate").update(experts=experts, seed=seed, max_plies=max_plies,
                                    engine_version=engine_version)
    # Close the engines when the worker exits normally (multiprocessing runs these finalizers;
    # a terminated worker's Stockfish processes exit on their own when their stdin closes).
    multiprocessing.util.Finalize(None, _close_worker, exitpriority=10)


def _close_worker() -> None:
    w = worker_state("generate")
    for e in w.get("experts", []):
        e.close()
    w.clear()


def _worker_play(game_id: int) -> tuple[int, str, str]:
    w = worker_state("generate")
    record, pgn = play_selfplay_game(game_id, w["experts"], w["seed"], w["max_plies"],
                                     w["engine_version"])
    return game_id, record.to_json(), pgn


# -- the driver ----------------------------------------------------------------------------------
def shard_name(k: int) -> str:
    return f"shard-{k:05d}"


def _shard_ranges(n_games: int, shard_size: int) -> list[range]:
    return [range(s, min(s + shard_size, n_games)) for s in range(0, n_games, shard_size)]


def _identity(experts: Sequence[ExpertConfig], seed: int, max_plies: int, shard_size: int,
              engine_version: str) -> dict[str, Any]:
    """What determines the games: a directory may only be resumed/extended with the same values."""
    return {"seed": seed, "max_plies": max_plies, "shard_size": shard_size,
            "experts": [asdict(c) for c in experts], "stockfish": engine_version}


def _check_resumable(out: Path, ident: dict[str, Any]) -> None:
    path = out / MANIFEST
    if not path.exists():
        return
    old = json.loads(path.read_text())
    old_ident = {k: old.get(k) for k in ident}
    if old_ident != ident:
        diff = {k: (old_ident[k], ident[k]) for k in ident if old_ident[k] != ident[k]}
        raise ValueError(
            f"{out} already holds games generated with different settings {diff} (old, new). "
            "Resuming would mix two datasets: choose another --out, or delete that directory.")


def _write_manifest(out: Path, ident: dict[str, Any], n_games: int, complete: bool,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    manifest = {"kind": "expert self-play", **ident, "n_games_requested": n_games,
                "minitranscend": __version__, "python_chess": chess.__version__,
                "draw_rules": "outcome(claim_draw=False) + automatic threefold repetition "
                              "and fifty-move draws; ply cap scored 1/2-1/2",
                "complete": complete, **(extra or {})}
    atomic_write_json(out / MANIFEST, manifest, indent=2, allow_nan=False)
    return manifest


def generate_games(out_dir: str | os.PathLike, experts: Sequence[ExpertConfig], n_games: int,
                   seed: int = 0, workers: int | None = None, max_plies: int = 250,
                   shard_size: int = DEFAULT_SHARD_SIZE, engine_path: str | None = None,
                   progress: bool = True, tokenize: bool = True) -> dict[str, Any]:
    """Generate (or finish) ``n_games`` expert games in ``out_dir``; return the manifest.

    Rerunning the same call after an interruption finishes the missing shards only; rerunning
    with a larger ``n_games`` extends the dataset with the same games an uninterrupted larger run
    would have produced. At the end the move-level tokens are written (``tokens-move.npz``).

    ``workers``: processes, each with one Stockfish process per expert (hash 16 MB, ~136 MB
    resident each: ~0.6 GB per worker for 4 experts). None: :func:`default_workers`, the
    smaller of the usable cores and the number of workers the available memory holds. A game
    during which an engine was restarted is recorded as such (module docstring).
    """
    if n_games < 1:
        raise ValueError(f"n_games must be >= 1, got {n_games}")
    if max_plies < 1:
        raise ValueError(f"max_plies must be >= 1 (a game where nobody moves is no game), got {max_plies}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    if not experts:
        raise ValueError("need at least one expert")
    if len({c.name for c in experts}) != len(experts):
        raise ValueError(f"expert names must be unique: {[c.name for c in experts]}")
    experts = list(experts)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    engine_version = stockfish_version(engine_path)
    ident = _identity(experts, seed, max_plies, shard_size, engine_version)
    _check_resumable(out, ident)
    for stale in out.glob("shard-*.tmp"):
        stale.unlink()  # a shard that was being written when the last run died

    shards = _shard_ranges(n_games, shard_size)
    extra = sorted(p for p in out.glob("shard-*.jsonl") if int(p.stem.split("-")[1]) >= len(shards))
    if extra:
        raise ValueError(f"{out} holds more shards than {n_games} games need ({extra[0].name}...): "
                         "ask for at least as many games as it holds, or use another --out.")
    todo: dict[int, range] = {}
    for k, r in enumerate(shards):
        jl, pg = out / f"{shard_name(k)}.jsonl", out / f"{shard_name(k)}.pgn"
        if not (jl.exists() and pg.exists() and count_lines(jl) == len(r)):
            todo[k] = r
    n_done = n_games - sum(len(r) for r in todo.values())
    if not todo:
        done = read_manifest(out)
        if (done is not None and done.get("complete") and done.get("n_games") == n_games
                and (not tokenize or tokens_path(out, "move").exists())):
            # finished: touch nothing, so that any number of processes may ask at once (a
            # rewrite marks the dataset unfinished for a moment, and a trainer reading it then
            # refuses it)
            return done
    _write_manifest(out, ident, n_games, complete=False, extra={"n_games": n_done})

    pending: dict[int, dict[int, tuple[str, str]]] = {k: {} for k in todo}
    shard_of = {g: k for k, r in todo.items() for g in r}
    ids = [g for r in todo.values() for g in r]
    if workers is None:
        workers = default_workers(len(experts))
    workers = max(1, min(workers, len(ids) or 1))
    bar = tqdm(total=n_games, initial=n_done, unit="game", desc="generate", disable=not progress)
    plies, t0 = 0, time.perf_counter()

    def collect(game_id: int, record_json: str, pgn: str) -> None:
        nonlocal plies
        k = shard_of[game_id]
        pending[k][game_id] = (record_json, pgn)
        rec = json.loads(record_json)
        plies += len(rec["uci"].split())
        if rec.get("engine_restarts"):
            bar.write(f"note: game {game_id}: {rec['engine_restarts']} Stockfish process(es) died "
                      "and were restarted during it; the game is complete but not reproducible "
                      "from the seed (recorded as engine_restarts in its record and the manifest)",
                      file=sys.stderr)
        bar.update(1)
        bar.set_postfix(plies_s=f"{plies / (time.perf_counter() - t0):.0f}", refresh=False)
        if len(pending[k]) == len(todo[k]):
            _write_shard(out, k, [pending[k][g] for g in todo[k]])
            del pending[k]

    try:
        if ids and workers == 1:
            _init_worker(experts, seed, max_plies, engine_path, engine_version)
            try:
                for g in ids:
                    collect(*_worker_play(g))
            finally:
                _close_worker()
        elif ids:
            with worker_pool(workers, _init_worker,
                             (experts, seed, max_plies, engine_path, engine_version)) as pool:
                for res in completed(pool.submit(_worker_play, g) for g in ids):
                    collect(*res)
    finally:
        bar.close()

    records_plies, restarted = _count_plies_and_restarts(out)
    if tokenize:
        tokenize_dataset(out, MoveTokenizer(), progress=False)
    # Last: "complete" is written only when everything else is on disk.
    return _write_manifest(out, ident, n_games, complete=True, extra={
        "n_games": n_games, "n_plies": records_plies, "n_shards": len(shards),
        "fingerprint": fingerprint(out),
        # provenance: games played on by a restarted engine (not reproducible from the seed)
        "engine_restarts": sum(restarted.values()),
        "games_with_engine_restarts": sorted(restarted)})


def _write_shard(out: Path, k: int, games: list[tuple[str, str]]) -> None:
    name = shard_name(k)
    atomic_write_text(out / f"{name}.pgn", "\n\n".join(pgn for _, pgn in games) + "\n\n")
    # JSONL last: its presence with the right line count is what marks the shard complete.
    atomic_write_text(out / f"{name}.jsonl", "".join(rec + "\n" for rec, _ in games))


def _count_plies_and_restarts(out: Path) -> tuple[int, dict[int, int]]:
    """The dataset's plies, and ``{game id: engine restarts}`` of its games that had any."""
    plies, restarted = 0, {}
    for g in iter_games(out):
        plies += g.n_plies
        if g.engine_restarts:
            restarted[g.id] = g.engine_restarts
    return plies, restarted


def worker_memory_mb(n_experts: int, hash_mb: int = EngineSettings.hash_mb) -> int:
    """Resident memory of one generation worker: one Stockfish process per expert
    (:func:`~minitranscend.engine.engine_memory_mb`) plus the Python process."""
    return n_experts * engine_memory_mb(hash_mb) + WORKER_PROCESS_MB


def default_workers(n_experts: int, cpus: int | None = None,
                    available_mb: int | None = None) -> int:
    """Workers for a generation run when none are asked for: one per usable core, but no more
    than the available memory holds at :func:`worker_memory_mb` each (4 experts: ~0.6 GB per
    worker, so a 64-core machine with 8 GB free gets 12, not 64)."""
    return sized_workers(worker_memory_mb(n_experts), cpus=cpus, available_mb=available_mb)
