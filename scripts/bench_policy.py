"""Move-distribution throughput: positions per second for the char, move and board tokenizers,
one position at a time and batched (the per-state reward and the matches depend on this).

Throughput does not depend on the weights, so a freshly initialised model of the given preset is
used; the positions come from random-move games of realistic length.

    python scripts/bench_policy.py [--preset tiny] [--positions 256] [--batches 1,16,64] [--out f.json]
"""
from __future__ import annotations

import argparse
import json
import random
import time

import chess
import torch

from minitranscend.model import GPT, GPTConfig
from minitranscend.policy import move_distributions
from minitranscend.tokenizers import get_tokenizer


def positions(n: int, seed: int = 0, max_plies: int = 120) -> list[chess.Board]:
    rng = random.Random(seed)
    out: list[chess.Board] = []
    while len(out) < n:
        b = chess.Board()
        target = rng.randrange(0, max_plies)
        while len(b.move_stack) < target and not b.is_game_over():
            b.push(rng.choice(list(b.legal_moves)))
        if not b.is_game_over():
            out.append(b)
    return out


def model_for(tok, preset: str, block: int | None) -> GPT:
    torch.manual_seed(0)
    if tok.name == "board":
        cfg = GPTConfig.preset(preset, tok.vocab_size, block_size=tok.seq_len, causal=False,
                               out_vocab_size=tok.move_tokenizer.vocab_size)
    else:
        cfg = GPTConfig.preset(preset, tok.vocab_size, **({"block_size": block} if block else {}))
    return GPT(cfg).eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--block", type=int, help="context (default: the preset's)")
    ap.add_argument("--positions", type=int, default=128)
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--tokenizers", default="move,char,board")
    ap.add_argument("--out")
    args = ap.parse_args()
    boards = positions(args.positions)
    legal = sum(b.legal_moves.count() for b in boards) / len(boards)
    rows = []
    for name in args.tokenizers.split(","):
        tok = get_tokenizer(name)
        model = model_for(tok, args.preset, args.block)
        move_distributions(model, tok, boards[:4])  # warm-up
        for bs in (int(x) for x in args.batches.split(",")):
            t0 = time.perf_counter()
            for i in range(0, len(boards), bs):
                move_distributions(model, tok, boards[i:i + bs])
            dt = time.perf_counter() - t0
            rows.append({"tokenizer": name, "preset": args.preset, "params": model.num_params(),
                         "block": model.config.block_size, "batch": bs,
                         "positions_per_s": round(len(boards) / dt, 1)})
            print(json.dumps(rows[-1]))
    result = {"threads": torch.get_num_threads(), "mean_legal_moves": round(legal, 1),
              "mean_plies": round(sum(len(b.move_stack) for b in boards) / len(boards), 1), "rows": rows}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
