"""The paper's released checkpoints: loading, checking, playing, rating, downloading.

Nothing here reaches the network. The checkpoint is a tiny model written *by this file* in exactly
the dict the authors' ``chess_research/train.py`` saves (KempnerInstitute/chess-research):
``model`` (``raw_model.state_dict()`` of a ``torch.compile``-d model, hence ``_orig_mod.``
prefixes), ``optimizer``, ``model_args`` (n_layer, n_head, n_embd, block_size, bias, vocab_size,
dropout), ``iter_num``, ``val_loss``, ``train_loss`` and ``config`` (``dataclasses.asdict`` of
their Config). It is written here by hand, not with the package's own writer, so that a mistake in
the package's idea of the format cannot hide itself.
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import chess
import pytest
import torch

from minitranscend.cli import main
from minitranscend.engine import StockfishNotFoundError, find_stockfish
from minitranscend.evaluation.match import BOOK_OPENINGS
from minitranscend.model import GPT, GPTConfig
from minitranscend.paper import (PAPER_REPO, PaperCheckpointError, PaperDownloadError, PaperModel,
                                 download_paper_checkpoint, find_checkpoint_file,
                                 load_paper_checkpoint, play_paper_game, rate_paper_model,
                                 save_paper_format_checkpoint)
from minitranscend.paper.play import replay_is_legal
from minitranscend.referee import pgn_games
from minitranscend.tokenizers import CHAR_VOCAB, CharTokenizer

# chess_research/globals.py, Globals.meta["itos"]: the authors' id -> character table.
AUTHORS_ITOS = {0: " ", 1: "#", 2: "+", 3: "-", 4: ".", 5: "0", 6: "1", 7: "2", 8: "3", 9: "4",
                10: "5", 11: "6", 12: "7", 13: "8", 14: "9", 15: ";", 16: "=", 17: "B", 18: "K",
                19: "N", 20: "O", 21: "Q", 22: "R", 23: "a", 24: "b", 25: "c", 26: "d", 27: "e",
                28: "f", 29: "g", 30: "h", 31: "x"}
# config/50M_1000.json's fields (the run settings the checkpoint's "config" entry holds), tiny sizes
AUTHORS_CONFIG = {"save_interval": 5000, "eval_every_n_saves": 2, "log_interval": 1, "eval_iters": 10,
                  "eval_only": False, "eval_n_games": 100, "eval_default_elo": 2100,
                  "eval_stockfish_levels": [1, 3, 5], "eval_temperatures": [0.001, 0.5, 1, 1.5],
                  "wandb_run_name": "50M-High-Elo-1000-No-Elo-Conditioning", "resume_from": "",
                  "resume_iter_num": None, "dataset": "/change/to/your/data_path",
                  "gradient_accumulation_steps": 4, "batch_size": 125, "block_size": 64,
                  "n_layer": 2, "n_head": 2, "n_embd": 32, "dropout": 0.0, "bias": False,
                  "learning_rate": 0.0003, "max_iters": 4000000.0, "weight_decay": 0.1,
                  "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0, "decay_lr": True,
                  "warmup_iters": 2000, "lr_decay_iters": 4000000.0, "min_lr": 3e-5,
                  "backend": "nccl", "device": "cuda", "dtype": "bfloat16", "compile": True,
                  "low_elo": -1, "high_elo": 1000, "win_condition": False, "elo_condition": False,
                  "length_gen": None, "temperature": 0.001, "seed": 1337, "debug": False,
                  "temperature_sampling": False}
FAST_SF = "stockfish:skill_level=1,time=0.01,name=sf-skill1"  # the paper's opponent, faster clock


def _have_stockfish() -> bool:
    try:
        find_stockfish()
    except StockfishNotFoundError:
        return False
    return True


needs_stockfish = pytest.mark.skipif(not _have_stockfish(), reason="Stockfish not installed")


def _tiny_trained_model() -> GPT:
    """A 2-layer model over the 32 characters that has learned to spell a dozen opening lines,
    so that the paper's per-character sampler finds legal moves for a few plies (an untrained
    model forfeits on move 1). 150 steps, about 6 s on two CPU cores."""
    torch.manual_seed(0)
    tok = CharTokenizer()
    text = "".join(tok.game_text(line.split()) for _, line in BOOK_OPENINGS) * 4
    ids = torch.tensor(tok.encode(text))
    model = GPT(GPTConfig(vocab_size=32, block_size=64, n_layer=2, n_head=2, n_embd=32, bias=False))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        ix = torch.randint(0, len(ids) - 65, (16,), generator=g)
        x = torch.stack([ids[i:i + 64] for i in ix])
        y = torch.stack([ids[i + 1:i + 65] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.optimizer = opt  # kept for the checkpoint's "optimizer" entry
    return model


def write_authors_checkpoint(path: Path, net: GPT, iter_num: int = 100000, **changes) -> Path:
    """The dict of the authors' train.py, saved with torch.save; ``changes`` override entries."""
    compiled = torch.compile(net)  # what their run did (compile: true): keys get "_orig_mod."
    c = net.config
    model_args = dict(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd, block_size=c.block_size,
                      bias=c.bias, vocab_size=c.vocab_size, dropout=c.dropout)
    checkpoint = {
        "model": compiled.state_dict(),
        "optimizer": net.optimizer.state_dict(),
        "model_args": model_args,
        "iter_num": iter_num,
        "val_loss": torch.tensor(0.71),
        "train_loss": torch.tensor(0.70),
        "config": dict(AUTHORS_CONFIG),
    }
    checkpoint.update(changes)
    torch.save(checkpoint, path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[GPT, Path]:
    model = _tiny_trained_model()
    path = tmp_path_factory.mktemp("paper") / "ckpt_100000.pt"
    write_authors_checkpoint(path, model)
    return model, path


# -- the format --------------------------------------------------------------------------------
def test_vocabulary_is_the_authors_in_their_order():
    assert "".join(AUTHORS_ITOS[i] for i in range(32)) == CHAR_VOCAB
    assert CharTokenizer().encode(";1.e4 e5 2.Nf3") == [
        {v: k for k, v in AUTHORS_ITOS.items()}[c] for c in ";1.e4 e5 2.Nf3"]


def test_the_written_file_has_the_authors_keys_and_prefixes(tiny):
    _, path = tiny
    raw = torch.load(path, weights_only=True)
    assert sorted(raw) == sorted(["model", "optimizer", "model_args", "iter_num", "val_loss",
                                  "train_loss", "config"])
    assert all(k.startswith("_orig_mod.") for k in raw["model"])
    assert "_orig_mod.transformer.h.1.mlp.c_proj.weight" in raw["model"]
    assert "_orig_mod.lm_head.weight" in raw["model"]


def test_load_gives_the_same_model(tiny):
    model, path = tiny
    loaded, tok, meta = load_paper_checkpoint(path)
    assert isinstance(tok, CharTokenizer)
    assert meta["iter_num"] == 100000 and meta["high_elo"] == 1000 and meta["compiled"]
    assert meta["model_args"]["vocab_size"] == 32 and meta["val_loss"] == pytest.approx(0.71)
    x = torch.tensor([tok.encode(";1.e4 e5 2.Nf3 Nc6 3.")])
    with torch.no_grad():
        assert torch.equal(loaded(x)[0], model(x)[0])
    assert loaded.transformer.wte.weight is loaded.lm_head.weight  # still tied


def test_load_without_prefix_and_with_the_package_writer(tiny, tmp_path):
    model, _ = tiny
    for compiled in (False, True):
        p = save_paper_format_checkpoint(tmp_path / f"c{compiled}.pt", model, 5, compiled=compiled)
        _, _, meta = load_paper_checkpoint(p)
        assert meta["compiled"] is compiled and meta["iter_num"] == 5


def test_released_size_is_checked_when_asked(tiny):
    _, path = tiny
    with pytest.raises(PaperCheckpointError, match=r"n_layer=2 \(expected 16\)"):
        load_paper_checkpoint(path, expect="chessformer-50m")


# -- clear errors ------------------------------------------------------------------------------
def test_another_vocabulary_is_refused(tiny, tmp_path):
    model, _ = tiny
    big = GPT(GPTConfig(vocab_size=35, block_size=64, n_layer=2, n_head=2, n_embd=32))
    big.optimizer = model.optimizer
    p = write_authors_checkpoint(tmp_path / "win.pt", big)
    with pytest.raises(PaperCheckpointError, match=r"vocab_size is 35.*win-conditioned"):
        load_paper_checkpoint(p)
    # model_args say 32 but the weights have 35 rows: named by key and shape
    sd = torch.compile(big).state_dict()
    p2 = write_authors_checkpoint(tmp_path / "lie.pt", model, model=sd)
    with pytest.raises(PaperCheckpointError, match=r"transformer\.wte\.weight: \(35, 32\) in the file, "
                                                   r"\(32, 32\) expected"):
        load_paper_checkpoint(p2)


def test_truncated_file_is_refused(tiny, tmp_path):
    _, path = tiny
    data = path.read_bytes()
    for n in (len(data) // 2, 100, 0):
        p = tmp_path / f"cut{n}.pt"
        p.write_bytes(data[:n])
        with pytest.raises(PaperCheckpointError, match="truncated or corrupted"):
            load_paper_checkpoint(p)


def test_missing_keys_and_shapes_are_named(tiny, tmp_path):
    model, path = tiny
    raw = torch.load(path, weights_only=True)
    sd = dict(raw["model"])
    del sd["_orig_mod.transformer.h.1.attn.c_attn.weight"]
    p = write_authors_checkpoint(tmp_path / "miss.pt", model, model=sd)
    with pytest.raises(PaperCheckpointError, match=r"missing 1 key\(s\).*h\.1\.attn\.c_attn\.weight"):
        load_paper_checkpoint(p)
    sd = dict(raw["model"])
    sd["_orig_mod.transformer.h.0.mlp.c_fc.weight"] = torch.zeros(64, 32)
    p = write_authors_checkpoint(tmp_path / "shape.pt", model, model=sd)
    with pytest.raises(PaperCheckpointError, match=r"mlp\.c_fc\.weight: \(64, 32\) in the file, \(128, 32\)"):
        load_paper_checkpoint(p)
    args = dict(raw["model_args"], n_layer=3)
    p = write_authors_checkpoint(tmp_path / "args.pt", model, model_args=args)
    with pytest.raises(PaperCheckpointError, match=r"missing \d+ key\(s\).*transformer\.h\.2"):
        load_paper_checkpoint(p)
    p = tmp_path / "nomodel.pt"
    torch.save({"model_args": raw["model_args"], "iter_num": 1}, p)
    with pytest.raises(PaperCheckpointError, match=r"missing key\(s\) \['model'\]"):
        load_paper_checkpoint(p)
    p = write_authors_checkpoint(tmp_path / "elo.pt", model, config={**AUTHORS_CONFIG, "elo_condition": True})
    with pytest.raises(PaperCheckpointError, match="Elo-conditioned"):
        load_paper_checkpoint(p)
    with pytest.raises(PaperCheckpointError, match="no checkpoint at"):
        load_paper_checkpoint(tmp_path / "nothing.pt")


# -- playing -----------------------------------------------------------------------------------
@needs_stockfish
@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["paper", "move"])
def test_one_legal_game_against_stockfish(tiny, sampler):
    _, path = tiny
    g = play_paper_game(path, tau=0.5 if sampler == "paper" else 1.0, sampler=sampler,
                        opponent=FAST_SF, model_white=True, seed=3, expect=None, max_plies=60)
    assert g.result in ("1-0", "0-1", "1/2-1/2")
    assert g.plies >= 1 and replay_is_legal(g.moves)  # the model moved, every move legal
    assert g.white == f"paper-{sampler}-tau{0.5 if sampler == 'paper' else 1:g}"
    if sampler == "move":  # an exact distribution over legal moves never forfeits
        assert "forfeit" not in g.termination
    game = pgn_games(g.pgn)[0]
    assert json.loads(game.headers["WhiteSettings"])["mode"] == sampler
    assert game.headers["Black"] == "sf-skill1"


@needs_stockfish
@pytest.mark.slow
def test_rate_writes_intervals_and_glicko(tiny, tmp_path):
    _, path = tiny
    res = rate_paper_model(path, tmp_path / "rate", taus=(0.001, 1.0), levels=(1, 3), games=2,
                           sampler="move", move_time=0.01, max_plies=40, expect=None, n_boot=50,
                           glicko_orders=2, progress=False)
    temp = {r["tau"]: r for r in res["temperature"]}
    assert set(temp) == {0.001, 1.0}
    for r in temp.values():
        assert r["lo"] <= r["rating"] <= r["hi"] and r["games"] == 4
        assert r["glicko2"] is not None and "glicko2_level1" in r and "glicko2_level3" in r
    names = {r["player"] for r in res["rows"]}
    assert {"sf-skill1", "sf-skill3"} <= names
    assert res["settings"]["anchor"] == "sf-skill1" and res["settings"]["anchor_rating"] == 1554
    for f in ("ratings.csv", "temperature.csv", "paper.json"):
        assert (tmp_path / "rate" / f).is_file()
    # resumable: the same call plays nothing new and gives the same numbers
    again = rate_paper_model(path, tmp_path / "rate", taus=(0.001, 1.0), levels=(1, 3), games=2,
                             sampler="move", move_time=0.01, max_plies=40, expect=None, n_boot=50,
                             glicko_orders=2, progress=False)
    assert again["temperature"] == res["temperature"]


def test_paper_model_recipe_is_picklable_and_named(tiny):
    _, path = tiny
    m = PaperModel(str(path), 0.001, "paper", expect=None)
    assert pickle.loads(pickle.dumps(m)) == m
    assert m.label == "paper-paper-tau0.001"
    player = m()
    assert player.mode == "paper" and player.tau == 0.001
    b = chess.Board()
    dist = player.distribution(b)
    assert set(dist) == set(b.legal_moves) and abs(sum(dist.values()) - 1) < 1e-9
    with pytest.raises(ValueError, match="sampler"):
        PaperModel(str(path), 1.0, "greedy")


# -- downloading (the network replaced at the transport boundary) ------------------------------
LISTING = [
    ".gitattributes",
    "50M-High-Elo-1000-No-Elo-Conditioning/2024-04-29---10-00-00_50M-High-Elo-1000-No-Elo-Conditioning/ckpt_100000.pt",
    "50M-High-Elo-1000-No-Elo-Conditioning/2024-04-30---03-05-07_50M-High-Elo-1000-No-Elo-Conditioning/ckpt_40000.pt",
    "50M-High-Elo-1000-No-Elo-Conditioning/2024-04-30---03-05-07_50M-High-Elo-1000-No-Elo-Conditioning/ckpt_100000.pt",
    "50M-High-Elo-1000-No-Elo-Conditioning/2024-04-30---03-05-07_50M-High-Elo-1000-No-Elo-Conditioning/Stockfish_1_vs_ckpt_100000_pt.csv",
    "50M-High-Elo-1500-No-Elo-Conditioning/2024-04-30---03-05-09_50M-High-Elo-1500-No-Elo-Conditioning/ckpt_100000.pt",
]


class FakeHub:
    """Stands in for huggingface_hub's two network functions, with their signatures."""

    def __init__(self, source: Path) -> None:
        self.source, self.calls = source, []

    def list_repo_files(self, repo_id, *, revision=None, repo_type=None, token=None):
        self.calls.append(("list", repo_id, repo_type, revision))
        return list(LISTING)

    def hf_hub_download(self, repo_id, filename, *, repo_type=None, revision=None, cache_dir=None, **kw):
        self.calls.append(("download", repo_id, filename, repo_type, cache_dir))
        dest = Path(cache_dir) / "snapshots" / "abc123" / filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.source.read_bytes())
        return str(dest)


def test_download_picks_the_latest_run_and_loads(tiny, tmp_path):
    _, path = tiny
    hub = FakeHub(path)
    local = download_paper_checkpoint(1000, cache_dir=tmp_path / "hf", hub=hub)
    assert hub.calls[0] == ("list", PAPER_REPO, "dataset", None)
    assert hub.calls[1][2] == LISTING[3] and hub.calls[1][3] == "dataset"
    assert local.name == "ckpt_100000.pt" and local.is_file()
    load_paper_checkpoint(local)
    assert find_checkpoint_file(LISTING, 1000, 40000) == LISTING[2]


def test_download_errors_are_clear(tiny, tmp_path):
    _, path = tiny
    hub = FakeHub(path)
    with pytest.raises(PaperDownloadError, match=r"iterations there: \[40000, 100000\]"):
        download_paper_checkpoint(1000, 20000, tmp_path, hub=hub)
    with pytest.raises(PaperDownloadError, match=r"no folder 50M-High-Elo-1300.*caps \['1000', '1500'\]"):
        download_paper_checkpoint(1300, hub=hub)
    with pytest.raises(PaperDownloadError, match="not released"):
        download_paper_checkpoint(1700, hub=hub)

    class Offline(FakeHub):
        def list_repo_files(self, *a, **k):
            raise ConnectionError("Name or service not known")

    with pytest.raises(PaperDownloadError, match="could not list.*ConnectionError"):
        download_paper_checkpoint(1000, hub=Offline(path))


def test_download_through_huggingface_hub_functions(tiny, tmp_path, monkeypatch):
    hf = pytest.importorskip("huggingface_hub")
    _, path = tiny
    fake = FakeHub(path)
    monkeypatch.setattr(hf, "list_repo_files", fake.list_repo_files)
    monkeypatch.setattr(hf, "hf_hub_download", fake.hf_hub_download)
    local = download_paper_checkpoint(1500, cache_dir=tmp_path / "hf")
    assert local.is_file() and fake.calls[1][2] == LISTING[5]


def test_download_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if not installed
    with pytest.raises(PaperDownloadError, match=r"minitranscend\[paper\]"):
        download_paper_checkpoint(1000)


# -- command line ------------------------------------------------------------------------------
def test_cli_download_checks_a_local_file(tiny, tmp_path, capsys):
    _, path = tiny
    assert main(["paper", "download", "--checkpoint", str(path), "--any-size"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["iter_num"] == 100000 and out["model_args"]["vocab_size"] == 32
    assert main(["paper", "download", "--checkpoint", str(path)]) == 2  # not the released size
    assert "expected 16" in capsys.readouterr().err
    bad = tmp_path / "cut.pt"
    bad.write_bytes(path.read_bytes()[:1000])
    assert main(["paper", "download", "--checkpoint", str(bad), "--any-size"]) == 2
    assert "truncated or corrupted" in capsys.readouterr().err


@needs_stockfish
@pytest.mark.slow
def test_cli_play_writes_pgn(tiny, tmp_path, capsys):
    _, path = tiny
    out = tmp_path / "g.pgn"
    assert main(["paper", "play", "--checkpoint", str(path), "--any-size", "--sampler", "move",
                 "--tau", "1", "--opponent", FAST_SF, "--max-plies", "20", "--out", str(out)]) == 0
    games = pgn_games(out.read_text())
    assert len(games) == 1 and games[0].headers["White"] == "paper-move-tau1"
