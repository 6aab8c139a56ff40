"""Chess data for training: the held-out split, tokenized arrays (cached), DDP shards, batches.

Packing (the paper's): char and move tokens of all games are concatenated into one stream
(each game starts with its ``;`` / ``<bos>``) and training windows of ``block_size + 1`` tokens
start anywhere, crossing game boundaries. Board models instead see random (position, next move)
pairs.

Board models train on the legal moves only (``legal_loss``): each position's legal move ids are
stored as a packed bit mask (247 bytes) beside it, and the loss is the cross-entropy among them.
With ``canonical`` the board tokenizer encodes every position from the mover's side.

Why batches are a pure function of ``(seed, split, rank, i)``: the sampler then has no state to
save, so a run stopped at step k and resumed reproduces the uninterrupted run bit for bit (on
CPU), and DDP ranks draw different batches from their own shard of the games.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, Callable

import chess
import numpy as np
import torch

from ..data.records import fingerprint, iter_games
from ..store import atomic_write_bytes, settings_hash
from ..tokenizers import Tokenizer, get_tokenizer, tokenize_games
from .config import TrainConfig


def make_tokenizer(name: str, canonical: bool = False, history: int = 0) -> Tokenizer:
    """The tokenizer a run of ``TrainConfig(tokenizer=name, canonical=..., history=...)`` trains
    with."""
    if name != "board":
        if history:
            raise ValueError(f"history={history} needs the board tokenizer (a {name!r} model reads "
                             "the whole game already)")
        return get_tokenizer(name)
    options: dict[str, Any] = {"canonical": True} if canonical else {}
    if history:
        options["history"] = history
    return get_tokenizer(name, **options)


def is_val_game(game_id: Any, val_fraction: float) -> bool:
    """Deterministic held-out split by game id (independent of order and sharding).

    Used in chapters 4 and 6."""
    return _game_hash(game_id) < val_fraction * 1_000_000


def _game_hash(game_id: Any) -> int:
    h = int.from_bytes(hashlib.blake2b(str(game_id).encode(), digest_size=8).digest(), "little")
    return h % 1_000_000


SPLITS = ("train", "val", "test")


def game_split(game_id: Any, val_fraction: float) -> str:
    """Which part of the data a game belongs to: ``"train"``, or one of the two halves of the
    held-out games (:func:`is_val_game`): ``"val"``, the validation half (the training run's
    validation loss and best checkpoint, the experiment's choice of temperature), or ``"test"``,
    the test half, which nothing looks at before the final measurement. Decided by game id, so
    the same game lands in the same part in every run.

    Used in chapter 7."""
    h = _game_hash(game_id)
    if h >= val_fraction * 1_000_000:
        return "train"
    return "val" if h < val_fraction * 500_000 else "test"


def _board_pairs(games: list, tokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position tokens, next move id, packed legal-move mask) for every ply of every game.

    The mask row of a position has bit ``id`` set for every legal move id (``np.packbits``,
    ``ceil(n_ids / 8)`` bytes): 247 bytes instead of 1970 booleans. Ids are the tokenizer's
    (mirrored for a canonical tokenizer when black moves)."""
    n_ids = tokenizer.move_tokenizer.vocab_size
    xs: list[list[int]] = []
    ys: list[int] = []
    legal: list[np.ndarray] = []
    row = np.zeros(n_ids, dtype=bool)
    history = getattr(tokenizer, "history", 0)
    for g in games:
        board = chess.Board()
        played: list[tuple[chess.PieceType, chess.Move]] = []  # (piece type, move) of every ply
        for ply, move in enumerate(g.moves):
            recent = played[ply - 2::-2][:history] if history and ply >= 2 else []
            xs.append(tokenizer.encode_board(board, recent))
            ys.append(tokenizer.move_id(board, move))
            ids = tokenizer.move_ids(board)
            row[ids] = True
            legal.append(np.packbits(row))
            row[ids] = False
            if history:
                played.append((board.piece_type_at(move.from_square), move))
            board.push(move)
    width = len(xs[0]) if xs else 1
    dtype = np.uint8 if tokenizer.vocab_size <= 256 else np.uint16
    packed = np.stack(legal) if legal else np.zeros((0, (n_ids + 7) // 8), dtype=np.uint8)
    return np.asarray(xs, dtype=dtype).reshape(-1, width), np.asarray(ys, dtype=np.int64), packed


def build_dataset(cfg: TrainConfig, tokenizer, cache_dir: str | os.PathLike) -> tuple[dict[str, dict[str, np.ndarray]], str]:
    """Tokenize the games once and cache the arrays, keyed by the data fingerprint, the tokenizer
    and the split. Returns ``({"train": arrays, "val": arrays}, data_fingerprint)``; stream
    arrays are ``tokens`` and ``offsets`` (game starts), pair arrays ``x``, ``y`` and ``legal``
    (packed legal-move masks, see :func:`_board_pairs`).

    The cache file's name is :func:`~minitranscend.store.settings_hash` of what decides its
    content, so changed data or settings make a new file instead of reading a stale one."""
    if not cfg.data:
        raise ValueError("no training data: set `data` (a directory of shard-*.jsonl made by "
                         "`minitranscend data generate`)")
    fp = fingerprint(cfg.data)
    # "val-test-v1": the validation loss reads only the validation half of the held-out games
    what = [fp, tokenizer.to_dict(), cfg.val_fraction, cfg.max_games, "val-test-v1"]
    if cfg.tokenizer == "board":
        what.append("legal-mask-v1")  # caches from before the masks existed are not reused
    key = settings_hash(what, length=16)
    cache = Path(cache_dir) / f"{cfg.tokenizer}-{key}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            arrays = {s: {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(s + "/")}
                      for s in ("train", "val")}
        return arrays, fp
    games = {"train": [], "val": []}
    for n, g in enumerate(iter_games(cfg.data)):
        if cfg.max_games is not None and n >= cfg.max_games:
            break
        part = game_split(g.id, cfg.val_fraction)
        if part != "test":  # the test half is held out of the validation loss too
            games[part].append(g)
    if not games["train"]:
        raise ValueError(f"{cfg.data} holds no training games (all {len(games['val'])} are validation)")
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for split, gs in games.items():
        if cfg.tokenizer == "board":
            x, y, legal = _board_pairs(gs, tokenizer)
            arrays[split] = {"x": x, "y": y, "legal": legal}
        else:
            tokens, offsets = tokenize_games(gs, tokenizer)
            arrays[split] = {"tokens": np.asarray(tokens), "offsets": np.asarray(offsets, dtype=np.int64)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **{f"{s}/{k}": v for s, a in arrays.items() for k, v in a.items()})
    atomic_write_bytes(cache, buf.getvalue())
    return arrays, fp


def shard_for_rank(arrays: dict[str, np.ndarray], rank: int, world: int) -> dict[str, np.ndarray]:
    """This rank's share of the training games (DDP ranks must not read the same data)."""
    if world == 1:
        return arrays
    if "x" in arrays:
        return {k: v[rank::world] for k, v in arrays.items()}
    tokens, offsets = arrays["tokens"], arrays["offsets"]
    starts = offsets[offsets < len(tokens)]
    cut = [0] + [int(starts[np.searchsorted(starts, len(tokens) * r // world)]) for r in range(1, world)] + [len(tokens)]
    lo, hi = cut[rank], cut[rank + 1]
    return {"tokens": tokens[lo:hi], "offsets": np.append(offsets[(offsets >= lo) & (offsets < hi)] - lo, hi - lo)}


def _batch_generator(seed: int, split: str, rank: int, i: int) -> torch.Generator:
    h = hashlib.blake2b(f"{seed}/{split}/{rank}/{i}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(h, "little") >> 1)


def make_get_batch(arrays: dict[str, dict[str, np.ndarray]], batch_size: int, block_size: int,
                   device: str, seed: int, rank: int = 0, n_out: int | None = None
                   ) -> Callable[[str, int], tuple[torch.Tensor, ...] | None]:
    """``get_batch(split, i)`` over the arrays of :func:`build_dataset`: random windows of the
    packed token stream (char/move) or random (board, move) pairs; a pure function of i.
    With ``n_out`` (the number of move ids) board batches are ``(x, y, legal)``, ``legal`` the
    unpacked boolean ``(B, n_out)`` mask that makes the loss legal-moves-only."""
    pin = device.startswith("cuda")
    offsets_of_window = torch.arange(block_size + 1)

    def get_batch(split: str, i: int):
        a = arrays[split]
        g = _batch_generator(seed, split, rank, i)
        if "x" in a:
            n = len(a["y"])
            if n == 0:
                return None
            ix = torch.randint(n, (batch_size,), generator=g).numpy()
            x = torch.from_numpy(a["x"][ix].astype(np.int64))
            y = torch.from_numpy(a["y"][ix])
            if n_out is not None:
                legal = torch.from_numpy(np.unpackbits(a["legal"][ix], axis=1, count=n_out).view(bool))
                return x.to(device), y.to(device), legal.to(device)
        else:
            n = len(a["tokens"]) - block_size - 1
            if n <= 0:
                if split == "val":
                    return None
                raise ValueError(f"only {len(a['tokens'])} {split} tokens for windows of {block_size + 1}: "
                                 "use more games or a smaller block_size")
            ix = torch.randint(n, (batch_size,), generator=g)
            w = torch.from_numpy(a["tokens"][(ix[:, None] + offsets_of_window).numpy()].astype(np.int64))
            x, y = w[:, :-1].contiguous(), w[:, 1:].contiguous()
        if pin:
            return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        return x.to(device), y.to(device)

    return get_batch
