"""Training: one loop for every tokenizer and model, checkpoints that resume exactly.

Two layers, so other chapters can reuse the loop with their own data:

* :func:`fit` — the generic inner loop (nanoGPT's): AdamW, linear warmup + cosine decay,
  gradient accumulation, clipping, bf16 autocast on CUDA, optional ``torch.compile`` and DDP,
  periodic evaluation, ``metrics.jsonl``, tqdm, an iteration *and* a wall-clock budget.
  It only needs ``get_batch(split, i) -> (x, y)``.
* :func:`train` — chess: reads game records, tokenizes them (cached as ``.npz``), splits
  train/validation *by game*, builds the model from a preset, and checkpoints/resumes.

Why batches are a pure function of ``(seed, split, rank, i)``: the sampler then has no state to
save, so a run stopped at step k and resumed reproduces the uninterrupted run bit for bit (on
CPU), and DDP ranks draw different batches from their own shard of the games.

Packing (the paper's): char and move tokens of all games are concatenated into one stream
(each game starts with its ``;`` / ``<bos>``) and training windows of ``block_size + 1`` tokens
start anywhere, crossing game boundaries. Board models instead see random (position, next move)
pairs.

Board models train on the legal moves only (``legal_loss``): each position's legal move ids are
stored as a packed bit mask (247 bytes) beside it, and the loss is the cross-entropy among them.
With ``canonical`` the board tokenizer encodes every position from the mover's side.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import __version__
from .model import GPT, GPTConfig, PRESETS

CKPT_NAME = "ckpt.pt"  # latest: what a rerun resumes from
BEST_NAME = "best.pt"  # lowest validation loss so far
CKPT_FORMAT = "minitranscend-checkpoint-1"
TOKENIZERS = ("char", "move", "board")
EVAL_OFFSET = 1 << 40  # batch indices used for evaluation never collide with training ones


# Training settings that suit a preset, used by TrainConfig.from_dict (and so the CLI) unless set.
# board-tiny, measured on the shared 2-core CPU (2026-11-23): one torch thread trains the 2 x 64
# model at ~950 positions/s in isolation, two threads at ~100 (thread contention), so threads=1;
# throughput does not depend on the batch size there, so a small batch buys more updates.
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "board-tiny": dict(tokenizer="board", batch_size=64, lr=3e-3, min_lr=3e-4, warmup_iters=100,
                       eval_interval=250, eval_iters=8, weight_decay=0.01, threads=1),
}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, corrupted, or made for another tokenizer/data."""


@dataclass
class TrainConfig:
    data: str | None = None         # directory of shard-*.jsonl game records
    out: str = "runs/ci/train"      # checkpoint, metrics.jsonl, data cache
    tokenizer: str = "move"         # "char" | "move" | "board"
    preset: str = "tiny"            # see minitranscend.model.PRESETS
    model: dict[str, Any] = field(default_factory=dict)  # GPTConfig overrides, e.g. {"n_layer": 2}
    block_size: int | None = None   # None: the preset's (board: the board encoding's length)
    batch_size: int = 32
    grad_accum: int = 1
    max_iters: int = 1000
    max_minutes: float | None = None  # wall-clock budget; the cosine decay then follows time
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 50
    lr_decay_iters: int | None = None  # None: max_iters
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_interval: int = 100
    eval_iters: int = 10
    val_fraction: float = 0.05      # share of GAMES held out (deterministic, by game id)
    max_games: int | None = None
    seed: int = 1337
    device: str = "auto"            # "auto" | "cpu" | "cuda" | "cuda:1" | "mps"
    dtype: str = "auto"             # "auto" (bf16 autocast on CUDA, else fp32) | "float32" | "bfloat16"
    compile: bool = False
    resume: str = "auto"            # "auto" (resume if out/ckpt.pt exists) | "always" | "never"
    progress: bool = True
    # board tokenizer: encode from the mover's side (None: on when the head is "fromto")
    canonical: bool | None = None
    legal_loss: bool = True         # board tokenizer: cross-entropy among the legal moves only
    threads: int | None = None      # torch CPU threads (None: torch's default); 1 wins on a busy machine

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {self.tokenizer!r}")
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}")
        if self.resume not in ("auto", "always", "never"):
            raise ValueError(f"resume must be 'auto', 'always' or 'never', got {self.resume!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        self.betas = tuple(self.betas)  # JSON gives a list
        if self.canonical is None:
            head = self.model.get("policy_head", PRESETS[self.preset].get("policy_head", "pool"))
            self.canonical = self.tokenizer == "board" and head == "fromto"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Settings from a dict; the preset's :data:`TRAIN_DEFAULTS` fill in what it does not set."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; valid ones: {sorted(known)}")
        return cls(**{**TRAIN_DEFAULTS.get(d.get("preset", ""), {}), **d})

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "TrainConfig":
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))


# ---------------------------------------------------------------------------------------------
# the generic loop


@dataclass
class FitState:
    """What the loop needs to continue: saved in the checkpoint."""
    step: int = 0
    elapsed_s: float = 0.0
    tokens: int = 0
    best_val_loss: float = float("inf")
    last_eval: dict[str, Any] = field(default_factory=dict)


def resolve_device(name: str = "auto") -> str:
    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def autocast_context(device: str, dtype: str = "auto"):
    """bf16 autocast on CUDA (no grad scaler needed), plain fp32 elsewhere unless asked."""
    device_type = device.split(":")[0]
    if dtype == "auto":
        dtype = "bfloat16" if device_type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype={"bfloat16": torch.bfloat16,
                                                         "float16": torch.float16}[dtype])


def learning_rate(cfg: TrainConfig, it: int, elapsed_s: float = 0.0) -> float:
    """Linear warmup over ``warmup_iters``, then cosine decay to ``min_lr``. With a time budget
    the decay follows whichever is further along, iterations or wall-clock time, so a
    "train for 10 minutes" run ends at ``min_lr`` whatever the machine's speed."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    decay = cfg.lr_decay_iters or cfg.max_iters
    frac = (it - cfg.warmup_iters) / max(1, decay - cfg.warmup_iters)
    if cfg.max_minutes:
        frac = max(frac, elapsed_s / (60.0 * cfg.max_minutes))
    frac = min(max(frac, 0.0), 1.0)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * frac)) * (cfg.lr - cfg.min_lr)


def _is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


@torch.no_grad()
def estimate_loss(model: torch.nn.Module, get_batch: Callable, eval_iters: int, ctx,
                  splits: tuple[str, ...] = ("train", "val")) -> dict[str, float | None]:
    """Mean loss over the same ``eval_iters`` batches of each split at every evaluation."""
    was_training = model.training
    model.eval()
    out: dict[str, float | None] = {}
    for split in splits:
        losses = []
        for k in range(eval_iters):
            batch = get_batch(split, EVAL_OFFSET + k)
            if batch is None:
                break
            with ctx:
                _, loss = model(*batch)  # (x, y) or (x, y, legal)
            losses.append(loss.item())
        out[split] = float(np.mean(losses)) if losses else None
    model.train(was_training)
    return out


def fit(model: torch.nn.Module, get_batch: Callable[[str, int], tuple[torch.Tensor, torch.Tensor] | None],
        cfg: TrainConfig, *, state: FitState | None = None, optimizer: torch.optim.Optimizer | None = None,
        metrics_path: str | os.PathLike | None = None,
        save: Callable[[FitState, torch.optim.Optimizer], None] | None = None) -> FitState:
    """Train ``model`` until ``cfg.max_iters`` steps or ``cfg.max_minutes`` minutes.

    ``get_batch(split, i)`` returns ``(x, y)`` (or ``(x, y, legal)``) on the model's device for ``split`` in
    {"train", "val"} (``None`` when a split is empty). Training step ``s`` uses
    ``i = s * grad_accum + micro``; evaluation uses ``i = EVAL_OFFSET + k``. Making it a pure
    function of ``i`` makes resumption exact. ``model(*batch)`` must return ``(logits, loss)``.

    Uses from ``cfg``: lr, min_lr, warmup_iters, lr_decay_iters, max_iters, max_minutes,
    weight_decay, betas, grad_clip, grad_accum, eval_interval, eval_iters, dtype, compile,
    progress. ``save(state, optimizer)`` is called after every evaluation (and on Ctrl-C);
    ``state`` and ``optimizer`` come from a checkpoint to resume. One JSON line per evaluation
    is appended to ``metrics_path``. Returns the final :class:`FitState`.
    """
    state = state or FitState()
    device = next(model.parameters()).device
    device_type = device.type
    raw_model = model
    if optimizer is None:
        optimizer = raw_model.configure_optimizers(cfg.weight_decay, cfg.lr, cfg.betas, device_type)
    if cfg.compile:
        model = torch.compile(model)
    ddp = _is_distributed()
    if ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(model, device_ids=[device.index] if device_type == "cuda" else None)
    master = not ddp or torch.distributed.get_rank() == 0
    world = torch.distributed.get_world_size() if ddp else 1
    ctx = autocast_context(str(device), cfg.dtype)
    budget_s = 60.0 * cfg.max_minutes if cfg.max_minutes else None
    start_step, start_elapsed, t_start = state.step, state.elapsed_s, time.perf_counter()
    tokens_since, t_since = 0, time.perf_counter()
    bar = None
    if master and cfg.progress:
        from tqdm.auto import tqdm
        # a pure time budget ("train for 10 minutes") has no meaningful step total to show
        total = None if cfg.max_minutes and cfg.max_iters >= 10**8 else cfg.max_iters
        bar = tqdm(total=total, initial=state.step, desc="train", unit="it", dynamic_ncols=True)

    def out_of_budget() -> bool:
        return state.step >= cfg.max_iters or (budget_s is not None and state.elapsed_s >= budget_s)

    model.train()
    try:
        while True:
            stop = out_of_budget()
            if ddp:  # all ranks must agree to stop on the same step (time differs per rank)
                flag = torch.tensor([float(stop)], device=device)
                torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
                stop = bool(flag.item())
            if (state.step % cfg.eval_interval == 0 and state.step != start_step) or stop \
                    or (state.step == 0 and not state.last_eval):
                if not (stop and state.last_eval.get("step") == state.step):
                    losses = estimate_loss(model, get_batch, cfg.eval_iters, ctx)
                    now = time.perf_counter()
                    row = {"step": state.step, "train_loss": losses["train"], "val_loss": losses["val"],
                           "lr": learning_rate(cfg, state.step, state.elapsed_s),
                           "tokens": state.tokens,
                           "tokens_per_s": round(tokens_since / max(now - t_since, 1e-9), 1),
                           "elapsed_s": round(state.elapsed_s, 3)}
                    tokens_since, t_since = 0, now
                    state.last_eval = row
                    if losses["val"] is not None:
                        state.best_val_loss = min(state.best_val_loss, losses["val"])
                    if master:
                        if metrics_path is not None:
                            with open(metrics_path, "a", encoding="utf-8") as fh:
                                fh.write(json.dumps(row) + "\n")
                        if bar is not None:
                            bar.set_postfix({k: "-" if row[k] is None else f"{row[k]:.3f}"
                                             for k in ("train_loss", "val_loss")})
                        if save is not None and state.step > 0:
                            save(state, optimizer)
            if stop:
                break
            lr = learning_rate(cfg, state.step, state.elapsed_s)
            for group in optimizer.param_groups:
                group["lr"] = lr
            for micro in range(cfg.grad_accum):
                x, y, *rest = get_batch("train", state.step * cfg.grad_accum + micro)
                sync = contextlib.nullcontext()
                if ddp and micro < cfg.grad_accum - 1:
                    sync = model.no_sync()  # all-reduce gradients once, after the last micro-batch
                with sync, ctx:
                    _, loss = model(x, y, *rest)
                    (loss / cfg.grad_accum).backward()
                state.tokens += y.numel() * world
                tokens_since += y.numel() * world
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(raw_model.parameters(), cfg.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.elapsed_s = start_elapsed + (time.perf_counter() - t_start)
            if bar is not None:
                bar.update(1)
                if state.step % 10 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}")
    except KeyboardInterrupt:
        if master and save is not None and state.step > start_step:
            state.elapsed_s = start_elapsed + (time.perf_counter() - t_start)
            save(state, optimizer)
        raise
    finally:
        if bar is not None:
            bar.close()
    return state


# ---------------------------------------------------------------------------------------------
# chess data


def make_tokenizer(name: str, canonical: bool = False):
    from .tokenizers import get_tokenizer
    return get_tokenizer(name, canonical=True) if name == "board" and canonical else get_tokenizer(name)


def is_val_game(game_id: Any, val_fraction: float) -> bool:
    """Deterministic held-out split by game id (independent of order and sharding)."""
    h = int.from_bytes(hashlib.blake2b(str(game_id).encode(), digest_size=8).digest(), "little")
    return (h % 1_000_000) < val_fraction * 1_000_000


def _board_pairs(games: list, tokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position tokens, next move id, packed legal-move mask) for every ply of every game.

    The mask row of a position has bit ``id`` set for every legal move id (``np.packbits``,
    ``ceil(n_ids / 8)`` bytes): 247 bytes instead of 1970 booleans. Ids are the tokenizer's
    (mirrored for a canonical tokenizer when black moves)."""
    import chess
    n_ids = tokenizer.move_tokenizer.vocab_size
    xs: list[list[int]] = []
    ys: list[int] = []
    legal: list[np.ndarray] = []
    row = np.zeros(n_ids, dtype=bool)
    for g in games:
        board = chess.Board()
        for move in g.moves:
            xs.append(tokenizer.encode_board(board))
            ys.append(tokenizer.move_id(board, move))
            ids = tokenizer.move_ids(board)
            row[ids] = True
            legal.append(np.packbits(row))
            row[ids] = False
            board.push(move)
    width = len(xs[0]) if xs else 1
    dtype = np.uint8 if tokenizer.vocab_size <= 256 else np.uint16
    packed = np.stack(legal) if legal else np.zeros((0, (n_ids + 7) // 8), dtype=np.uint8)
    return np.asarray(xs, dtype=dtype).reshape(-1, width), np.asarray(ys, dtype=np.int64), packed


def build_dataset(cfg: TrainConfig, tokenizer, cache_dir: str | os.PathLike) -> tuple[dict[str, dict[str, np.ndarray]], str]:
    """Tokenize the games once and cache the arrays, keyed by the data fingerprint, the tokenizer
    and the split. Returns ``({"train": arrays, "val": arrays}, data_fingerprint)``; stream
    arrays are ``tokens`` and ``offsets`` (game starts), pair arrays ``x``, ``y`` and ``legal``
    (packed legal-move masks, see :func:`_board_pairs`)."""
    from .data.records import fingerprint, iter_games

    if not cfg.data:
        raise ValueError("no training data: set `data` (a directory of shard-*.jsonl made by "
                         "`minitranscend data generate`)")
    fp = fingerprint(cfg.data)
    what = [fp, tokenizer.to_dict(), cfg.val_fraction, cfg.max_games]
    if cfg.tokenizer == "board":
        what.append("legal-mask-v1")  # caches from before the masks existed are not reused
    key = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]
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
        games["val" if is_val_game(g.id, cfg.val_fraction) else "train"].append(g)
    if not games["train"]:
        raise ValueError(f"{cfg.data} holds no training games (all {len(games['val'])} are validation)")
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for split, gs in games.items():
        if cfg.tokenizer == "board":
            x, y, legal = _board_pairs(gs, tokenizer)
            arrays[split] = {"x": x, "y": y, "legal": legal}
        else:
            from .tokenizers import tokenize_games
            tokens, offsets = tokenize_games(gs, tokenizer)
            arrays[split] = {"tokens": np.asarray(tokens), "offsets": np.asarray(offsets, dtype=np.int64)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + ".tmp.npz")
    np.savez(tmp, **{f"{s}/{k}": v for s, a in arrays.items() for k, v in a.items()})
    os.replace(tmp, cache)
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


# ---------------------------------------------------------------------------------------------
# checkpoints


def _rng_state() -> dict[str, Any]:
    s: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def _set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def save_checkpoint(path: str | os.PathLike, *, model: GPT, tokenizer, cfg: TrainConfig | None = None,
                    state: FitState | None = None, optimizer: torch.optim.Optimizer | None = None,
                    data_fingerprint: str | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write atomically (tmp file, then rename): an interrupted save never destroys the last one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k.removeprefix("_orig_mod."): v for k, v in model.state_dict().items()}
    ckpt = {
        "format": CKPT_FORMAT, "version": __version__, "torch": str(torch.__version__),
        "model": sd, "model_config": asdict(model.config), "tokenizer": tokenizer.to_dict(),
        "data_fingerprint": data_fingerprint, "train_config": asdict(cfg) if cfg else None,
        "state": asdict(state) if state else None,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "rng": _rng_state(), "extra": extra or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path: str | os.PathLike, device: str = "cpu") -> dict[str, Any]:
    """The raw checkpoint dict, with clear errors for a missing or damaged file."""
    path = Path(path)
    if path.is_dir():
        path = path / CKPT_NAME
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `minitranscend train --out {path.parent}`")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # torch raises many kinds for a truncated or foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {str(e)[:200]}); "
                              "the file is truncated or corrupted — copy it again or re-train") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CKPT_FORMAT:
        raise CheckpointError(f"{path} is not a minitranscend checkpoint (expected format {CKPT_FORMAT!r})")
    return ckpt


def load_checkpoint(path: str | os.PathLike, device: str = "cpu", tokenizer=None) -> tuple[GPT, Any, dict[str, Any]]:
    """``(model in eval mode, tokenizer, meta)`` from a checkpoint file or the folder holding it.

    Pass ``tokenizer`` to check it is the one the model was trained with (a model's token ids
    mean nothing under another vocabulary): a mismatch raises :class:`CheckpointError`.
    ``meta`` holds the data fingerprint, train config, step, losses, versions and the path.
    """
    from .tokenizers import tokenizer_from_dict

    device = resolve_device(device)
    ckpt = read_checkpoint(path, device)
    saved_tok = tokenizer_from_dict(ckpt["tokenizer"])
    if tokenizer is not None and tokenizer.to_dict() != ckpt["tokenizer"]:
        raise CheckpointError(
            f"tokenizer mismatch: the checkpoint was trained with the {saved_tok.name!r} tokenizer "
            f"(vocab {saved_tok.vocab_size}) but a {getattr(tokenizer, 'name', type(tokenizer).__name__)!r} "
            f"tokenizer (vocab {tokenizer.vocab_size}) was given; use the checkpoint's own tokenizer "
            "(load_checkpoint returns it) or the matching checkpoint")
    model = GPT(GPTConfig(**ckpt["model_config"]))
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint weights do not fit its own model config: {str(e)[:300]}") from e
    model.to(device).eval()
    p = Path(path)
    meta = {k: ckpt[k] for k in ("version", "torch", "data_fingerprint", "train_config", "state",
                                 "model_config", "extra")}
    meta["path"] = str(p / CKPT_NAME if p.is_dir() else p)
    meta["step"] = (ckpt["state"] or {}).get("step")
    return model, saved_tok, meta


# ---------------------------------------------------------------------------------------------
# chess training


def _setup_ddp() -> tuple[int, int, int]:
    """(rank, local_rank, world) from torchrun's environment; (0, 0, 1) without it."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return 0, 0, 1
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    torch.distributed.init_process_group(backend=backend)
    rank, local = torch.distributed.get_rank(), int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    return rank, local, torch.distributed.get_world_size()


def model_config_for(cfg: TrainConfig, tokenizer, board_width: int | None = None) -> GPTConfig:
    over = dict(cfg.model)
    if cfg.tokenizer == "board":
        over.update(causal=False, block_size=board_width,
                    out_vocab_size=tokenizer.move_tokenizer.vocab_size)
    elif cfg.block_size is not None:
        over["block_size"] = cfg.block_size
    return GPTConfig.preset(cfg.preset, vocab_size=tokenizer.vocab_size, **over)


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train (or resume) a chess model as ``cfg`` says; returns a summary dict. Writes
    ``<out>/ckpt.pt`` (latest), ``<out>/best.pt`` (lowest validation loss), ``<out>/metrics.jsonl``,
    ``<out>/config.json`` and ``<out>/data/*.npz``.
    Rerunning a finished run is a no-op, so notebooks can call it unconditionally."""
    rank, local_rank, world = _setup_ddp()
    device = resolve_device(cfg.device)
    if world > 1 and device == "cuda":
        device = f"cuda:{local_rank}"
    out = Path(cfg.out)
    ckpt_path = out / CKPT_NAME
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tokenizer = make_tokenizer(cfg.tokenizer, cfg.canonical)
    ckpt = None
    if cfg.resume != "never" and ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path, "cpu")
        if ckpt["tokenizer"] != tokenizer.to_dict():
            raise CheckpointError(f"{ckpt_path} was trained with another tokenizer than {cfg.tokenizer!r}; "
                                  "use a new --out, or resume='never' to start over")
    elif cfg.resume == "always":
        raise CheckpointError(f"resume='always' but there is no checkpoint at {ckpt_path}")

    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        arrays, fp = build_dataset(cfg, tokenizer, out / "data")
    if world > 1:
        torch.distributed.barrier()  # rank 0 built the cache; the others read it
        if rank != 0:
            arrays, fp = build_dataset(cfg, tokenizer, out / "data")
    if ckpt is not None and ckpt["data_fingerprint"] != fp:
        raise CheckpointError(f"{ckpt_path} was trained on other data (fingerprint {ckpt['data_fingerprint'][:12]}, "
                              f"{cfg.data} has {fp[:12]}); use a new --out or resume='never'")
    arrays["train"] = shard_for_rank(arrays["train"], rank, world)

    board_width = arrays["train"]["x"].shape[1] if cfg.tokenizer == "board" else None
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    mconf = model_config_for(cfg, tokenizer, board_width)
    if ckpt is not None and GPTConfig(**ckpt["model_config"]) != mconf:
        raise CheckpointError(f"{ckpt_path} holds a different model ({ckpt['model_config']}) than the config "
                              f"asks for ({asdict(mconf)}); use a new --out or resume='never'")
    model = GPT(mconf).to(device)
    optimizer = model.configure_optimizers(cfg.weight_decay, cfg.lr, cfg.betas, device.split(":")[0])
    state = FitState()
    metrics_path = out / "metrics.jsonl"
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state = FitState(**ckpt["state"])
        _set_rng_state(ckpt["rng"])
    elif rank == 0 and metrics_path.exists():
        metrics_path.unlink()  # a fresh run starts a fresh log
    if rank == 0:
        with open(out / "config.json", "w", encoding="utf-8") as fh:
            json.dump(asdict(cfg), fh, indent=2)

    def save(st: FitState, opt: torch.optim.Optimizer) -> None:
        save_checkpoint(ckpt_path, model=model, tokenizer=tokenizer, cfg=cfg, state=st, optimizer=opt,
                        data_fingerprint=fp)
        ev = st.last_eval
        if ev.get("step") == st.step and ev.get("val_loss") is not None and ev["val_loss"] <= st.best_val_loss:
            # the lowest validation loss so far, without optimizer state: the one to play with
            save_checkpoint(out / BEST_NAME, model=model, tokenizer=tokenizer, cfg=cfg, state=st,
                            data_fingerprint=fp)

    legal_ids = mconf.n_out if cfg.tokenizer == "board" and cfg.legal_loss else None
    get_batch = make_get_batch(arrays, cfg.batch_size, mconf.block_size if cfg.tokenizer != "board" else 0,
                               device, cfg.seed, rank, n_out=legal_ids)
    state = fit(model, get_batch, cfg, state=state, optimizer=optimizer,
                metrics_path=metrics_path if rank == 0 else None, save=save if rank == 0 else None)
    if world > 1:
        torch.distributed.destroy_process_group()
    return {"checkpoint": str(ckpt_path), "best": str(out / BEST_NAME), "step": state.step, "elapsed_s": state.elapsed_s,
            "tokens": state.tokens, "best_val_loss": state.best_val_loss, "last_eval": state.last_eval,
            "params": model.num_params(), "device": device, "data_fingerprint": fp}


def read_metrics(metrics_path: str | os.PathLike) -> list[dict[str, Any]]:
    with open(metrics_path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def loss_figure(metrics_path: str | os.PathLike, x: str = "step"):
    """Train and validation loss curves (plotly) from a ``metrics.jsonl``; ``x`` is
    "step", "tokens" or "elapsed_s"."""
    import plotly.graph_objects as go

    rows = read_metrics(metrics_path)
    fig = go.Figure()
    for key, name in (("train_loss", "train"), ("val_loss", "validation")):
        pts = [(r[x], r[key]) for r in rows if r.get(key) is not None]
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=name))
    fig.update_layout(xaxis_title=x, yaxis_title="cross-entropy (nats / token)", template="plotly_white",
                      title="Training loss")
    return fig


# ---------------------------------------------------------------------------------------------
# command line


def _train_command(args: argparse.Namespace) -> int:
    d: dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as fh:
            d = json.load(fh)
    for key in ("data", "out", "tokenizer", "preset", "max_minutes", "max_iters", "batch_size", "lr",
                "seed", "device", "block_size", "eval_interval", "max_games", "threads"):
        v = getattr(args, key)
        if v is not None:
            d[key] = v
    if args.max_minutes is not None and args.max_iters is None and "max_iters" not in d:
        d["max_iters"] = 10**9  # a pure time budget
    if args.compile:
        d["compile"] = True
    if args.resume:
        d["resume"] = "always"
    if args.fresh:
        d["resume"] = "never"
    summary = train(TrainConfig.from_dict(d))
    print(json.dumps(summary, indent=2, default=str))
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a chess transformer on game records",
                              description="Train (or resume) a model. Settings come from --config FILE.json "
                                          "(TrainConfig fields) and the flags below, which override it.")
    p.add_argument("--config", help="JSON file of TrainConfig fields")
    p.add_argument("--data", help="directory of shard-*.jsonl game records")
    p.add_argument("--out", help="output directory (checkpoint, metrics, data cache)")
    p.add_argument("--tokenizer", choices=TOKENIZERS)
    p.add_argument("--preset", choices=sorted(PRESETS))
    p.add_argument("--max-minutes", type=float, help="wall-clock budget in minutes")
    p.add_argument("--max-iters", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--block-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device")
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--max-games", type=int)
    p.add_argument("--threads", type=int, help="torch CPU threads (1 is often faster on a busy machine)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="require a checkpoint in --out and continue it")
    g.add_argument("--fresh", action="store_true", help="ignore any checkpoint in --out and start over")
    p.set_defaults(func=_train_command)
