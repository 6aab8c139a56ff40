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
import traceback

import torch

from . import __version__
from .data.records import IncompleteDatasetError
from .engine import EngineStartError, StockfishNotFoundError, find_stockfish, stockfish_version
from .store import DamagedFileError
from .train.checkpoints import CheckpointError

# Modules that contribute sub-commands. A module that is missing is skipped, so a partial
# checkout still has a working CLI.
COMMAND_MODULES = (
    "minitranscend.data.cli",
    "minitranscend.train",
    "minitranscend.evaluation.cli",
    "minitranscend.experiment",
    "minitranscend.kg",
    "minitranscend.book",
    "minitranscend.paper.cli",
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
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full traceback instead of one line")
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


# Errors a user can cause and fix (bad settings, missing or damaged files, a missing engine):
# they get one line, not a traceback. Anything else is a bug and keeps its traceback.
# Each with what to do when its message does not already say it (after " — ").
ANTICIPATED: tuple[tuple[type[BaseException], str], ...] = (
    (StockfishNotFoundError, "install it (Debian/Ubuntu: sudo apt-get install stockfish; macOS: "
                             "brew install stockfish) or export STOCKFISH_PATH=/path/to/stockfish"),
    (EngineStartError, "point STOCKFISH_PATH at a Stockfish binary"),
    (IncompleteDatasetError, "finish the run that writes it (rerun its command)"),
    (DamagedFileError, "fix or remove the damaged line by hand"),
    (CheckpointError, "use a new --out, or start over with --fresh"),
    (FileNotFoundError, "check the path, or create the file with the command that makes it"),
    (json.JSONDecodeError, "fix the JSON file (or delete it if a command wrote it)"),
    (ValueError, "fix that setting and rerun (--help lists the options)"),
)


def error_line(e: BaseException) -> str | None:
    """``error: <what is wrong> — <what to do>`` for an anticipated error, else None.

    One line, whatever the message: a multi-line message keeps its first line (``--debug``
    shows the rest with the traceback)."""
    for kind, fix in ANTICIPATED:
        if isinstance(e, kind):
            break
    else:
        return None
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    what = lines[0] if lines else type(e).__name__
    if isinstance(e, StockfishNotFoundError):
        what = "Stockfish was not found" + (f" ({what})" if "STOCKFISH_PATH" in what else "")
    if isinstance(e, FileNotFoundError) and not isinstance(e, StockfishNotFoundError) \
            and e.filename and str(e.filename) not in what:
        what = f"{what}: {e.filename}"
    return f"error: {what}" + ("" if " — " in what else f" — {fix}")


def main(argv: list[str] | None = None) -> int:
    """Run one command. Anticipated errors print :func:`error_line` and return 2 (``--debug``:
    the traceback too); Ctrl-C returns 130 with how to resume."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted — rerun the same command to resume where it stopped", file=sys.stderr)
        return 130
    except Exception as e:
        line = error_line(e)
        if line is None:
            raise
        if args.debug:
            traceback.print_exc()
        print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
