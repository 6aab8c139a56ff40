"""Measurements on a trained model, for the training and sampling chapters (4 and 5).

Everything here works on *exact* move distributions (:func:`minitranscend.policy.move_distributions`)
rather than on samples, so a number printed in the book does not wobble from run to run:

* :func:`policy_stats` — illegal-move mass, top-1 agreement with the experts, the experts' moves'
  log-loss and the entropy, averaged over held-out positions
  (:func:`minitranscend.held_out.held_out_states`: games the model never trained on);
* :func:`entropy_curve` — mean entropy of ``p_tau`` for many temperatures (re-tempering one
  distribution per position, which is exact for move-level temperature);
* :func:`per_char_temperature` — what the paper's *per-character* temperature does to a
  distribution over moves, computed exactly on the tree of their spellings;
* :func:`preset_table` / :func:`count_params` — model sizes without allocating the weights.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import chess
import numpy as np
import torch

from .model import GPT, PRESETS
from .policy import apply_temperature, move_distributions
from .tokenizers import get_tokenizer
from .train import TrainConfig, model_config_for

# H100 SXM dense bf16 peak (NVIDIA's datasheet, without sparsity): the ceiling for GPU estimates.
H100_BF16_PEAK_FLOPS = 989e12

# Measured before the project began on the 2-core course machine, fp32, 2 threads
# (/work/shared/reference/pilot_measurements.md, 2026-11-22): (what, params, tokens per second).
# Used in chapter 4.
PILOT_CPU_THROUGHPUT = (
    ("chars, context 512, 4 x 128", 0.87e6, 13_600),
    ("chars, context 512, 6 x 256", 4.9e6, 3_200),
    ("moves, context 128, 6 x 256", 5.8e6, 4_200),
    ("chars, context 1024, 8 x 512", 25.8e6, 770),
)


def distributions(model, tokenizer, boards: Sequence[chess.Board], batch_size: int = 64) -> list:
    """:func:`~minitranscend.policy.move_distributions` in batches (bounded memory).

    Used in chapters 4 and 5."""
    out = []
    for i in range(0, len(boards), batch_size):
        out.extend(move_distributions(model, tokenizer, list(boards[i:i + batch_size])))
    return out


@dataclass
class PolicyStats:
    """Averages over held-out positions (see :func:`policy_stats`)."""

    n_positions: int
    illegal_mass: float      # mean model mass on moves that are not legal in the position
    top1_agreement: float    # share of positions where the model's argmax is the expert's move
    expert_nll: float        # mean -log p(expert's move), p over legal moves: nats
    entropy: float           # mean entropy of the legal-move distribution: nats
    uniform_agreement: float  # top-1 agreement of a uniformly random legal move (the floor)
    uniform_nll: float       # mean log(#legal moves): the log-loss of knowing only the rules

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def policy_stats(model, tokenizer, boards: Sequence[chess.Board], moves: Sequence[chess.Move],
                 dists: Sequence | None = None) -> PolicyStats:
    """How well the model imitates the experts on positions it never saw.

    Pass ``dists`` (from :func:`distributions`) to avoid recomputing them.

    Used in chapter 4."""
    if len(boards) != len(moves) or not boards:
        raise ValueError(f"need as many moves as boards (> 0), got {len(boards)} and {len(moves)}")
    dists = list(dists) if dists is not None else distributions(model, tokenizer, boards)
    illegal, agree, nll, ent, u_agree, u_nll = [], [], [], [], [], []
    for d, m in zip(dists, moves):
        p = d.as_dict()
        if m not in p:
            raise ValueError(f"the expert's move {m.uci()} is not legal in its position")
        illegal.append(d.illegal_mass)
        agree.append(float(d.argmax() == m))
        nll.append(-math.log(max(p[m], 1e-300)))
        ent.append(d.entropy())
        u_agree.append(1.0 / len(d.moves))
        u_nll.append(math.log(len(d.moves)))
    return PolicyStats(len(dists), *(float(np.mean(v)) for v in (illegal, agree, nll, ent, u_agree, u_nll)))


def entropy_curve(dists: Sequence, taus: Sequence[float]) -> np.ndarray:
    """Mean entropy (nats) of the tempered distributions, one value per ``tau``.

    Used in chapter 5."""
    return np.array([np.mean([d.at_temperature(t).entropy() for d in dists]) for t in taus])


def top_moves(dist, board: chess.Board, k: int = 8) -> list[tuple[str, float]]:
    """The ``k`` most likely moves as ``(SAN, probability)``, most likely first.

    Used in chapter 5."""
    order = np.argsort(-dist.probs, kind="stable")[:k]
    return [(board.san(dist.moves[i]), float(dist.probs[i])) for i in order]


def per_char_temperature(word_probs: Mapping[str, float], tau: float, end: str = " ") -> dict[str, float]:
    """The distribution over words when each *character* is sampled at temperature ``tau``.

    ``word_probs`` is a distribution over words (moves spelled in SAN); a character model that
    matches it exactly has, after a prefix, the next-character probabilities
    ``P(prefix + c) / P(prefix)``. The paper tempers each of those softmaxes separately; the
    result is in general NOT ``p(word)^(1/tau)`` renormalised, because a first character shared
    by many words collects all their mass. ``tau = 0`` is greedy decoding (ties split evenly).

    Used in chapter 5."""
    words = {w + end: float(p) for w, p in word_probs.items() if p > 0}
    if not words:
        raise ValueError("word_probs needs at least one word with positive probability")
    out: dict[str, float] = {}

    def walk(prefix: str, mass: float) -> None:
        below = {w: p for w, p in words.items() if w.startswith(prefix)}
        if prefix in below:  # a complete word (it ends with `end`)
            out[prefix[:-len(end)]] = mass
            return
        chars = sorted({w[len(prefix)] for w in below})
        child = np.array([sum(p for w, p in below.items() if w[len(prefix)] == c) for c in chars])
        for c, q in zip(chars, apply_temperature(child, tau)):
            if q > 0:
                walk(prefix + c, mass * float(q))

    walk("", 1.0)
    return out


def count_params(config) -> int:
    """Parameters of ``GPT(config)`` (nanoGPT's count: without position embeddings), built on
    the meta device so the paper's 50M model costs no memory or time."""
    with torch.device("meta"):
        return GPT(config).num_params()


def preset_table(tokenizers: Sequence[str] = ("char", "move", "board"),
                 presets: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per model preset: its shape, the parameter count with each tokenizer (``None``
    where the preset does not fit the tokenizer, e.g. a board-only head), and the training
    FLOPs per token (6N + attention) of the first tokenizer that fits, at its context.

    Used in chapter 4."""
    rows = []
    for name in presets or list(PRESETS):
        arch = PRESETS[name]
        row: dict[str, Any] = {"preset": name, "layers": arch["n_layer"], "heads": arch["n_head"],
                               "d_model": arch["n_embd"], "context": arch["block_size"]}
        flops = None
        for tok_name in tokenizers:
            tok = get_tokenizer(tok_name)
            width = len(tok.encode_board(chess.Board())) if tok_name == "board" else None
            try:
                mconf = model_config_for(TrainConfig(tokenizer=tok_name, preset=name), tok, width)
            except ValueError:  # this preset cannot read this tokenizer's input
                row[f"params_{tok_name}"] = None
                continue
            row[f"params_{tok_name}"] = count_params(mconf)
            if flops is None:
                with torch.device("meta"):
                    flops = GPT(mconf).flops_per_token()
        row["flops_per_token"] = flops
        rows.append(row)
    return rows


def gpu_tokens_per_s(flops_per_token: float, mfu: float = 0.3,
                     peak_flops: float = H100_BF16_PEAK_FLOPS) -> float:
    """An EXPECTATION, not a measurement: tokens/s if training reached ``mfu`` of the peak.
    Small models are launch-bound and fall far short of it; large ones get close.

    Used in chapter 4."""
    return mfu * peak_flops / flops_per_token


def training_summary(metrics: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Final step, training time, tokens, best validation loss and median throughput from the
    rows of ``metrics.jsonl`` (:func:`minitranscend.train.read_metrics`).

    Used in chapter 4."""
    if not metrics:
        raise ValueError("no metrics rows: has the model been trained?")
    last = metrics[-1]
    rates = [r["tokens_per_s"] for r in metrics[1:] if r.get("tokens_per_s")]
    vals = [r["val_loss"] for r in metrics if r.get("val_loss") is not None]
    return {"step": int(last["step"]), "minutes": float(last["elapsed_s"]) / 60.0,
            "tokens": int(last["tokens"]),
            "tokens_per_s": float(np.median(rates)) if rates else float("nan"),
            "first_val_loss": float(vals[0]) if vals else float("nan"),
            "best_val_loss": float(min(vals)) if vals else float("nan")}
