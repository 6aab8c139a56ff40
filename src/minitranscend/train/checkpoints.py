"""Checkpoints: what a training run saves, how it is read back, and the errors that say why not.

A checkpoint holds the model's weights and config, the tokenizer's vocabulary (a model's ids mean
nothing under another), the data fingerprint, the :class:`~.config.TrainConfig`, the loop's
:class:`~.loop.FitState`, the optimizer and every random generator's state: everything a killed
run needs to continue exactly where it stopped. ``ckpt.pt`` is the latest (what a rerun resumes
from), ``best.pt`` the one with the lowest validation loss (the one to play with).
"""
from __future__ import annotations

import io
import os
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..model import GPT, GPTConfig
from ..store import atomic_write_bytes
from ..tokenizers import Tokenizer, tokenizer_from_dict
from .config import TrainConfig
from .loop import FitState, resolve_device

CKPT_NAME = "ckpt.pt"  # latest: what a rerun resumes from
BEST_NAME = "best.pt"  # lowest validation loss so far
CKPT_FORMAT = "minitranscend-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, corrupted, or made for another tokenizer/data."""


def rng_state() -> dict[str, Any]:
    """Every random generator a run draws from (torch, Python, CUDA), for an exact resume."""
    s: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def save_checkpoint(path: str | os.PathLike, *, model: GPT, tokenizer: Tokenizer, cfg: TrainConfig | None = None,
                    state: FitState | None = None, optimizer: torch.optim.Optimizer | None = None,
                    data_fingerprint: str | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Write atomically (:func:`~minitranscend.store.atomic_write_bytes`): an interrupted save
    never destroys the last one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k.removeprefix("_orig_mod."): v for k, v in model.state_dict().items()}
    ckpt = {
        "format": CKPT_FORMAT, "version": __version__, "torch": str(torch.__version__),
        "model": sd, "model_config": asdict(model.config), "tokenizer": tokenizer.to_dict(),
        "data_fingerprint": data_fingerprint, "train_config": asdict(cfg) if cfg else None,
        "state": asdict(state) if state else None,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "rng": rng_state(), "extra": extra or {},
    }
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


def read_checkpoint(path: str | os.PathLike, device: str = "cpu") -> dict[str, Any]:
    """The raw checkpoint dict, with clear errors for a missing or damaged file.

    Used in chapter 4."""
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


def load_checkpoint(path: str | os.PathLike, device: str = "cpu", tokenizer: Tokenizer | None = None
                    ) -> tuple[GPT, Tokenizer, dict[str, Any]]:
    """``(model in eval mode, tokenizer, meta)`` from a checkpoint file or the folder holding it.

    Pass ``tokenizer`` to check it is the one the model was trained with (a model's token ids
    mean nothing under another vocabulary): a mismatch raises :class:`CheckpointError`.
    ``meta`` holds the data fingerprint, train config, step, losses, versions and the path.

    Used in chapters 4, 5 and 6.
    """
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
