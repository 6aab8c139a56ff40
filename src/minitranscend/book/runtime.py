"""A student's runtime, simulated: the book-build tools made unimportable in the chapters' kernels.

A student on Colab or in a fresh Jupyter has this package and its runtime dependencies, not
myst-nb, papermill, Sphinx or Jupyter Book. ``book execute`` runs every chapter's kernel with
those packages blocked (a ``sitecustomize`` on the kernel's ``PYTHONPATH`` installs an import
hook), so a chapter that imports one of them fails in CI exactly as it would for a student.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Top-level names of the build stack: a chapter must not import any of them.
BUILD_TOOLS = ("myst_nb", "myst_parser", "papermill", "sphinx", "sphinx_book_theme",
               "sphinx_exercise", "sphinxcontrib", "sphinx_design", "jupyter_book", "scrapbook")

SITECUSTOMIZE = '''\
"""Written by minitranscend's `book execute`: the book-build tools are not importable here,
as in a student's Colab or Jupyter runtime (minitranscend/book/runtime.py)."""
import sys

_BLOCKED = {blocked!r}


class _BuildToolBlocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {{name!r}} (a book-build tool, blocked: a student's runtime "
                "does not have it; chapters import only minitranscend and its dependencies)",
                name=name)
        return None


sys.meta_path.insert(0, _BuildToolBlocker())
'''


def write_blocker(folder: Path) -> Path:
    """Write the ``sitecustomize.py`` that blocks :data:`BUILD_TOOLS` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sitecustomize.py"
    path.write_text(SITECUSTOMIZE.format(blocked=sorted(BUILD_TOOLS)), encoding="utf-8")
    return path


def student_environment(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the blocker first on ``PYTHONPATH``."""
    env = dict(os.environ if base is None else base)
    write_blocker(folder)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH")) if p)
    return env


def blocked_in(env: dict[str, str]) -> list[str]:
    """Which build tools a fresh interpreter started with ``env`` cannot import (a self-check)."""
    probe = ("import importlib\n"
             "out = []\n"
             f"for name in {list(BUILD_TOOLS)!r}:\n"
             "    try:\n"
             "        importlib.import_module(name)\n"
             "    except ModuleNotFoundError:\n"
             "        out.append(name)\n"
             "print(' '.join(out))\n")
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=True)
    return proc.stdout.split()
