"""``minitranscend experiment``: run the experiment end to end, print its table, publish it."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

from ..settings import DATASETS, PROFILES, experiment_config
from .history import history_stage
from .report import history_markdown, results_markdown
from .shipped import publish, published
from .stages import run


def _command(args: argparse.Namespace) -> int:
    cfg = experiment_config(args.profile)
    if args.workers:
        cfg = replace(cfg, workers=args.workers)
    if args.seeds is not None:
        if args.seeds < 1:
            raise SystemExit("error: --seeds must be at least 1 — e.g. --seeds 3")
        cfg = replace(cfg, train_seeds=tuple(range(args.seeds)))
    if args.published:
        source = published(cfg.profile)
        if source is None:
            raise SystemExit(f"no shipped results for profile {cfg.profile!r} in this installation")
        print(results_markdown(cfg, source=source))
        return 0
    if args.history:
        print(history_markdown(history_stage(cfg)))
        if args.publish:
            print(f"published to {publish(cfg)}")
        return 0
    if not args.report:
        print(json.dumps(run(cfg, tuple(args.dataset or DATASETS)), indent=2, default=str))
    print(results_markdown(cfg))
    if args.publish:
        print(f"published to {publish(cfg)}")
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run the main experiment end to end (resumable)")
    p.add_argument("--profile", choices=PROFILES, default="ci")
    p.add_argument("--dataset", choices=DATASETS, action="append",
                   help="only this dataset (repeatable; default: A and B)")
    p.add_argument("--workers", type=int, help="processes for games and analysis (default 2)")
    p.add_argument("--seeds", type=int, metavar="N",
                   help="train N models per dataset, seeds 0..N-1 (default: the profile's; "
                        "a different number is a different run, in its own folders)")
    p.add_argument("--report", action="store_true",
                   help="only print the results table from the files a finished run wrote")
    p.add_argument("--published", action="store_true",
                   help="only print the results table of the results shipped in the package")
    p.add_argument("--history", action="store_true",
                   help="train and measure dataset A's model that also reads the mover's last "
                        "moves (chapter 7's last section; after the main run, which it resumes "
                        "if needed)")
    p.add_argument("--publish", action="store_true",
                   help="copy the results and checkpoints into the package (for the book)")
    p.set_defaults(func=_command)
