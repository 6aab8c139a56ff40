"""Where results live, so that chapters and commands find each other's files.

Everything a run writes goes under ``runs/<profile>/`` at the repository root (found by
walking up from the working directory to the folder holding ``_toc.yml``), or under
``./runs/<profile>`` when there is no repository (a lone notebook on Colab).
``$MINITRANSCEND_RUNS`` overrides the root.
"""
from __future__ import annotations

import os
from pathlib import Path

from .settings import PROFILES, check_profile

# PROFILES is re-exported for the modules that read it here (book.site, data.cli); its home is
# minitranscend.settings.
__all__ = ["PROFILES", "repo_root", "runs_root", "run_dir"]


def repo_root(start: Path | None = None) -> Path | None:
    """The repository root (the folder with ``_toc.yml``) above ``start``, or None."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "_toc.yml").is_file() and (d / "src" / "minitranscend").is_dir():
            return d
    return None


def runs_root() -> Path:
    """The folder holding every profile's runs (see the module's docstring).

    Used in chapter 4."""
    env = os.environ.get("MINITRANSCEND_RUNS")
    if env:
        return Path(env)
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "runs"


def run_dir(profile: str, *parts: str) -> Path:
    """``runs/<profile>/<parts...>``, created on demand.

    Used in chapters 2 and 6."""
    d = runs_root() / check_profile(profile)
    for p in parts:
        d = d / p
    d.mkdir(parents=True, exist_ok=True)
    return d
