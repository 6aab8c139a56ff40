"""The trainer: it learns, it resumes bit for bit, its checkpoints fail loudly."""
import json
import random
from dataclasses import replace

import chess
import numpy as np
import pytest
import torch

from minitranscend.data.records import GameRecord, write_jsonl_shard
from minitranscend.model import GPT, GPTConfig
from minitranscend.policy import ModelPlayer, move_distribution
from minitranscend.tokenizers import CharTokenizer, MoveTokenizer
from minitranscend.train import (CheckpointError, FitConfig, FitState, TrainConfig, build_dataset, fit,
                                 game_split, is_val_game, learning_rate, load_checkpoint, loss_figure, read_metrics,
                                 train)

torch.set_num_threads(1)  # tiny models: one thread is faster, and far faster on a busy machine

TINY = {"n_layer": 1, "n_head": 2, "n_embd": 32}


def random_games(n: int, seed: int = 0, max_plies: int = 60) -> list[GameRecord]:
    """Random-move games: cheap, legal, reproducible training data for tests."""
    rng = random.Random(seed)
    games = []
    for gid in range(n):
        b = chess.Board()
        while not b.is_game_over() and len(b.move_stack) < max_plies:
            b.push(rng.choice(list(b.legal_moves)))
        result = b.result() if b.is_checkmate() else "1/2-1/2"
        games.append(GameRecord(gid, "r", "r", result, "test", " ".join(m.uci() for m in b.move_stack)))
    return games


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("games")
    games = random_games(60)
    write_jsonl_shard(d / "shard-00000.jsonl", games[:30])
    write_jsonl_shard(d / "shard-00001.jsonl", games[30:])
    return d


def cfg_for(data_dir, out, **kw) -> TrainConfig:
    base = dict(data=str(data_dir), out=str(out), tokenizer="move", preset="tiny", model=dict(TINY),
                block_size=32, batch_size=8, max_iters=8, lr=3e-3, min_lr=3e-4, warmup_iters=2,
                eval_interval=4, eval_iters=2, val_fraction=0.2, progress=False, seed=7)
    return TrainConfig(**{**base, **kw})


def test_a_few_steps_lower_the_loss(data_dir, tmp_path):
    s = train(cfg_for(data_dir, tmp_path, max_iters=30, eval_interval=30, block_size=64, lr=1e-2,
                      warmup_iters=5))
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [0, 30]
    assert rows[0]["train_loss"] == pytest.approx(np.log(MoveTokenizer().vocab_size), abs=0.3)
    assert rows[1]["train_loss"] < rows[0]["train_loss"] - 1.0
    assert rows[1]["val_loss"] < rows[0]["val_loss"] - 0.4  # held-out games improve too
    assert s["step"] == 30 and (tmp_path / "ckpt.pt").is_file()
    fig = loss_figure(tmp_path / "metrics.jsonl")
    assert [t.name for t in fig.data] == ["train", "validation"]


def test_resume_is_bit_for_bit(data_dir, tmp_path):
    full = cfg_for(data_dir, tmp_path / "full", max_iters=8, lr_decay_iters=8)
    train(full)
    half = replace(full, out=str(tmp_path / "half"), max_iters=4)
    train(half)
    s = train(replace(half, max_iters=8))  # resume="auto" continues from ckpt.pt
    assert s["step"] == 8
    a, _, ma = load_checkpoint(tmp_path / "full" / "ckpt.pt")
    b, _, mb = load_checkpoint(tmp_path / "half")
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), k
    ra, rb = read_metrics(tmp_path / "full" / "metrics.jsonl"), read_metrics(tmp_path / "half" / "metrics.jsonl")
    assert [r["step"] for r in rb] == [0, 4, 8]
    assert [(r["train_loss"], r["val_loss"]) for r in ra] == [(r["train_loss"], r["val_loss"]) for r in rb]
    assert ma["step"] == mb["step"] == 8
    # a finished run is a no-op when called again
    assert train(replace(half, max_iters=8))["step"] == 8
    assert len(read_metrics(tmp_path / "half" / "metrics.jsonl")) == 3



def test_resume_after_a_kill_between_log_and_checkpoint(data_dir, tmp_path):
    """A kill can leave metrics.jsonl ahead of ckpt.pt (an evaluation logged, its checkpoint not
    yet written) and with a torn last line: the resumed run logs as the uninterrupted one."""
    full = cfg_for(data_dir, tmp_path / "full", max_iters=8, lr_decay_iters=8)
    train(full)
    killed = replace(full, out=str(tmp_path / "killed"), max_iters=4)
    train(killed)
    with open(tmp_path / "killed" / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"step": 8, "train_loss": 9.9, "val_loss": 9.9}) + "\n")
        fh.write('{"step": 8, "train_lo')  # torn by the kill
    train(replace(killed, max_iters=8))
    ra, rb = read_metrics(tmp_path / "full" / "metrics.jsonl"), read_metrics(tmp_path / "killed" / "metrics.jsonl")
    assert [(r["step"], r["train_loss"], r["val_loss"]) for r in ra] == \
        [(r["step"], r["train_loss"], r["val_loss"]) for r in rb]


def test_a_failed_checkpoint_save_leaves_no_duplicate_metrics_row(data_dir, tmp_path, monkeypatch):
    """Issue 14: a save that fails (here: disk full at step 8) after its evaluation was logged
    used to leave that row in metrics.jsonl, and the resumed run logged it again. The resumed
    run's log is now the uninterrupted run's: each step once, the same losses."""
    import minitranscend.train.run as run_module

    full = cfg_for(data_dir, tmp_path / "full", max_iters=8, lr_decay_iters=8)
    train(full)
    failed = replace(full, out=str(tmp_path / "failed"))
    real_save = run_module.save_checkpoint

    def disk_full_at_step_8(path, **kw):
        if kw["state"].step == 8:
            raise OSError(28, "No space left on device")
        return real_save(path, **kw)

    monkeypatch.setattr(run_module, "save_checkpoint", disk_full_at_step_8)
    with pytest.raises(OSError, match="No space"):
        train(failed)
    monkeypatch.undo()
    assert [r["step"] for r in read_metrics(tmp_path / "failed" / "metrics.jsonl")] == [0, 4, 8]
    assert load_checkpoint(tmp_path / "failed")[2]["step"] == 4  # the row is ahead of the save
    assert train(failed)["step"] == 8
    ra = read_metrics(tmp_path / "full" / "metrics.jsonl")
    rb = read_metrics(tmp_path / "failed" / "metrics.jsonl")
    assert [r["step"] for r in rb] == [0, 4, 8]
    assert [(r["step"], r["train_loss"], r["val_loss"]) for r in ra] == \
        [(r["step"], r["train_loss"], r["val_loss"]) for r in rb]

def test_checkpoint_errors(data_dir, tmp_path):
    train(cfg_for(data_dir, tmp_path, max_iters=2, eval_interval=2))
    path = tmp_path / "ckpt.pt"
    model, tok, meta = load_checkpoint(path)
    assert tok == MoveTokenizer() and meta["step"] == 2 and meta["data_fingerprint"]
    with pytest.raises(CheckpointError, match="tokenizer mismatch"):
        load_checkpoint(path, tokenizer=CharTokenizer())
    with pytest.raises(CheckpointError, match="another tokenizer"):
        train(cfg_for(data_dir, tmp_path, tokenizer="char", max_iters=4))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(broken)
    with pytest.raises(CheckpointError, match="different model"):
        train(cfg_for(data_dir, tmp_path, max_iters=4, model={**TINY, "n_layer": 2}))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(cfg_for(data_dir, tmp_path / "new", resume="always"))


@pytest.mark.parametrize("tokenizer", ["char", "board"])
def test_other_tokenizers_train_and_play(data_dir, tmp_path, tokenizer):
    train(cfg_for(data_dir, tmp_path, tokenizer=tokenizer, max_iters=3, eval_interval=3, block_size=48))
    player = ModelPlayer.from_checkpoint(str(tmp_path), tau=0.0)
    b = chess.Board()
    b.push_uci("e2e4")
    assert player.choose(b) in b.legal_moves
    assert player.describe()["checkpoint"].endswith("ckpt.pt") and player.describe()["step"] == 3
    if tokenizer == "board":
        assert player.model.config.causal is False and player.model.config.block_size == 70


def test_split_is_by_game_and_deterministic(data_dir, tmp_path):
    cfg = cfg_for(data_dir, tmp_path)
    arrays, fp = build_dataset(cfg, MoveTokenizer(), tmp_path / "cache")
    held = [g for g in range(60) if is_val_game(g, 0.2)]
    val_ids = [g for g in held if game_split(g, 0.2) == "val"]
    test_ids = [g for g in held if game_split(g, 0.2) == "test"]
    assert 4 <= len(held) <= 20 and val_ids and test_ids
    assert sorted(val_ids + test_ids) == held  # the held-out games, split in two halves
    assert all(game_split(g, 0.2) == "train" for g in range(60) if g not in held)
    # the validation loss reads the validation half only; the test half is in neither split
    assert len(arrays["val"]["offsets"]) - 1 == len(val_ids)
    assert len(arrays["train"]["offsets"]) - 1 == 60 - len(held)
    again, fp2 = build_dataset(cfg, MoveTokenizer(), tmp_path / "cache")  # from the .npz cache
    assert fp == fp2 and np.array_equal(again["val"]["tokens"], arrays["val"]["tokens"])
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_learning_rate_schedule():
    cfg = TrainConfig(lr=1e-3, min_lr=1e-4, warmup_iters=10, max_iters=110)
    assert learning_rate(cfg, 0) == pytest.approx(1e-3 / 11)
    assert learning_rate(cfg, 10) == pytest.approx(1e-3)
    assert learning_rate(cfg, 60) == pytest.approx(5.5e-4)
    assert learning_rate(cfg, 110) == pytest.approx(1e-4)
    timed = replace(cfg, max_iters=10**9, max_minutes=1.0)  # the decay follows the clock
    assert learning_rate(timed, 20, elapsed_s=30.0) == pytest.approx(5.5e-4)
    assert learning_rate(timed, 20, elapsed_s=60.0) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="unknown training setting"):
        TrainConfig.from_dict({"learning_rate": 1})


def test_fit_is_reusable_with_any_batches():
    """The generic loop with no chess in it: learn to copy the input, any schedule."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, block_size=8, n_layer=1, n_head=2, n_embd=32))

    def get_batch(split, i):
        g = torch.Generator().manual_seed(i if split == "train" else -i)
        x = torch.randint(0, 16, (16, 8), generator=g)
        return x, x

    optimizer = model.configure_optimizers(0.0, 1e-2, (0.9, 0.95), "cpu")
    lrs = []

    def schedule(step, elapsed_s):
        lrs.append(step)
        return 1e-2 * min(1.0, (step + 1) / 5)

    state = fit(model, get_batch, optimizer, schedule,
                FitConfig(max_iters=60, eval_interval=60, eval_iters=2, progress=False))
    assert isinstance(state, FitState) and state.step == 60
    assert state.last_eval["val_loss"] < 0.5 < np.log(16)
    assert state.train_loss is not None and set(range(60)) <= set(lrs)
    # without evaluation the loop never asks for validation batches
    asked = []
    fit(model, lambda split, i: asked.append(split) or get_batch(split, i), optimizer, schedule,
        FitConfig(max_iters=3, eval_interval=None, progress=False))
    assert asked == ["train"] * 3


def test_cli_with_a_config_file(data_dir, tmp_path, capsys):
    import argparse

    from minitranscend.train import add_commands
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())

    def main(argv):
        args = parser.parse_args(argv)
        return args.func(args)

    conf = tmp_path / "c.json"
    conf.write_text(json.dumps({"model": TINY, "block_size": 32, "batch_size": 4, "eval_iters": 1,
                                "progress": False, "val_fraction": 0.2}))
    # hand-written shards have no manifest: the command line wants --allow-incomplete for them
    rc = main(["train", "--config", str(conf), "--data", str(data_dir), "--out", str(tmp_path / "o"),
               "--max-iters", "2", "--eval-interval", "2", "--allow-incomplete"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2
    model, tok, meta = load_checkpoint(tmp_path / "o")
    assert model.config.n_layer == 1 and meta["train_config"]["max_iters"] == 2
    d = move_distribution(model, tok, chess.Board())
    assert d.probs.sum() == pytest.approx(1.0)


def test_ddp_ranks_get_disjoint_whole_games(data_dir, tmp_path):
    from minitranscend.train import shard_for_rank
    arrays, _ = build_dataset(cfg_for(data_dir, tmp_path), MoveTokenizer(), tmp_path / "cache")
    tr = arrays["train"]
    parts = [shard_for_rank(tr, r, 3) for r in range(3)]
    assert np.array_equal(np.concatenate([p["tokens"] for p in parts]), tr["tokens"])
    for p in parts:
        assert p["offsets"][0] == 0 and p["offsets"][-1] == len(p["tokens"])
        assert (p["tokens"][p["offsets"][:-1]] == MoveTokenizer.bos_id).all()  # each starts a game
    assert sum(len(p["offsets"]) - 1 for p in parts) == len(tr["offsets"]) - 1


def test_seeds_share_one_tokenized_cache(data_dir, tmp_path):
    cache = tmp_path / "tokenized"
    for seed in (1, 2):
        train(cfg_for(data_dir, tmp_path / f"s{seed}", max_iters=2, eval_interval=2, seed=seed,
                      data_cache=str(cache)))
    assert len(list(cache.glob("move-*.npz"))) == 1
    assert not (tmp_path / "s1" / "data").exists() and not (tmp_path / "s2" / "data").exists()
    a = torch.load(tmp_path / "s1" / "ckpt.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "s2" / "ckpt.pt", weights_only=False)["model"]
    assert any(not torch.equal(a[k], b[k]) for k in a)  # one cache, two different seeds' models
