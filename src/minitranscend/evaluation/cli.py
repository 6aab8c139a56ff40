"""``minitranscend eval reward|match|ratings``: the evaluation commands, each writing JSON/CSV.

Players are given as spec strings (see ``minitranscend eval match --help``)::

    minitranscend eval match --a expert:default:0 --b "stockfish:nodes=100" --games 20 --out runs/ci/m1
    minitranscend eval reward --positions fens.txt --policy random --policy expert:default:0 \\
        --policy oracle --depth 8 --out runs/ci/reward
    minitranscend eval ratings --matches runs/ci/m1 runs/ci/m2 --anchor random --out runs/ci/ratings
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import chess

from ..engine import SearchLimit
from ..player_specs import PlayerSpec, spec_help
from ..referee import DEFAULT_MAX_PLIES
from ..store import atomic_write_csv, atomic_write_json
from .match import check_unique_labels, load_games, run_match
from .ratings import ANCHOR, games_from_matches, ratings_table
from .reward import (DEFAULT_REWARD_LIMIT, analyse_positions, describe_analysis, evaluate_rewards,
                     summarize_rewards, write_reward_results)


def _limit(args):
    if args.depth is None and args.nodes is None:
        return DEFAULT_REWARD_LIMIT
    return SearchLimit(nodes=args.nodes, depth=args.depth)


def _read_positions(path: str):
    """One position per line: a FEN, or UCI moves from the start (keeps the move history, which
    move-history models need)."""

    p = Path(path)
    if not p.exists():
        raise SystemExit(f"error: positions file {path!r} not found (one FEN or UCI move list per line)")
    out = []
    for ln in p.read_text().splitlines():
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        if "/" in ln:
            out.append(chess.Board(ln))
        else:
            b = chess.Board()
            for u in ln.split():
                b.push_uci(u)
            out.append(b)
    if not out:
        raise SystemExit(f"error: {path!r} holds no positions")
    return out


def _reward(args: argparse.Namespace) -> int:
    fens = [b for b in _read_positions(args.positions) if not b.is_game_over()]
    limit = _limit(args)
    scores = analyse_positions(fens, limit, workers=args.workers, cache_dir=args.cache_dir or Path(args.out) / "cache")
    policies, built = {}, []
    for text in args.policy:
        if text == "oracle":
            policies["oracle"] = "oracle"
            continue
        spec = PlayerSpec.parse(text)
        player = spec.build()
        built.append(player)
        policies[spec.label] = player
    try:
        rewards = evaluate_rewards(policies, fens, scores)
    finally:
        for p in built:
            p.close()
    baseline = args.baseline if args.baseline in rewards else None
    summary = summarize_rewards(rewards, baseline=baseline, n_boot=args.boot, seed=args.seed)
    files = write_reward_results(args.out, rewards, fens, describe_analysis(limit), summary,
                                 extra={"policies": args.policy})
    print(json.dumps(summary, indent=2))
    print(f"wrote {', '.join(str(f) for f in files.values())}")
    return 0


def _match(args: argparse.Namespace) -> int:
    summary = run_match(args.a, args.b, args.games, args.out, workers=args.workers, seed=args.seed,
                        opening_plies=args.opening_plies, book=args.book, max_plies=args.max_plies)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _ratings(args: argparse.Namespace) -> int:
    check_unique_labels(args.matches)
    games = []
    for d in args.matches:
        recs = load_games(d)
        if not recs:
            raise SystemExit(f"error: {d} holds no finished games (games.jsonl); run eval match first")
        games += games_from_matches(recs)
    pinned = dict(_pin(p) for p in args.pin) if args.pin else None
    rows = ratings_table(games, args.anchor, args.anchor_rating, pinned=pinned, n_boot=args.boot,
                         seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"method": "maximum-likelihood Elo (Bradley-Terry, draws = half wins), bootstrap over games",
            "anchor": args.anchor, "anchor_rating": args.anchor_rating, "n_games": len(games),
            "glicko2_pinned": pinned, "matches": [str(d) for d in args.matches]}
    atomic_write_json(out / "ratings.json", {**meta, "ratings": rows}, indent=2)
    atomic_write_csv(out / "ratings.csv", rows)
    print(json.dumps(rows, indent=2))
    return 0


def _pin(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    if not sep:
        raise SystemExit(f"error: --pin wants NAME=RATING, got {text!r}")
    return name, float(value)


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("eval", help="per-state reward, matches, ratings")
    sub = p.add_subparsers(dest="eval_command", required=True, metavar="WHAT")

    r = sub.add_parser("reward", help="exact per-state reward of policies, scored by Stockfish",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=spec_help() +
                       "\n  oracle                              the best-scored move in every state")
    r.add_argument("--positions", required=True,
                   help="text file, one position per line: a FEN or UCI moves from the start")
    r.add_argument("--policy", action="append", required=True, help="player spec (repeatable)")
    r.add_argument("--baseline", default=None, help="policy label for paired differences")
    r.add_argument("--depth", type=int, default=None, help="search depth per position (default 8)")
    r.add_argument("--nodes", type=int, default=None, help="node limit instead of depth")
    r.add_argument("--workers", type=int, default=2,
                   help="processes, each with one Stockfish (hash 16 MB, ~136 MB) (default 2)")
    r.add_argument("--cache-dir", default=None, help="score cache (default OUT/cache)")
    r.add_argument("--boot", type=int, default=2000)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", required=True)
    r.set_defaults(func=_reward)

    m = sub.add_parser("match", help="play a resumable match between two players",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=spec_help())
    m.add_argument("--a", required=True, help="player A spec (white in even games)")
    m.add_argument("--b", required=True, help="player B spec")
    m.add_argument("--games", type=int, required=True)
    m.add_argument("--out", required=True, help="match directory (rerun to resume)")
    m.add_argument("--workers", type=int, default=2,
                   help="processes, each building both players: one Stockfish (hash 16 MB, ~136 MB) "
                        "per engine player, a model's weights per model player (default 2)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--opening-plies", type=int, default=0, help="random plies before play")
    m.add_argument("--book", action="store_true", help="start from the built-in book openings")
    m.add_argument("--max-plies", type=int, default=DEFAULT_MAX_PLIES, help="ply cap, scored as a draw")
    m.set_defaults(func=_match)

    t = sub.add_parser("ratings", help="ML Elo (+ bootstrap) and Glicko-2 from match directories")
    t.add_argument("--matches", nargs="+", required=True, help="match directories")
    t.add_argument("--anchor", default=ANCHOR[0],
                   help=f"player name whose rating is fixed (default {ANCHOR[0]})")
    t.add_argument("--anchor-rating", type=float, default=ANCHOR[1],
                   help=f"its rating (default {ANCHOR[1]:g}: the course's one scale)")
    t.add_argument("--pin", action="append", default=[],
                   help="NAME=RATING pinned for the paper's Glicko-2 (repeatable)")
    t.add_argument("--boot", type=int, default=500)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True)
    t.set_defaults(func=_ratings)
