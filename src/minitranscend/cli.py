"""The ``minitranscend`` command line.

Each area owns its sub-commands in its own module, through one function
``add_commands(subparsers)`` that adds a parser whose ``func`` default runs it:

    minitranscend data generate|lichess|stats|tokenize   (minitranscend.data.cli)
    minitranscend train --config ...                     (minitranscend.train)
    minitranscend eval reward|match|ratings              (minitranscend.evaluation.cli)
    minitranscend experiment ...                         (minitranscend.experiment.cli)
    minitranscend kg run|sample                          (minitranscend.kg)
    minitranscend book execute|build                     (minitranscend.book)
    minitranscend info                                   (here)
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys

import torch

from . import __version__
from .engine import StockfishNotFoundError, find_stockfish, stockfish_version

# Modules that contribute sub-commands. A module that is missing is skipped, so a partial
# checkout still has a working CLI.
COMMAND_MODULES = (
    "minitranscend.data.cli",
    "minitranscend.train",
    "minitranscend.evaluation.cli",
    "minitranscend.experiment",
    "minitranscend.kg",
    "minitranscend.book",
)


def _info(args: argparse.Namespace) -> int:
    info = {"minitranscend": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "cuda": torch.cuda.is_available()}
    try:
        info["stockfish"] = stockfish_version()
        info["stockfish_path"] = find_stockfish()
    except StockfishNotFoundError as e:
        info["stockfish"] = None
        print(e, file=sys.stderr)
    print(json.dumps(info, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minitranscend", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("info", help="versions of the package, torch and Stockfish")
    p.set_defaults(func=_info)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # that part of the package is not there (yet)
            raise
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StockfishNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted — rerun the same command to resume where it stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
