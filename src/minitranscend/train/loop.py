"""The generic training loop: one for the chess models and the knowledge-graph transformer.

:func:`fit` is nanoGPT's inner loop and knows nothing about chess: it takes a model whose
``model(*batch)`` returns ``(logits, loss)``, a batch function ``get_batch(split, i)``, an
optimizer and a learning-rate schedule ``lr_schedule(step, elapsed_s)``, and runs gradient
accumulation, clipping, bf16 autocast on CUDA, optional ``torch.compile`` and DDP, periodic
evaluation, one ``metrics.jsonl`` line per evaluation, a tqdm bar, an iteration *and* a
wall-clock budget. Checkpointing is a hook (``save``) and resuming is passing the saved
:class:`FitState` and optimizer back in: what a checkpoint holds is the caller's business
(:mod:`.checkpoints` for chess).

Why ``get_batch`` receives the batch index ``i``: a batch function that is a pure function of
``i`` (the chess one is) has no state to save, so a run stopped at step k and resumed
reproduces the uninterrupted run bit for bit. Training step ``s`` asks for
``i = s * grad_accum + micro``; evaluation asks for ``i = EVAL_OFFSET + k``.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from ..store import append_jsonl

EVAL_OFFSET = 1 << 40  # batch indices used for evaluation never collide with training ones

GetBatch = Callable[[str, int], "tuple[torch.Tensor, ...] | None"]
LRSchedule = Callable[[int, float], float]  # (step, elapsed seconds) -> learning rate


@dataclass
class FitState:
    """What the loop needs to continue: saved in the checkpoint."""
    step: int = 0
    elapsed_s: float = 0.0
    tokens: int = 0
    best_val_loss: float = float("inf")
    last_eval: dict[str, Any] = field(default_factory=dict)
    train_loss: float | None = None  # loss of the last training micro-batch (set when fit returns)


@dataclass
class FitConfig:
    """How the loop runs (not what it learns): budget, accumulation, clipping, evaluation."""
    max_iters: int
    max_minutes: float | None = None  # wall-clock budget; the schedule may follow it too
    grad_accum: int = 1
    grad_clip: float | None = 1.0     # None or 0: no clipping
    eval_interval: int | None = 100   # None: never evaluate (and never call get_batch("val", ...))
    eval_iters: int = 10
    dtype: str = "auto"               # "auto" (bf16 autocast on CUDA, else fp32) | "float32" | "bfloat16"
    compile: bool = False
    progress: bool = True
    desc: str = "train"               # the progress bar's label


def resolve_device(name: str = "auto") -> str:
    """``"auto"``: CUDA if present, else Apple's MPS, else the CPU; any other name as given."""
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


def is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


@torch.no_grad()
def estimate_loss(model: torch.nn.Module, get_batch: GetBatch, eval_iters: int, ctx,
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


def fit(model: torch.nn.Module, get_batch: GetBatch, optimizer: torch.optim.Optimizer,
        lr_schedule: LRSchedule, cfg: FitConfig, *, state: FitState | None = None,
        metrics_path: str | os.PathLike | None = None,
        save: Callable[[FitState, torch.optim.Optimizer], None] | None = None) -> FitState:
    """Train ``model`` until ``cfg.max_iters`` steps or ``cfg.max_minutes`` minutes.

    ``get_batch(split, i)`` returns ``(x, y)`` (or ``(x, y, legal)``) on the model's device for
    ``split`` in {"train", "val"} (``None`` when a split is empty); see the module docstring for
    the indices. Every step sets the learning rate to ``lr_schedule(step, elapsed_s)``.
    Evaluation (every ``cfg.eval_interval`` steps, at step 0 and at the end) appends one JSON
    line to ``metrics_path`` and then calls ``save(state, optimizer)``, which is also called on
    Ctrl-C (and at the end when there is no evaluation). Pass a checkpoint's ``state`` (and
    load its optimizer state) to resume. Returns the final :class:`FitState`.
    """
    state = state or FitState()
    device = next(model.parameters()).device
    device_type = device.type
    raw_model = model
    if cfg.compile:
        model = torch.compile(model)
    ddp = is_distributed()
    if ddp:
        model = DistributedDataParallel(model, device_ids=[device.index] if device_type == "cuda" else None)
    master = not ddp or torch.distributed.get_rank() == 0
    world = torch.distributed.get_world_size() if ddp else 1
    ctx = autocast_context(str(device), cfg.dtype)
    budget_s = 60.0 * cfg.max_minutes if cfg.max_minutes else None
    start_step, start_elapsed, t_start = state.step, state.elapsed_s, time.perf_counter()
    tokens_since, t_since = 0, time.perf_counter()
    bar = None
    if master and cfg.progress:
        # a pure time budget ("train for 10 minutes") has no meaningful step total to show
        total = None if cfg.max_minutes and cfg.max_iters >= 10**8 else cfg.max_iters
        bar = tqdm(total=total, initial=state.step, desc=cfg.desc, unit="it", dynamic_ncols=True)

    def out_of_budget() -> bool:
        return state.step >= cfg.max_iters or (budget_s is not None and state.elapsed_s >= budget_s)

    def evaluate_now(stop: bool) -> bool:
        if cfg.eval_interval is None:
            return False
        due = (state.step % cfg.eval_interval == 0 and state.step != start_step) or stop \
            or (state.step == 0 and not state.last_eval)
        return due and not (stop and state.last_eval.get("step") == state.step)

    loss = None

    def saved(st: FitState) -> FitState:
        """``st`` with the last training loss read off the device (only here: it syncs a GPU)."""
        if loss is not None:
            st.train_loss = loss.item()
        return st

    model.train()
    try:
        while True:
            stop = out_of_budget()
            if ddp:  # all ranks must agree to stop on the same step (time differs per rank)
                flag = torch.tensor([float(stop)], device=device)
                torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
                stop = bool(flag.item())
            if evaluate_now(stop):
                losses = estimate_loss(model, get_batch, cfg.eval_iters, ctx)
                now = time.perf_counter()
                row = {"step": state.step, "train_loss": losses["train"], "val_loss": losses["val"],
                       "lr": lr_schedule(state.step, state.elapsed_s),
                       "tokens": state.tokens,
                       "tokens_per_s": round(tokens_since / max(now - t_since, 1e-9), 1),
                       "elapsed_s": round(state.elapsed_s, 3)}
                tokens_since, t_since = 0, now
                state.last_eval = row
                if losses["val"] is not None:
                    state.best_val_loss = min(state.best_val_loss, losses["val"])
                if master:
                    if metrics_path is not None:
                        append_jsonl(metrics_path, [row])
                    if bar is not None:
                        bar.set_postfix({k: "-" if row[k] is None else f"{row[k]:.3f}"
                                         for k in ("train_loss", "val_loss")})
                    if save is not None and state.step > 0:
                        save(saved(state), optimizer)
            elif stop and cfg.eval_interval is None and master and save is not None \
                    and state.step > start_step:
                save(saved(state), optimizer)
            if stop:
                break
            lr = lr_schedule(state.step, state.elapsed_s)
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
            save(saved(state), optimizer)
        raise
    finally:
        if bar is not None:
            bar.close()
    return saved(state)
