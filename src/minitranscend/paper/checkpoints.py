"""Read the paper's released ChessFormer checkpoints into this package's :class:`~minitranscend.model.GPT`.

The format, as the authors' code writes and reads it (``KempnerInstitute/chess-research``,
``chess_research/train.py``, the dict saved every ``save_interval`` iterations, and the loaders of
``chess_research/eval/evaluation.py`` and ``eval/player.py``)::

    {"model": raw_model.state_dict(),        # nanoGPT names; "_orig_mod." before every key when
                                             # the run used torch.compile (the 50M runs did)
     "optimizer": optimizer.state_dict(),
     "model_args": {"n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size", "dropout"},
     "iter_num": int, "val_loss": tensor, "train_loss": tensor,
     "config": dataclasses.asdict(Config)}  # the run's settings: high_elo, elo_condition, ...

saved as ``ckpt_<iter_num>.pt``. Their vocabulary is ``Globals.meta`` in
``chess_research/globals.py``: 32 characters, ids in the order of
:data:`minitranscend.tokenizers.CHAR_VOCAB` (``' #+-.0123456789;=BKNOQRabcdefghx'``), so
:class:`~minitranscend.tokenizers.CharTokenizer` reads their ids unchanged. Their win-conditioned
variant adds ``W``, ``L``, ``D`` (vocabulary 35); that is another model and is refused here.

Why a separate loader from :func:`minitranscend.train.load_checkpoint`: that one reads this
package's own format (tokenizer, data fingerprint, exact resume state). The authors' files carry
none of that, so everything this loader can check it checks *against the weights themselves*: the
vocabulary (32, and the embedding's rows), every tensor's shape, ``model_args`` against the
weights and (optionally) against the ``chessformer-50m`` preset, finite values; and it says
plainly what is wrong, because a mismatch would otherwise surface as a model that plays nonsense.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Mapping

import torch

from ..model import GPT, GPTConfig, PRESETS
from ..tokenizers import CHAR_VOCAB, CharTokenizer
from ..train.checkpoints import CKPT_FORMAT, CheckpointError

COMPILE_PREFIX = "_orig_mod."  # torch.compile's wrapper puts this before every parameter name
PAPER_VOCAB_SIZE = 32
# The keys the authors' train.py writes (and their loaders read: "model", "model_args").
REQUIRED_KEYS = ("model", "model_args")
AUTHORS_KEYS = ("model", "optimizer", "model_args", "iter_num", "val_loss", "train_loss", "config")
MODEL_ARG_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size")
PAPER_PRESET = "chessformer-50m"  # 16 layers, 8 heads, d_model 512, context 1023


class PaperCheckpointError(CheckpointError):
    """A file that is not a usable checkpoint of the paper's: the message names what is wrong."""


def _read(path: Path, trust_pickle: bool) -> Any:
    if not path.is_file():
        raise PaperCheckpointError(
            f"no checkpoint at {path}; download one with `minitranscend paper download --cap 1000` "
            "(or minitranscend.paper.download_paper_checkpoint)")
    size = path.stat().st_size
    try:
        # weights_only: a downloaded pickle must not run code. The authors' dict holds only
        # tensors, numbers, strings, lists and dicts, which weights_only reads.
        return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as e:
        if "weights_only" in str(e).lower() or "weights only" in str(e).lower():
            raise PaperCheckpointError(
                f"{path} holds Python objects that a safe load refuses ({str(e)[:200]}); if you "
                "trust the file's source, load it with trust_pickle=True") from e
        raise PaperCheckpointError(_corrupt(path, size, e)) from e
    except Exception as e:  # torch raises RuntimeError, EOFError, zipfile errors... for a torn file
        raise PaperCheckpointError(_corrupt(path, size, e)) from e


def _corrupt(path: Path, size: int, e: BaseException) -> str:
    return (f"{path} ({size:,} bytes) is not a readable PyTorch checkpoint "
            f"({type(e).__name__}: {str(e)[:200]}); the file is truncated or corrupted (an "
            "interrupted download?): delete it and download it again")


def strip_compile_prefix(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The state dict without torch.compile's ``_orig_mod.`` prefix (as the authors' loaders do)."""
    return {k[len(COMPILE_PREFIX):] if k.startswith(COMPILE_PREFIX) else k: v
            for k, v in state_dict.items()}


def _config_from_args(model_args: Mapping[str, Any], path: Path) -> GPTConfig:
    missing = [k for k in MODEL_ARG_KEYS if k not in model_args]
    if missing:
        raise PaperCheckpointError(f"{path}: model_args lacks {missing} (has {sorted(model_args)}); "
                                   "not a nanoGPT checkpoint of the authors' training code")
    vocab = model_args["vocab_size"]
    if vocab != PAPER_VOCAB_SIZE:
        hint = (" (35 is the authors' win-conditioned vocabulary: the 32 characters plus W, L, D)"
                if vocab == 35 else "")
        raise PaperCheckpointError(
            f"{path}: model_args vocab_size is {vocab}, not the paper's {PAPER_VOCAB_SIZE}-character "
            f"vocabulary {CHAR_VOCAB!r}{hint}; this loader reads only models over that vocabulary")
    try:
        return GPTConfig(vocab_size=int(vocab), block_size=int(model_args["block_size"]),
                         n_layer=int(model_args["n_layer"]), n_head=int(model_args["n_head"]),
                         n_embd=int(model_args["n_embd"]), dropout=0.0,
                         bias=bool(model_args["bias"]))
    except (TypeError, ValueError) as e:
        raise PaperCheckpointError(f"{path}: model_args {dict(model_args)} do not describe a model: {e}") from e


def _check_expected(config: GPTConfig, expect: str | Mapping[str, Any] | None, path: Path) -> None:
    if expect is None:
        return
    want = dict(PRESETS[expect]) if isinstance(expect, str) else dict(expect)
    diff = {k: (getattr(config, k), v) for k, v in want.items() if getattr(config, k, None) != v}
    if diff:
        name = expect if isinstance(expect, str) else "the expected config"
        raise PaperCheckpointError(
            f"{path}: model_args differ from {name}: "
            + ", ".join(f"{k}={got} (expected {v})" for k, (got, v) in diff.items()))


def _check_weights(state: dict[str, torch.Tensor], model: GPT, path: Path) -> dict[str, torch.Tensor]:
    """Every key and shape against the model ``model_args`` describe; returns the dict to load."""
    # The authors' attention registers its causal mask as a buffer ("attn.bias", 1x1xTxT) only
    # when PyTorch lacks flash attention; it is not a weight, and this model builds its own mask.
    state = {k: v for k, v in state.items()
             if not (k.endswith(".attn.bias") and getattr(v, "dim", lambda: 0)() == 4)}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise PaperCheckpointError(
            f"{path}: the weights do not match a nanoGPT model with these model_args: "
            + (f"missing {len(missing)} key(s) {missing[:5]}" if missing else "")
            + ("; " if missing and unexpected else "")
            + (f"unexpected {len(unexpected)} key(s) {unexpected[:5]}" if unexpected else ""))
    not_tensors = [k for k in own if not isinstance(state[k], torch.Tensor)]
    if not_tensors:
        raise PaperCheckpointError(f"{path}: {not_tensors[:5]} are not tensors: a damaged file")
    bad = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in own.items()
           if state[k].shape != v.shape]
    if bad:
        rows = "; ".join(f"{k}: {got} in the file, {want} expected" for k, got, want in bad[:5])
        raise PaperCheckpointError(f"{path}: {len(bad)} tensor shape mismatch(es) with model_args: {rows}")
    rows = state["transformer.wte.weight"].shape[0]
    if rows != PAPER_VOCAB_SIZE:  # unreachable after the shape check; kept as the one clear message
        raise PaperCheckpointError(f"{path}: the token embedding has {rows} rows, not {PAPER_VOCAB_SIZE}")
    if not torch.equal(state["transformer.wte.weight"], state["lm_head.weight"]):
        raise PaperCheckpointError(f"{path}: lm_head.weight differs from transformer.wte.weight; the "
                                   "paper's nanoGPT ties them, so this is another model or a damaged file")
    nonfinite = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if nonfinite:
        raise PaperCheckpointError(f"{path}: non-finite values (NaN/inf) in {nonfinite[:5]}: damaged weights")
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_paper_checkpoint(path: str | os.PathLike, device: str = "cpu",
                          expect: str | Mapping[str, Any] | None = None,
                          trust_pickle: bool = False) -> tuple[GPT, CharTokenizer, dict[str, Any]]:
    """``(model in eval mode, CharTokenizer, meta)`` from a ``ckpt_<iter>.pt`` of the paper.

    ``expect``: a preset name (``"chessformer-50m"``, what the released 50M models are) or a dict
    of :class:`~minitranscend.model.GPTConfig` fields that ``model_args`` must match; None checks
    only that the file is self-consistent (what a small test checkpoint needs).
    ``meta``: ``iter_num``, ``model_args``, the run's ``config`` (``high_elo`` is the rating cap),
    losses, ``compiled`` (whether the keys carried ``_orig_mod.``) and ``path``.
    Raises :class:`PaperCheckpointError` naming the problem: missing file, truncated or corrupted
    file, another vocabulary, missing keys, shape mismatches, ``model_args`` other than
    ``expect``, an Elo- or win-conditioned run (it expects a prompt this harness does not write).
    """
    path = Path(path)
    ckpt = _read(path, trust_pickle)
    if not isinstance(ckpt, dict):
        raise PaperCheckpointError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint dict")
    if ckpt.get("format") == CKPT_FORMAT:
        raise PaperCheckpointError(f"{path} is a minitranscend checkpoint, not one of the paper's; "
                                   "load it with minitranscend.train.load_checkpoint")
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise PaperCheckpointError(f"{path}: missing key(s) {missing} (found {sorted(ckpt)}); the "
                                   f"authors' train.py saves {list(AUTHORS_KEYS)}")
    if not isinstance(ckpt["model"], Mapping) or not isinstance(ckpt["model_args"], Mapping):
        raise PaperCheckpointError(f"{path}: 'model' and 'model_args' must be dicts")
    run = ckpt.get("config") if isinstance(ckpt.get("config"), Mapping) else {}
    for flag, what in (("elo_condition", "Elo-conditioned"), ("win_condition", "win-conditioned")):
        if run.get(flag):
            raise PaperCheckpointError(
                f"{path}: the run was {what} ({flag}=True in its config); it expects a prompt "
                "prefix that this harness does not write. Use a No-Elo-Conditioning model")
    config = _config_from_args(ckpt["model_args"], path)
    _check_expected(config, expect, path)
    raw = ckpt["model"]
    compiled = any(k.startswith(COMPILE_PREFIX) for k in raw)
    model = GPT(config)
    state = _check_weights(strip_compile_prefix(raw), model, path)
    model.load_state_dict(state)
    model.to(device).eval()

    def _num(x: Any) -> float | None:
        return float(x) if isinstance(x, (int, float, torch.Tensor)) else None

    meta = {"path": str(path), "format": "nanogpt (KempnerInstitute/chess-research)",
            "iter_num": ckpt.get("iter_num"), "model_args": dict(ckpt["model_args"]),
            "config": dict(run), "high_elo": run.get("high_elo"),
            "val_loss": _num(ckpt.get("val_loss")), "train_loss": _num(ckpt.get("train_loss")),
            "compiled": compiled, "params": model.num_params()}
    return model, CharTokenizer(), meta


def save_paper_format_checkpoint(path: str | os.PathLike, model: GPT, iter_num: int = 0,
                                 config: Mapping[str, Any] | None = None, compiled: bool = True,
                                 ) -> Path:
    """Write ``model`` as the authors' ``train.py`` does (same keys, ``_orig_mod.`` prefixes when
    ``compiled``), e.g. a tiny stand-in for the released models in CI, where nothing can be
    downloaded. The optimizer entry is an empty AdamW state (the released files hold a full one)."""
    c = model.config
    if c.vocab_size != PAPER_VOCAB_SIZE or not c.causal:
        raise ValueError(f"the paper's format is for causal models over {PAPER_VOCAB_SIZE} characters")
    prefix = COMPILE_PREFIX if compiled else ""
    model_args = dict(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd, block_size=c.block_size,
                      bias=c.bias, vocab_size=c.vocab_size, dropout=c.dropout)
    ckpt = {"model": {prefix + k: v for k, v in model.state_dict().items()},
            "optimizer": torch.optim.AdamW(model.parameters()).state_dict(),
            "model_args": model_args, "iter_num": int(iter_num),
            "val_loss": torch.tensor(-1.0), "train_loss": torch.tensor(-1.0),  # as their debug runs
            "config": dict(config or {"high_elo": 1000, "elo_condition": False,
                                      "win_condition": False, "compile": compiled})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path
