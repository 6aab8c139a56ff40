"""Training: one loop for every model, checkpoints that resume exactly.

One module per concern:

* :mod:`.loop` — :func:`fit`, the generic loop (nanoGPT's): any model returning
  ``(logits, loss)``, any batch function ``get_batch(split, i)``, an optimizer and a
  learning-rate schedule; evaluation, metrics and checkpoint hooks. The chess models and the
  knowledge-graph transformer of chapter 8 (:mod:`minitranscend.kg.learners`) both train with it.
* :mod:`.config` — :class:`TrainConfig`, the settings of a chess run, and its schedule
  :func:`learning_rate` (linear warmup, cosine decay, optionally following the clock).
* :mod:`.dataset` — chess data: the held-out split by game (:func:`is_val_game`), tokenized
  arrays cached as ``.npz`` (:func:`build_dataset`), DDP shards, batches that are a pure
  function of their index (so a resumed run is bit for bit the uninterrupted one).
* :mod:`.checkpoints` — :func:`save_checkpoint`, :func:`read_checkpoint`,
  :func:`load_checkpoint` and :class:`CheckpointError`.
* :mod:`.run` — :func:`train`: a chess run end to end, resuming a killed one.
* :mod:`.figure` — :func:`read_metrics` and :func:`loss_figure`.
* :mod:`.cli` — ``minitranscend train``.
"""
from .checkpoints import (BEST_NAME, CKPT_FORMAT, CKPT_NAME, CheckpointError, load_checkpoint,
                          read_checkpoint, save_checkpoint)
from .cli import add_commands
from .config import TOKENIZERS, TRAIN_DEFAULTS, TrainConfig, learning_rate
from .dataset import build_dataset, game_split, is_val_game, make_get_batch, make_tokenizer, shard_for_rank
from .figure import loss_figure, read_metrics
from .loop import (EVAL_OFFSET, FitConfig, FitState, autocast_context, estimate_loss, fit,
                   resolve_device)
from .run import model_config_for, train

__all__ = ["BEST_NAME", "CKPT_FORMAT", "CKPT_NAME", "CheckpointError", "load_checkpoint",
           "read_checkpoint", "save_checkpoint", "add_commands", "TOKENIZERS", "TRAIN_DEFAULTS",
           "TrainConfig", "learning_rate", "build_dataset", "game_split", "is_val_game", "make_get_batch",
           "make_tokenizer", "shard_for_rank", "loss_figure", "read_metrics", "EVAL_OFFSET",
           "FitConfig", "FitState", "autocast_context", "estimate_loss", "fit", "resolve_device",
           "model_config_for", "train"]
