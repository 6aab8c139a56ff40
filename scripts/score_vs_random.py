"""Score of a trained model against the uniformly random player (a sanity floor for a model).

A stand-in for the real match runner (minitranscend.evaluation): alternate colours, cap games at
``--max-plies`` (capped games are draws), score = wins + draws / 2, with a 95% Wilson interval on
the score and a bootstrap interval over games.

    python scripts/score_vs_random.py CKPT --tau 0.001 --games 100 --out result.json
"""
from __future__ import annotations

import argparse
import json
import math
import time

import chess
import numpy as np
from tqdm import tqdm

from minitranscend.players import RandomPlayer
from minitranscend.policy import ModelPlayer


def play(white, black, seed: int, max_plies: int) -> tuple[str, int]:
    white.new_game(seed)
    black.new_game(seed + 1_000_000)
    board = chess.Board()
    while len(board.move_stack) < max_plies:
        outcome = board.outcome(claim_draw=True)
        if outcome is not None:
            return outcome.result(), len(board.move_stack)
        player = white if board.turn == chess.WHITE else black
        board.push(player.choose(board))
    outcome = board.outcome(claim_draw=True)
    return (outcome.result() if outcome else "1/2-1/2"), len(board.move_stack)


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--tau", type=float, default=0.001)
    ap.add_argument("--games", type=int, default=100)
    ap.add_argument("--max-plies", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out")
    args = ap.parse_args()

    model = ModelPlayer.from_checkpoint(args.checkpoint, tau=args.tau, seed=args.seed)
    rand = RandomPlayer(seed=args.seed)
    scores, rows, t0 = [], [], time.time()
    for g in tqdm(range(args.games), desc="games"):
        model_white = g % 2 == 0
        w, b = (model, rand) if model_white else (rand, model)
        result, plies = play(w, b, args.seed + g, args.max_plies)
        s = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}[result]
        s = s if model_white else 1.0 - s
        scores.append(s)
        rows.append({"game": g, "model_white": model_white, "result": result, "plies": plies, "model_score": s})
    sc = np.asarray(scores)
    rng = np.random.default_rng(0)
    boot = rng.choice(sc, size=(10_000, len(sc))).mean(1)
    summary = {
        "checkpoint": args.checkpoint, "tau": args.tau, "games": len(sc), "max_plies": args.max_plies,
        "score": float(sc.mean()), "wins": int((sc == 1).sum()), "draws": int((sc == 0.5).sum()),
        "losses": int((sc == 0).sum()), "wilson95": wilson(float(sc.mean()), len(sc)),
        "bootstrap95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
        "capped": sum(r["plies"] >= args.max_plies and r["result"] == "1/2-1/2" for r in rows),
        "mean_plies": float(np.mean([r["plies"] for r in rows])), "seconds": round(time.time() - t0, 1),
        "model": model.describe(),
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "model"}, indent=2))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({**summary, "games_detail": rows}, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
