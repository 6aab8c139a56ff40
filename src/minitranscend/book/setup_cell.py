"""The first cell of every chapter: installs Stockfish and a *pinned* minitranscend on Colab.

The pin is the release tag ``v<__version__>``: one place to bump it (``__version__`` in
``minitranscend/__init__.py``, which ``pyproject.toml`` reads too), then
``minitranscend book sync-setup`` rewrites every chapter's cell and ``book colab`` the Colab
notebooks, and the maintainer tags that commit. A class that wants to freeze a semester keeps
the tag (or edits ``MINITRANSCEND_REF`` in its copies to a commit of its own fork).

The cell installs the package *with ranges* (``pyproject.toml``), so Colab's preinstalled torch
and ipywidgets stay as they are.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from .. import __version__
from .site import repository_url, toc_notebooks

SETUP_TAG = "colab-setup"
SETUP_CELL_TAGS = [SETUP_TAG, "remove-cell"]
DRIVE_RUNS = "/content/drive/MyDrive/minitranscend/runs"


def release_ref(version: str = __version__) -> str:
    """The git ref the chapters install: the tag of this version."""
    return f"v{version}"


def setup_cell_source(url: str, ref: str | None = None) -> str:
    """The first cell of every chapter. Self-contained: on Colab the package is not there yet."""
    ref = ref or release_ref()
    return f'''\
# Set-up for Google Colab: installs Stockfish and minitranscend {ref}. Elsewhere it does
# nothing (locally, run `make book` or `bash scripts/setup.sh` once). From `book sync-setup`.
MINITRANSCEND_REF = "{ref}"  # a tag or commit of {url}
KEEP_RUNS_ON_DRIVE = False   # True: data, checkpoints and results go to your Google Drive
import importlib.metadata, os, subprocess, sys
if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    if subprocess.run("command -v stockfish || test -x /usr/games/stockfish", shell=True,
                      capture_output=True).returncode != 0:
        subprocess.run("apt-get update -qq && apt-get install -y -qq stockfish", shell=True,
                       check=True)
    try:
        installed = importlib.metadata.version("minitranscend")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if "v" + str(installed) != MINITRANSCEND_REF:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        f"git+{url}@{{MINITRANSCEND_REF}}"], check=True)
    if KEEP_RUNS_ON_DRIVE:
        from google.colab import drive
        drive.mount("/content/drive")
        os.environ["MINITRANSCEND_RUNS"] = "{DRIVE_RUNS}"'''


def is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and (
        SETUP_TAG in cell.metadata.get("tags", []) or "google.colab" in cell.source)


def sync_setup(root: Path) -> list[Path]:
    """Rewrite cell 1 of every toc notebook with the canonical set-up cell; return those changed."""
    source = setup_cell_source(repository_url(root))
    changed = []
    for path in toc_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0] if nb.cells else None
        if first is not None and is_setup_cell(first):
            if first.source == source and first.metadata.get("tags") == SETUP_CELL_TAGS:
                continue
            first.source = source
        else:
            first = nbformat.v4.new_code_cell(source)
            nb.cells.insert(0, first)
        first.metadata["tags"] = list(SETUP_CELL_TAGS)
        first.outputs, first.execution_count = [], None
        nbformat.write(nb, path)
        changed.append(path)
    return changed
