"""Fetch the paper's released checkpoints from the Hugging Face Hub.

The authors published their 50M ChessFormers in the Hugging Face *dataset* repository
``ezipe/lichess-models`` (linked from the README of ``KempnerInstitute/chess-research``), one folder
per rating cap, ``50M-High-Elo-<cap>-No-Elo-Conditioning/``, holding a run folder
``<date>---<time>_50M-High-Elo-<cap>-No-Elo-Conditioning/`` with ``ckpt_<iteration>.pt`` files;
the paper's analysis used ``ckpt_100000.pt``. The file's exact path is not hard-coded: the
repository's file list is read and the checkpoint found in it, so a renamed run folder still works
and a missing iteration gets an error listing the ones that exist.

``huggingface_hub`` is an optional extra (``pip install "minitranscend[paper]"``) and is imported
inside :func:`hub_client`, not at the top: the base install (and CI) does not have it, and the
rest of :mod:`minitranscend.paper` (loading a file you already have, playing, rating) must work
without it. Importing its two functions costs 0.22 s (measured on the CI machine), which no other
command should pay either.

The network is reached only through the ``hub`` object (``list_repo_files`` and
``hf_hub_download``, with ``huggingface_hub``'s signatures): tests pass a stand-in there, or
monkeypatch those two functions, and nothing else changes.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

PAPER_REPO = "ezipe/lichess-models"
PAPER_REPO_TYPE = "dataset"
PAPER_CAPS = (1000, 1100, 1200, 1300, 1400, 1500)
PAPER_ITERATION = 100_000  # the checkpoint the paper's analysis used
INSTALL_HINT = 'pip install "minitranscend[paper]"  (or: pip install huggingface_hub)'


class PaperDownloadError(RuntimeError):
    """The checkpoint could not be found or fetched; the message says which and why."""


def paper_folder(cap: int) -> str:
    """The repository folder of the model trained on games with both players rated <= ``cap``."""
    return f"50M-High-Elo-{int(cap)}-No-Elo-Conditioning"


def hub_client() -> Any:
    """The ``huggingface_hub`` module (the optional extra), or a clear error saying how to get it."""
    try:
        import huggingface_hub  # optional extra; see the module docstring for why it is lazy
    except ImportError as e:
        raise PaperDownloadError(
            f"downloading the paper's checkpoints needs huggingface_hub: {INSTALL_HINT}") from e
    return huggingface_hub


def find_checkpoint_file(files: list[str], cap: int, iteration: int = PAPER_ITERATION) -> str:
    """The repository path of ``ckpt_<iteration>.pt`` for ``cap`` among ``files``.

    Several run folders for one cap: the last by name (their names start with the date and time,
    so that is the latest run; the authors' own scripts pick ``sorted(...)[-1]`` the same way).
    """
    folder = paper_folder(cap) + "/"
    mine = [f for f in files if f.startswith(folder)]
    if not mine:
        caps = sorted({m.group(1) for f in files if (m := re.match(r"50M-High-Elo-(\d+)-No-Elo", f))})
        raise PaperDownloadError(f"no folder {folder} in {PAPER_REPO}; it has caps {caps or 'none'}")
    want = f"ckpt_{int(iteration)}.pt"
    hits = sorted(f for f in mine if f.rsplit("/", 1)[-1] == want)
    if not hits:
        iters = sorted({int(m.group(1)) for f in mine if (m := re.search(r"/ckpt_(\d+)\.pt$", f))})
        raise PaperDownloadError(f"no {want} under {folder} in {PAPER_REPO}; iterations there: "
                                 f"{iters or 'none'}")
    return hits[-1]


def download_paper_checkpoint(cap: int, iteration: int = PAPER_ITERATION,
                              cache_dir: str | os.PathLike | None = None, revision: str | None = None,
                              hub: Any = None) -> Path:
    """Download (or find in the cache) the paper's 50M model for rating ``cap`` at ``iteration``.

    ``cache_dir``: the Hub cache folder (default: Hugging Face's, ``~/.cache/huggingface/hub``; on
    Colab a Drive folder keeps the ~600 MB files between sessions). ``revision``: a commit of the
    repository, to pin exactly what was downloaded. ``hub``: what talks to the network (default:
    :func:`hub_client`). Returns the local path; load it with
    :func:`~minitranscend.paper.checkpoints.load_paper_checkpoint`, which checks the file.
    """
    if int(cap) not in PAPER_CAPS:
        raise PaperDownloadError(f"cap {cap} was not released; the paper's caps are {PAPER_CAPS}")
    hub = hub if hub is not None else hub_client()
    try:
        files = list(hub.list_repo_files(PAPER_REPO, repo_type=PAPER_REPO_TYPE, revision=revision))
    except Exception as e:
        raise PaperDownloadError(f"could not list {PAPER_REPO} on the Hugging Face Hub "
                                 f"({type(e).__name__}: {str(e)[:200]}); is the network reachable?") from e
    name = find_checkpoint_file(files, cap, iteration)
    try:
        local = hub.hf_hub_download(PAPER_REPO, name, repo_type=PAPER_REPO_TYPE, revision=revision,
                                    cache_dir=None if cache_dir is None else str(cache_dir))
    except Exception as e:
        raise PaperDownloadError(f"could not download {name} from {PAPER_REPO} "
                                 f"({type(e).__name__}: {str(e)[:200]})") from e
    return Path(local)
