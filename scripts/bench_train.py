"""Training throughput: our trainer (:func:`minitranscend.train.fit`) against the plainest
nanoGPT-style loop (forward, backward, AdamW step) in the same process, same model, same data.

The ratio ours / reference must be >= 1.0: the trainer's extras (lr schedule, gradient clipping,
pure-function batch sampling, progress) must not cost throughput. Runs are interleaved and
repeated so that a busy machine affects both sides alike; the median is reported.

With CUDA it also measures the GPU path: bf16 matmul peak (a large matmul), training tokens/s
of a larger preset under bf16 autocast (optionally torch.compile) and the MFU.

    python scripts/bench_train.py [--preset tiny] [--tokenizer char] [--steps 30] [--repeats 3] [--out f.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from minitranscend.model import GPT, GPTConfig
from minitranscend.train import TrainConfig, fit, make_get_batch

VOCAB = {"char": 32, "move": 1970}


def synthetic_stream(vocab: int, n: int = 2_000_000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, n, dtype=np.uint16)


def reference_loop(model: GPT, data: np.ndarray, batch: int, block: int, steps: int) -> float:
    """The simplest loop: random windows, forward, backward, AdamW. Returns tokens/s."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    rng = np.random.default_rng(0)

    def batch_xy():
        ix = rng.integers(0, len(data) - block - 1, batch)
        w = torch.from_numpy(np.stack([data[i:i + block + 1] for i in ix]).astype(np.int64))
        return w[:, :-1], w[:, 1:]

    x, y = batch_xy()
    model(x, y)[1].backward()  # warm-up step, not timed
    opt.step()
    opt.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = batch_xy()
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return steps * batch * block / (time.perf_counter() - t0)


def ours(model: GPT, data: np.ndarray, batch: int, block: int, steps: int, device: str = "cpu",
         compile: bool = False) -> float:
    arrays = {"train": {"tokens": data}, "val": {"tokens": data[:0]}}
    get_batch = make_get_batch(arrays, batch, block, device, seed=0)
    warm = TrainConfig(max_iters=1, eval_interval=10**9, eval_iters=0, warmup_iters=0, progress=False,
                       compile=compile)
    opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), device.split(":")[0])
    state = fit(model, get_batch, warm, optimizer=opt)  # warm-up step (and compilation), not timed
    cfg = TrainConfig(max_iters=1 + steps, eval_interval=10**9, eval_iters=0, warmup_iters=0,
                      progress=False, compile=compile)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fit(model, get_batch, cfg, state=state, optimizer=opt)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * batch * block / (time.perf_counter() - t0)


def bench_cpu(preset: str, tokenizer: str, batch: int, block: int | None, steps: int, repeats: int) -> dict:
    cfg = GPTConfig.preset(preset, VOCAB[tokenizer], **({"block_size": block} if block else {}))
    data = synthetic_stream(cfg.vocab_size)
    res: dict[str, list[float]] = {"ours": [], "reference": []}
    for r in range(repeats):
        for name, fn in (("reference", reference_loop), ("ours", ours)) if r % 2 else \
                (("ours", ours), ("reference", reference_loop)):
            torch.manual_seed(0)
            model = GPT(cfg)
            res[name].append(fn(model, data, batch, cfg.block_size, steps))
    med = {k: statistics.median(v) for k, v in res.items()}
    return {"preset": preset, "tokenizer": tokenizer, "params": GPT(cfg).num_params(), "batch": batch,
            "block": cfg.block_size, "threads": torch.get_num_threads(), "steps": steps, "repeats": repeats,
            "tokens_per_s": {k: round(v) for k, v in med.items()},
            "all": {k: [round(x) for x in v] for k, v in res.items()},
            "ratio_ours_over_reference": round(med["ours"] / med["reference"], 3)}


def matmul_peak_bf16(n: int = 8192, iters: int = 50) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(5):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        a @ b
    torch.cuda.synchronize()
    return 2 * n ** 3 * iters / (time.perf_counter() - t0)


def bench_gpu(preset: str, tokenizer: str, batch: int, steps: int, compile: bool) -> dict:
    peak = matmul_peak_bf16()
    cfg = GPTConfig.preset(preset, VOCAB[tokenizer])
    torch.manual_seed(0)
    model = GPT(cfg).to("cuda")
    tps = ours(model, synthetic_stream(cfg.vocab_size), batch, cfg.block_size, steps, "cuda", compile)
    fpt = model.flops_per_token()
    return {"device": torch.cuda.get_device_name(), "preset": preset, "tokenizer": tokenizer,
            "params": model.num_params(), "batch": batch, "block": cfg.block_size, "compile": compile,
            "tokens_per_s": round(tps), "flops_per_token": fpt,
            "measured_bf16_matmul_peak_tflops": round(peak / 1e12, 1),
            "mfu_vs_measured_peak": round(tps * fpt / peak, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--tokenizer", default="char", choices=sorted(VOCAB))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--block", type=int)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gpu-preset", default="chessformer-50m")
    ap.add_argument("--gpu-batch", type=int, default=32)
    ap.add_argument("--gpu-steps", type=int, default=30)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    out = {"torch": torch.__version__, "machine": platform.machine()}
    if not args.skip_cpu:
        out["cpu"] = bench_cpu(args.preset, args.tokenizer, args.batch, args.block, args.steps, args.repeats)
        print(json.dumps(out["cpu"], indent=2))
    if torch.cuda.is_available():
        out["gpu"] = bench_gpu(args.gpu_preset, args.tokenizer, args.gpu_batch, args.gpu_steps, args.compile)
        print(json.dumps(out["gpu"], indent=2))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
