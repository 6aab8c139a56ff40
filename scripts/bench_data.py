"""Benchmark the data pipeline: expert self-play generation and dataset tokenization.

    python scripts/bench_data.py --games 200 --workers 2 [--out bench.json]

Generation: games/s, plies/s and plies/s per worker (each worker runs one Stockfish per expert,
one at a time, so per-worker throughput is per-core throughput). Tokenization: games/s and
tokens/s for the char and move tokenizers over the generated games, positions/s for the board
tokenizer over every position of them (single process).
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from minitranscend.data import iter_games
from minitranscend.data.generate import generate_games
from minitranscend.engine import stockfish_version
from minitranscend.players import default_experts
import chess

from minitranscend.tokenizers import BoardTokenizer, CharTokenizer, MoveTokenizer, tokenize_games


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the results to this JSON file")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "games"
        t0 = time.perf_counter()
        m = generate_games(data, default_experts(), args.games, seed=args.seed, workers=args.workers,
                           progress=False, tokenize=False)
        gen_s = time.perf_counter() - t0
        games = list(iter_games(data))
    res = {"machine": platform.processor() or platform.machine(), "stockfish": stockfish_version(),
           "experts": "default_experts()", "games": args.games, "workers": args.workers,
           "generate": {"seconds": round(gen_s, 2), "plies": m["n_plies"],
                        "games_per_s": round(args.games / gen_s, 2),
                        "plies_per_s": round(m["n_plies"] / gen_s, 1),
                        "plies_per_s_per_worker": round(m["n_plies"] / gen_s / args.workers, 1)}}
    for tok in (CharTokenizer(), MoveTokenizer()):
        t0 = time.perf_counter()
        tokens, offsets = tokenize_games(games, tok)
        dt = time.perf_counter() - t0
        res[f"tokenize_{tok.name}"] = {"seconds": round(dt, 3), "tokens": int(len(tokens)),
                                       "tokens_per_game": round(len(tokens) / len(games), 1),
                                       "games_per_s": round(len(games) / dt, 1),
                                       "tokens_per_s": round(len(tokens) / dt)}
    bt, n_pos = BoardTokenizer(), 0
    t0 = time.perf_counter()
    for g in games:  # what board-input training does: every position of every game
        board = chess.Board()
        for m in g.moves:
            bt.encode_board(board)
            board.push(m)
            n_pos += 1
    dt = time.perf_counter() - t0
    res["tokenize_board"] = {"seconds": round(dt, 3), "positions": n_pos,
                             "positions_per_s": round(n_pos / dt), "tokens_per_s": round(70 * n_pos / dt)}
    text = json.dumps(res, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
