"""Chess training settings: :class:`TrainConfig` (one JSON-able dataclass, also the CLI's and
the checkpoint's record of a run) and its learning-rate schedule :func:`learning_rate`."""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any

from ..model import PRESETS
from .loop import FitConfig

TOKENIZERS = ("char", "move", "board")


# Training settings that suit a preset, used by TrainConfig.from_dict (and so the CLI) unless set.
# board-tiny, measured on the shared 2-core CPU (2026-11-23): one torch thread trains the 2 x 64
# model at ~950 positions/s in isolation, two threads at ~100 (thread contention), so threads=1;
# throughput does not depend on the batch size there, so a small batch buys more updates.
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "board-tiny": dict(tokenizer="board", batch_size=64, lr=3e-3, min_lr=3e-4, warmup_iters=100,
                       eval_interval=250, eval_iters=8, weight_decay=0.01, threads=1),
}


@dataclass
class TrainConfig:
    """Everything that decides a chess training run (saved in ``config.json`` and the checkpoint).

    Used in chapter 4."""
    data: str | None = None         # directory of shard-*.jsonl game records
    out: str = "runs/ci/train"      # checkpoint, metrics.jsonl, data cache
    # where the tokenized arrays are cached (None: <out>/data); runs that differ only in seed
    # can share one folder and tokenize the games once (the file is keyed by what decides it)
    data_cache: str | None = None
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
    history: int = 0                # board tokenizer: the mover's last N moves as extra input
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

    def fit_config(self) -> FitConfig:
        """The settings :func:`~minitranscend.train.loop.fit` runs with."""
        return FitConfig(max_iters=self.max_iters, max_minutes=self.max_minutes,
                         grad_accum=self.grad_accum, grad_clip=self.grad_clip,
                         eval_interval=self.eval_interval, eval_iters=self.eval_iters,
                         dtype=self.dtype, compile=self.compile, progress=self.progress)

    def lr_schedule(self, step: int, elapsed_s: float = 0.0) -> float:
        """:func:`learning_rate` of these settings (the loop's ``lr_schedule``)."""
        return learning_rate(self, step, elapsed_s)


def learning_rate(cfg: TrainConfig, it: int, elapsed_s: float = 0.0) -> float:
    """Linear warmup over ``warmup_iters``, then cosine decay to ``min_lr``. With a time budget
    the decay follows whichever is further along, iterations or wall-clock time, so a
    "train for 10 minutes" run ends at ``min_lr`` whatever the machine's speed.

    Used in chapter 4."""
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    decay = cfg.lr_decay_iters or cfg.max_iters
    frac = (it - cfg.warmup_iters) / max(1, decay - cfg.warmup_iters)
    if cfg.max_minutes:
        frac = max(frac, elapsed_s / (60.0 * cfg.max_minutes))
    frac = min(max(frac, 0.0), 1.0)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * frac)) * (cfg.lr - cfg.min_lr)
