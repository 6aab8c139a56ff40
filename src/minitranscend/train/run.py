"""Training a chess model: :func:`train` puts the pieces together and resumes a killed run.

The games are read and tokenized once (:mod:`.dataset`, cached as ``.npz``), split into train and
validation *by game*, the model is built from a preset (:func:`model_config_for`), and the
generic loop (:func:`~.loop.fit`) runs with the chess learning-rate schedule, evaluation, and a
``save`` hook that writes ``ckpt.pt`` / ``best.pt`` (:mod:`.checkpoints`). Under ``torchrun``
each DDP rank trains on its own shard of the games.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..data.records import check_dataset
from ..model import GPT, GPTConfig
from ..store import atomic_write_json, atomic_write_text, read_jsonl
from ..tokenizers import Tokenizer
from .checkpoints import (BEST_NAME, CKPT_NAME, CheckpointError, read_checkpoint, save_checkpoint,
                          set_rng_state)
from .config import TrainConfig
from .dataset import build_dataset, make_get_batch, make_tokenizer, shard_for_rank
from .loop import FitState, fit, resolve_device


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


def model_config_for(cfg: TrainConfig, tokenizer: Tokenizer, board_width: int | None = None) -> GPTConfig:
    """The model a run of ``cfg`` trains: the preset, ``cfg.model``'s overrides, the tokenizer's
    vocabulary; a board model is bidirectional over the board encoding (``board_width`` tokens)
    and predicts over the move vocabulary.

    Used in chapter 4."""
    over = dict(cfg.model)
    if cfg.tokenizer == "board":
        over.update(causal=False, block_size=board_width,
                    out_vocab_size=tokenizer.move_tokenizer.vocab_size)
    elif cfg.block_size is not None:
        over["block_size"] = cfg.block_size
    return GPTConfig.preset(cfg.preset, vocab_size=tokenizer.vocab_size, **over)


def train(cfg: TrainConfig, allow_incomplete: bool = False,
          require_manifest: bool = False) -> dict[str, Any]:
    """Train (or resume) a chess model as ``cfg`` says; returns a summary dict. Writes
    ``<out>/ckpt.pt`` (latest), ``<out>/best.pt`` (lowest validation loss), ``<out>/metrics.jsonl``,
    ``<out>/config.json`` and ``<out>/data/*.npz``.
    Rerunning a finished run is a no-op, so notebooks can call it unconditionally; a killed run
    resumes from ``ckpt.pt`` exactly where it stopped (see :mod:`.dataset` for why).

    A dataset whose manifest says it is unfinished (a killed ``data generate``) or does not match
    its shards is refused (:func:`~minitranscend.data.records.check_dataset`) unless
    ``allow_incomplete``; ``require_manifest`` (the command line) refuses a folder without one.
    Without validation games (a tiny dataset) there is no ``best.pt``: the summary's ``best``
    is then None and ``note`` says why, instead of naming a file that does not exist.

    Used in chapter 4."""
    rank, local_rank, world = _setup_ddp()
    device = resolve_device(cfg.device)
    if world > 1 and device == "cuda":
        device = f"cuda:{local_rank}"
    out = Path(cfg.out)
    ckpt_path = out / CKPT_NAME
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    tokenizer = make_tokenizer(cfg.tokenizer, cfg.canonical, cfg.history)
    ckpt = None
    if cfg.resume != "never" and ckpt_path.is_file():
        ckpt = read_checkpoint(ckpt_path, "cpu")
        if ckpt["tokenizer"] != tokenizer.to_dict():
            raise CheckpointError(f"{ckpt_path} was trained with another tokenizer than {cfg.tokenizer!r}; "
                                  "use a new --out, or resume='never' to start over")
    elif cfg.resume == "always":
        raise CheckpointError(f"resume='always' but there is no checkpoint at {ckpt_path}")

    manifest = None
    if cfg.data:
        manifest = check_dataset(cfg.data, allow_incomplete=allow_incomplete,
                                 require_manifest=require_manifest)
    cache_dir = Path(cfg.data_cache) if cfg.data_cache else out / "data"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        arrays, fp = build_dataset(cfg, tokenizer, cache_dir)
    if world > 1:
        torch.distributed.barrier()  # rank 0 built the cache; the others read it
        if rank != 0:
            arrays, fp = build_dataset(cfg, tokenizer, cache_dir)
    if manifest is not None and manifest.get("complete"):
        check_dataset(cfg.data, allow_incomplete=allow_incomplete, data_fingerprint=fp)
    if ckpt is not None and ckpt["data_fingerprint"] != fp:
        raise CheckpointError(f"{ckpt_path} was trained on other data (fingerprint {ckpt['data_fingerprint'][:12]}, "
                              f"{cfg.data} has {fp[:12]}); use a new --out or resume='never'")
    no_val = _no_validation_note(cfg, arrays["val"])
    if no_val and rank == 0:
        print(f"note: {no_val}", file=sys.stderr)
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
        set_rng_state(ckpt["rng"])
        if rank == 0:
            _trim_metrics(metrics_path, state.step)
    elif rank == 0 and metrics_path.exists():
        metrics_path.unlink()  # a fresh run starts a fresh log
    if rank == 0:
        atomic_write_json(out / "config.json", asdict(cfg), indent=2, allow_nan=False)

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
    state = fit(model, get_batch, optimizer, cfg.lr_schedule, cfg.fit_config(), state=state,
                metrics_path=metrics_path if rank == 0 else None, save=save if rank == 0 else None)
    if world > 1:
        torch.distributed.destroy_process_group()
    best = out / BEST_NAME
    summary = {"checkpoint": str(ckpt_path), "best": str(best) if best.is_file() else None,
               "step": state.step, "elapsed_s": state.elapsed_s, "tokens": state.tokens,
               # no validation loss yet: None, not inf (JSON has no Infinity)
               "best_val_loss": state.best_val_loss if math.isfinite(state.best_val_loss) else None,
               "last_eval": state.last_eval, "params": model.num_params(), "device": device,
               "data_fingerprint": fp}
    if no_val:
        summary["note"] = no_val
    return summary


def _no_validation_note(cfg: TrainConfig, val: dict[str, Any]) -> str | None:
    """Why there will be no validation loss (and so no ``best.pt``), or None when there will
    be one. Said before training starts: a tiny dataset whose games all land in the training
    split used to "succeed" and name a best checkpoint that was never written."""
    if "y" in val:
        empty = len(val["y"]) == 0
    else:
        block = cfg.block_size or GPTConfig.preset(cfg.preset, vocab_size=1, **cfg.model).block_size
        empty = len(val["tokens"]) <= block + 1
    if not empty:
        return None
    return (f"no validation games: none of the games of {cfg.data} falls in the held-out "
            f"{cfg.val_fraction:g} share (or they are shorter than one training window), so there "
            f"is no validation loss and no {BEST_NAME}; use {CKPT_NAME} (the last step), or more "
            "games or a larger val_fraction")


def _trim_metrics(metrics_path: Path, step: int) -> None:
    """Before resuming at ``step``: drop a torn last line (an append the kill interrupted) and the
    rows of evaluations after ``step`` (written before a kill that came ahead of their
    checkpoint), which the resumed run makes again."""
    rows = read_jsonl(metrics_path)
    keep = [r for r in rows if r.get("step", 0) <= step]
    if len(keep) < len(rows):
        atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in keep))
