"""``minitranscend data generate|lichess|stats|tokenize``."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..paths import PROFILES, run_dir
from ..players import default_experts
from ..store import atomic_write_json
from ..tokenizers import load_tokens, tokenize_dataset
from .generate import generate_games, load_experts
from .lichess import convert_lichess
from .records import check_dataset, iter_games
from .stats import dataset_stats, diversity


def _default_out(args: argparse.Namespace, name: str) -> Path:
    return Path(args.out) if args.out else run_dir(args.profile, "data", name)


def _generate(args: argparse.Namespace) -> int:
    experts = default_experts() if args.experts == "default" else load_experts(args.experts)
    out = _default_out(args, "experts")
    t0 = time.perf_counter()
    m = generate_games(out, experts, args.games, seed=args.seed, workers=args.workers,
                       max_plies=args.max_plies, shard_size=args.shard_size)
    dt = time.perf_counter() - t0
    print(f"{m['n_games']} games, {m['n_plies']} plies in {out} ({dt:.1f} s this run); "
          f"fingerprint {m['fingerprint'][:12]}")
    return 0


def _lichess(args: argparse.Namespace) -> int:
    out = _default_out(args, f"lichess-{args.max_elo or 'all'}")
    m = convert_lichess(args.input, out, max_elo=args.max_elo, time_controls=args.time_control,
                        limit=args.limit, shard_size=args.shard_size)
    print(json.dumps({"out": str(out), **m["counts"]}, indent=2))
    return 0


def _stats(args: argparse.Namespace) -> int:
    data = Path(args.data) if args.data else run_dir(args.profile, "data", "experts")
    if not data.exists():
        raise FileNotFoundError(f"no dataset at {data} — make one with `minitranscend data "
                                "generate` or `data lichess`, or pass --data")
    check_dataset(data, allow_incomplete=args.allow_incomplete, require_manifest=True)
    stats = dataset_stats(iter_games(data))
    stats["diversity"] = diversity(iter_games(data), max_ply=args.max_ply, min_count=args.min_count)
    atomic_write_json(data / "stats.json", stats, indent=2)
    print(json.dumps(stats, indent=2))
    return 0


def _tokenize(args: argparse.Namespace) -> int:
    data = Path(args.data) if args.data else run_dir(args.profile, "data", "experts")
    path = tokenize_dataset(data, args.tokenizer)
    tg = load_tokens(data, args.tokenizer)
    print(f"{path}: {len(tg)} games, {len(tg.tokens)} tokens ({tg.tokenizer.vocab_size}-token vocabulary)")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="generate expert games, read Lichess, statistics, tokens")
    sub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--profile", default="ci", choices=PROFILES,
                       help="where default paths go: runs/<profile>/data/... (default ci)")

    g = sub.add_parser("generate", help="expert self-play games (resumes an interrupted run)")
    g.add_argument("--games", type=int, default=200, help="number of games (default 200)")
    g.add_argument("--out", help="output directory (default runs/<profile>/data/experts)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--workers", type=int, default=None,
                   help="processes; each runs one Stockfish per expert (hash 16 MB, ~136 MB each: "
                        "~0.6 GB per worker with the 4 default experts). Default: the usable cores, "
                        "but no more than the available memory holds")
    g.add_argument("--experts", default="default",
                   help="'default' (players.default_experts) or a JSON file with a list of ExpertConfig fields")
    g.add_argument("--max-plies", type=int, default=250, help="ply cap, scored as a draw (default 250)")
    g.add_argument("--shard-size", type=int, default=100, help="games per shard (default 100)")
    common(g)
    g.set_defaults(func=_generate)

    l = sub.add_parser("lichess", help="filter a Lichess .pgn/.pgn.zst dump into game shards")
    l.add_argument("--in", dest="input", required=True, help="a .pgn or .pgn.zst file")
    l.add_argument("--out", help="output directory (default runs/<profile>/data/lichess-<max-elo>)")
    l.add_argument("--max-elo", type=int, help="keep a game only if max(WhiteElo, BlackElo) <= this")
    l.add_argument("--time-control", action="append",
                   help="keep only these TimeControl values ('600+0') or base-second ranges "
                        "('300..900'); repeatable")
    l.add_argument("--limit", type=int, help="stop after this many kept games")
    l.add_argument("--shard-size", type=int, default=10_000)
    common(l)
    l.set_defaults(func=_lichess)

    s = sub.add_parser("stats", help="dataset statistics and diversity (prints JSON, writes stats.json)")
    s.add_argument("--data", help="dataset directory (default runs/<profile>/data/experts)")
    s.add_argument("--max-ply", type=int, default=16)
    s.add_argument("--min-count", type=int, default=100,
                   help="diversity uses states seen more than this many times (paper: 100)")
    s.add_argument("--allow-incomplete", action="store_true",
                   help="describe a dataset whose manifest is missing or says it is unfinished")
    common(s)
    s.set_defaults(func=_stats)

    t = sub.add_parser("tokenize", help="write tokens-<tokenizer>.npz beside the shards")
    t.add_argument("--tokenizer", choices=("char", "move"), default="move")
    t.add_argument("--data", help="dataset directory (default runs/<profile>/data/experts)")
    common(t)
    t.set_defaults(func=_tokenize)
