"""The paper's Figure 1 with its released models, and what to compare it with (chapter 10).

One path for both profiles, so that what CI runs is what Colab runs:

* :func:`paper_checkpoints` — ``{cap: path}``: the released ``ckpt_100000.pt`` files
  (:func:`~minitranscend.paper.download.download_paper_checkpoint`, ``settings.download``) or tiny
  stand-ins written here in exactly the authors' format (:func:`write_standin_checkpoint`);
* :func:`rate_caps` — :func:`~minitranscend.paper.play.rate_paper_model` for every cap, sized by
  :class:`~minitranscend.settings.PaperSettings`;
* :func:`figure1_series` — the ratings as lines for
  :func:`~minitranscend.evaluation.figures.rating_vs_temperature`, beside the paper's own numbers
  (:data:`PAPER_FIGURE1`, read from its figure) and the caps.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch

from ..evaluation.match import BOOK_OPENINGS
from ..model import GPT, GPTConfig
from ..settings import PaperSettings
from ..tokenizers import CharTokenizer
from .checkpoints import PAPER_VOCAB_SIZE, save_paper_format_checkpoint
from .download import PAPER_ITERATION, download_paper_checkpoint
from .play import rate_paper_model

# The paper's Glicko-2 ratings of its 50M ChessFormers by temperature, *read from the paper's
# figure* (about +-10), not published as numbers: {cap: {tau: rating}}.
PAPER_FIGURE1: dict[int, dict[float, float]] = {
    1000: {0.001: 1423, 0.01: 1368, 0.1: 1498, 0.3: 1317, 0.5: 1297, 0.75: 1085, 1.0: 851, 1.5: 788},
    1300: {0.001: 1528, 0.01: 1629, 0.1: 1548, 0.3: 1572, 0.5: 1449, 0.75: 1314, 1.0: 1172, 1.5: 812},
    1500: {0.001: 1443, 0.01: 1570, 0.1: 1295, 0.3: 1410, 0.5: 1458, 0.75: 1326, 1.0: 987, 1.5: 811},
}
# The normalized action entropy of the capped datasets (opening states, plies 0-16, seen more
# than 100 times), read from the authors' figure: {cap: diversity}.
PAPER_DIVERSITY: dict[int, float] = {1000: 0.70, 1300: 0.66, 1500: 0.64}


def train_standin(steps: int = 150, seed: int = 0, block_size: int = 64) -> GPT:
    """A 2-layer model over the paper's 32 characters that has learned to spell the book openings
    of :data:`~minitranscend.evaluation.match.BOOK_OPENINGS`, so that the paper's per-character
    sampler finds legal moves for a few plies (an untrained model forfeits on move 1). Its play
    means nothing; it exists to run the paper's code path where nothing can be downloaded.
    150 steps take about 6 s on two CPU cores."""
    torch.manual_seed(seed)
    tok = CharTokenizer()
    text = "".join(tok.game_text(line.split()) for _, line in BOOK_OPENINGS) * 4
    ids = torch.tensor(tok.encode(text))
    model = GPT(GPTConfig(vocab_size=PAPER_VOCAB_SIZE, block_size=block_size, n_layer=2, n_head=2,
                          n_embd=32, bias=False))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        ix = torch.randint(0, len(ids) - block_size - 1, (16,), generator=g)
        x = torch.stack([ids[i:i + block_size] for i in ix])
        y = torch.stack([ids[i + 1:i + block_size + 1] for i in ix])
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def write_standin_checkpoint(path: str | os.PathLike, cap: int, steps: int = 150, seed: int = 0,
                             iter_num: int = PAPER_ITERATION) -> Path:
    """A stand-in for the released model of ``cap``, saved as the authors' ``train.py`` saves
    (``_orig_mod.`` keys, ``model_args``, ``config`` with ``high_elo = cap``). Reused if present."""
    path = Path(path)
    if path.is_file():
        return path
    model = train_standin(steps, seed)
    config = {"high_elo": int(cap), "low_elo": -1, "elo_condition": False, "win_condition": False,
              "compile": True, "wandb_run_name": f"standin-{cap}-{steps}-steps"}
    tmp = path.with_name(path.name + ".part")
    save_paper_format_checkpoint(tmp, model, iter_num, config=config, compiled=True)
    os.replace(tmp, path)
    return path


def paper_checkpoints(settings: PaperSettings, folder: str | os.PathLike,
                      cache_dir: str | os.PathLike | None = None, hub: Any = None) -> dict[int, Path]:
    """``{cap: checkpoint path}`` for ``settings.caps``: downloaded when ``settings.download``
    (``cache_dir`` and ``hub`` go to
    :func:`~minitranscend.paper.download.download_paper_checkpoint`), else stand-ins written under
    ``folder`` (one seed per cap)."""
    if settings.download:
        return {cap: download_paper_checkpoint(cap, PAPER_ITERATION, cache_dir, hub=hub)
                for cap in settings.caps}
    folder = Path(folder)
    return {cap: write_standin_checkpoint(
                folder / f"standin-{cap}-{settings.standin_steps}steps" / f"ckpt_{PAPER_ITERATION}.pt",
                cap, settings.standin_steps, seed=k)
            for k, cap in enumerate(settings.caps)}


def model_name(cap: int, settings: PaperSettings) -> str:
    """``cf1000`` for a released model (the paper's "CF-1000"), ``standin1000`` for a stand-in."""
    return f"{'cf' if settings.download else 'standin'}{int(cap)}"


def rate_caps(checkpoints: Mapping[int, str | os.PathLike], settings: PaperSettings,
              out_dir: str | os.PathLike, device: str = "cpu", workers: int = 1,
              progress: bool = False) -> dict[int, dict[str, Any]]:
    """:func:`~minitranscend.paper.play.rate_paper_model` for every cap, in ``out_dir/cap-<cap>``
    (resumable: a rerun plays only the missing games). Returns ``{cap: its result}``."""
    out = Path(out_dir)
    return {cap: rate_paper_model(
                path, out / f"cap-{cap}", taus=settings.taus, levels=settings.levels,
                games=settings.games, sampler=settings.sampler, move_time=settings.move_time,
                max_plies=settings.max_plies, workers=workers, device=device,
                expect=settings.expect, name=model_name(cap, settings), n_boot=settings.n_boot,
                glicko_orders=settings.glicko_orders, progress=progress)
            for cap, path in checkpoints.items()}


def figure1_series(results: Mapping[int, Mapping[str, Any]], settings: PaperSettings,
                   paper: bool = True) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """``(series, references)`` for :func:`~minitranscend.evaluation.figures.rating_vs_temperature`:
    per cap, this harness's ML rating with its 95% interval, and (``paper``) the paper's figure at
    the same temperatures; one reference line per cap (the best player in that cap's data)."""
    series: dict[str, list[dict]] = {}
    refs: dict[str, dict] = {}
    for cap, res in results.items():
        name = model_name(cap, settings)
        series[f"{name}: played here (ML, 95%)"] = [
            {"tau": r["tau"], "rating": r["rating"], "lo": r["lo"], "hi": r["hi"]}
            for r in res["temperature"]]
        if paper and cap in PAPER_FIGURE1:
            series[f"CF-{cap}: the paper's figure (Glicko-2)"] = [
                {"tau": t, "rating": v} for t, v in PAPER_FIGURE1[cap].items()]
        refs[f"cap {cap}"] = {"rating": float(cap)}
    return series, refs


def transcends_cap(rows: list[Mapping[str, Any]], cap: float) -> dict[str, Any]:
    """The best temperature's rating against the cap: ``transcends`` when its whole 95% interval
    lies above the cap (the best player in the training data is rated at most ``cap``)."""
    best = max(rows, key=lambda r: r["rating"])
    return {"tau": best["tau"], "rating": best["rating"], "lo": best["lo"], "hi": best["hi"],
            "cap": cap, "transcends": bool(best["lo"] > cap)}
