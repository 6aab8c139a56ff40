"""``minitranscend train``: settings from ``--config FILE.json`` and flags, then :func:`~.run.train`."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..model import PRESETS
from .config import TOKENIZERS, TrainConfig
from .run import train


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
    summary = train(TrainConfig.from_dict(d), allow_incomplete=args.allow_incomplete,
                    require_manifest=True)
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
    p.add_argument("--allow-incomplete", action="store_true",
                   help="train on a dataset whose manifest is missing or says it is unfinished")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="require a checkpoint in --out and continue it")
    g.add_argument("--fresh", action="store_true", help="ignore any checkpoint in --out and start over")
    p.set_defaults(func=_train_command)
