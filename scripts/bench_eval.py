"""Benchmark the evaluation: reward positions/s and match games/s on this machine.

    python scripts/bench_eval.py                     # defaults: 100 positions, 8 games per match
    python scripts/bench_eval.py --positions 400 --depth 8 --games 20

Positions come from expert-vs-expert games (the kind of states the reward analysis scores), one
every few plies. Prints one JSON object and writes it to --out.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from minitranscend.engine import SearchLimit
from minitranscend.evaluation.match import load_games, run_match
from minitranscend.evaluation.reward import (DEFAULT_REWARD_LIMIT, analyse_positions, describe_analysis,
                                             positions_from_games)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=100)
    ap.add_argument("--depth", type=int, default=None)
    ap.add_argument("--nodes", type=int, default=None)
    ap.add_argument("--games", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="bench_eval.json")
    args = ap.parse_args()
    limit = (SearchLimit(depth=args.depth, nodes=args.nodes)
             if args.depth or args.nodes else DEFAULT_REWARD_LIMIT)
    result: dict = {"workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        for label, a, b, kw in (("expert_vs_expert", "expert:default:0", "expert:default:1",
                                 dict(opening_plies=4)),
                                ("random_vs_expert", "random", "expert:default:0", {})):
            t = time.perf_counter()
            s = run_match(a, b, args.games, Path(tmp) / label, workers=args.workers, progress=False, **kw)
            dt = time.perf_counter() - t
            result[label] = {"games": args.games, "seconds": round(dt, 2),
                             "games_per_s": round(args.games / dt, 3), "mean_plies": s["mean_plies"],
                             "plies_per_s": round(args.games * s["mean_plies"] / dt, 1)}
        games = load_games(Path(tmp) / "expert_vs_expert")
        extra = 0
        while len(positions_from_games([g["moves"] for g in games], 10**9)) < args.positions:  # more games if needed
            extra += 1
            run_match("expert:default:2", "expert:default:3", 8, Path(tmp) / f"more{extra}",
                      workers=args.workers, seed=extra, opening_plies=4, progress=False)
            games += load_games(Path(tmp) / f"more{extra}")
        fens = positions_from_games([g["moves"] for g in games], args.positions)
        t = time.perf_counter()
        scores = analyse_positions(fens, limit, workers=args.workers, progress=False)
        dt = time.perf_counter() - t
        moves = sum(len(v) for v in scores.values())
        result["reward"] = {"positions": len(fens), "seconds": round(dt, 2),
                            "positions_per_s": round(len(fens) / dt, 2),
                            "mean_legal_moves": round(moves / len(fens), 1),
                            "est_seconds_per_1000_positions": round(1000 * dt / len(fens), 1),
                            "analysis": describe_analysis(limit)}
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
