"""``minitranscend paper download|play|rate``: the paper's released models from the command line.

    minitranscend paper download --cap 1000                       # ckpt_100000.pt, checked
    minitranscend paper play --cap 1000 --tau 0.001 --level 1     # one game, PGN on stdout
    minitranscend paper rate --cap 1000 --taus 0.001 1.0 --games 20 --device cuda --out runs/paper/1000

``--checkpoint PATH`` instead of ``--cap`` uses a file you already have; ``--any-size`` accepts a
model of another size than the released 50M (e.g. the tiny stand-in the tests write).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .checkpoints import PAPER_PRESET, PaperCheckpointError, load_paper_checkpoint
from .download import PAPER_CAPS, PAPER_ITERATION, PaperDownloadError, download_paper_checkpoint
from .play import (PAPER_GAMES, PAPER_LEVELS, PAPER_MAX_PLIES, PAPER_MOVE_TIME, PAPER_TAUS, SAMPLERS,
                   play_paper_game, rate_paper_model, stockfish_opponent)


def _checkpoint(args: argparse.Namespace) -> Path:
    if args.checkpoint:
        return Path(args.checkpoint)
    if args.cap is None:
        raise PaperDownloadError("give --cap (download the released model) or --checkpoint PATH")
    return download_paper_checkpoint(args.cap, args.iteration, args.cache_dir)


def _expect(args: argparse.Namespace) -> str | None:
    return None if getattr(args, "any_size", False) else PAPER_PRESET


def _download(args: argparse.Namespace) -> int:
    path = _checkpoint(args)
    _, _, meta = load_paper_checkpoint(path, expect=_expect(args))
    print(json.dumps({k: meta[k] for k in ("path", "iter_num", "high_elo", "model_args", "params",
                                           "compiled", "val_loss")}, indent=2, default=str))
    return 0


def _play(args: argparse.Namespace) -> int:
    path = _checkpoint(args)
    opponent = args.opponent or str(stockfish_opponent(args.level, args.move_time))
    pgns = []
    for i in range(args.games):
        white = (i % 2 == 0) if args.color == "alternate" else args.color == "white"
        g = play_paper_game(path, args.tau, args.sampler, opponent, model_white=white,
                            seed=args.seed + i, device=args.device, expect=_expect(args),
                            max_plies=args.max_plies)
        print(f"game {i + 1}: {g.white} vs {g.black}: {g.result} ({g.termination}, {g.plies} plies)",
              file=sys.stderr)
        pgns.append(g.pgn)
    text = "\n\n".join(pgns) + "\n"
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


def _rate(args: argparse.Namespace) -> int:
    path = _checkpoint(args)
    res = rate_paper_model(path, args.out, taus=args.taus, levels=args.levels, games=args.games,
                           sampler=args.sampler, move_time=args.move_time, max_plies=args.max_plies,
                           seed=args.seed, workers=args.workers, device=args.device,
                           expect=_expect(args), n_boot=args.n_boot)
    print(f"{'tau':>6} {'ML rating':>10} {'95% interval':>17} {'Glicko-2 (paper)':>17} {'score':>6}")
    for r in res["temperature"]:
        gl = "" if r["glicko2"] is None else f"{r['glicko2']:.0f}"
        print(f"{r['tau']:>6g} {r['rating']:>10.0f} {r['lo']:>8.0f}..{r['hi']:<8.0f} {gl:>17} "
              f"{r['score']:>6.2f}")
    print(f"anchor: {res['settings']['anchor']} = {res['settings']['anchor_rating']:.0f} (the paper's "
          f"value); files in {args.out}")
    return 0


def _guarded(fn):
    """Run a handler; a checkpoint or download problem is one clear line and exit status 2."""
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (PaperCheckpointError, PaperDownloadError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return run


def _source(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--cap", type=int, choices=PAPER_CAPS, help="rating cap of the released model to download")
    g.add_argument("--checkpoint", help="a ckpt_<iter>.pt you already have")
    p.add_argument("--iteration", type=int, default=PAPER_ITERATION, help="training iteration (default %(default)s)")
    p.add_argument("--cache-dir", help="Hugging Face cache folder (default: the Hub's)")
    p.add_argument("--any-size", action="store_true",
                   help="accept a model of another size than the released 50M (tests, fixtures)")


def _playing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sampler", choices=SAMPLERS, default="paper",
                   help="paper: per-character with 5 retries; move: exact move-level temperature")
    p.add_argument("--move-time", type=float, default=PAPER_MOVE_TIME, help="Stockfish seconds per move")
    p.add_argument("--max-plies", type=int, default=PAPER_MAX_PLIES, help="ply cap, then a draw")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paper", help="the paper's released ChessFormers: download, play, rate")
    psub = p.add_subparsers(dest="paper_command", required=True, metavar="ACTION")

    d = psub.add_parser("download", help="fetch (or find cached) a released checkpoint and check it")
    _source(d)
    d.set_defaults(func=_guarded(_download))

    q = psub.add_parser("play", help="play games against Stockfish (or --opponent SPEC); PGN out")
    _source(q)
    _playing(q)
    q.add_argument("--tau", type=float, default=0.001)
    q.add_argument("--level", type=int, default=1, help="Stockfish Skill Level (default %(default)s)")
    q.add_argument("--opponent", help="a player spec instead of Stockfish --level")
    q.add_argument("--games", type=int, default=1)
    q.add_argument("--color", choices=("white", "black", "alternate"), default="alternate")
    q.add_argument("--out", help="write the PGN here instead of stdout")
    q.set_defaults(func=_guarded(_play))

    r = psub.add_parser("rate", help="ratings against Stockfish Skill 1/3/5 at each temperature")
    _source(r)
    _playing(r)
    r.add_argument("--out", required=True, help="folder for matches and ratings (resumable)")
    r.add_argument("--taus", type=float, nargs="+", default=list(PAPER_TAUS))
    r.add_argument("--levels", type=int, nargs="+", default=list(PAPER_LEVELS))
    r.add_argument("--games", type=int, default=PAPER_GAMES, help="games per (tau, level)")
    r.add_argument("--workers", type=int, default=1, help="game processes (1 with a GPU)")
    r.add_argument("--n-boot", type=int, default=500, help="bootstrap resamples for the intervals")
    r.set_defaults(func=_guarded(_rate))
