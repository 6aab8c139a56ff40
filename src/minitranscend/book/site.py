"""The site: execute the chapters in a student's runtime, render them, check the links.

Notebooks in git carry no outputs. ``book execute`` copies the book source into a build
tree, ``_build/src/``, and runs every notebook of ``_toc.yml`` there with papermill (cwd =
the notebook's own folder in the repository, so ``runs/`` and relative paths are the same as
in a live session), with the book-build tools unimportable in the kernel
(:mod:`.runtime`). ``book build`` then renders that tree with Jupyter Book (its own
execution is off) into ``_build/html/``, with plotly.js and MathJax served from the site
itself, and points the Colab buttons at the generated plain-Jupyter notebooks
(:mod:`.convert`). So the site always shows outputs, git never does, the site works
offline, and a failing chapter stops the run naming the notebook and the cell.
"""
from __future__ import annotations

import html.parser
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import yaml

from ..notebook import BOOK_ENV
from ..settings import PROFILES
from ..store import atomic_write_json, file_digest
from .runtime import BUILD_TOOLS, blocked_in, student_environment

PLOTLY_JS = "plotly.min.js"  # copied from the installed plotly into the site's _static/
PARAMETERS_TAG = "parameters"
# Everything of the book source that the build tree needs besides the notebooks.
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("book",)
# MathJax 3 served by the site (no CDN): the one bundle the pages load and its fonts, taken
# from the sphinx-mathjax-offline wheel (a pinned book dependency that carries MathJax 3.2.2).
MATHJAX_DIST = "sphinx-mathjax-offline"
MATHJAX_FILES = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2")
COLAB_DIR = "book/colab"  # the generated plain-Jupyter notebooks that the Colab buttons open


class BookError(RuntimeError):
    """A problem with the book (missing file, failing cell, broken link); the message says which."""


# --------------------------------------------------------------------------- the book's layout

def book_root(start: Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` and ``_config.yml`` (the repository root)."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "_toc.yml").is_file() and (d / "_config.yml").is_file():
            return d
    raise BookError(f"no _toc.yml/_config.yml in {here} or above: run this from the repository")


def _load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def toc_files(root: Path) -> list[str]:
    """Every document of ``_toc.yml`` in reading order, as written there (no suffix)."""
    toc = _load_yaml(root / "_toc.yml")
    out: list[str] = [toc["root"]]

    def walk(entries: list) -> None:
        for e in entries or []:
            if "file" in e:
                out.append(e["file"])
            walk(e.get("sections", []))
            for part in e.get("parts", []):
                walk(part.get("chapters", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return out


def _resolve(root: Path, name: str) -> Path:
    for suffix in ("", ".ipynb", ".md"):
        p = root / f"{name}{suffix}"
        if p.is_file():
            return p
    raise BookError(f"_toc.yml lists {name!r} but neither {name}.ipynb nor {name}.md exists")


def toc_notebooks(root: Path) -> list[Path]:
    """The toc's ``.ipynb`` files, in order."""
    return [p for p in (_resolve(root, n) for n in toc_files(root)) if p.suffix == ".ipynb"]


def repository_url(root: Path) -> str:
    """``repository: url:`` of ``_config.yml`` — set there once, used by the Colab cell."""
    url = (_load_yaml(root / "_config.yml").get("repository") or {}).get("url")
    if not url:
        raise BookError("_config.yml has no repository: url: — add the repository's address")
    return url.rstrip("/")


def build_dir(root: Path) -> Path:
    return root / "_build"


def source_tree(root: Path) -> Path:
    """Where executed notebooks and copies of the other book files live: ``_build/src``."""
    return build_dir(root) / "src"


def sync_tree(root: Path) -> Path:
    """Copy config, toc, bibliography and every non-notebook file of ``book/`` into the tree.

    Notebooks are not copied: only ``execute`` writes them, so a page can never show
    outputs that did not come from running it.
    """
    tree = source_tree(root)
    tree.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(root / name, tree / name)
    for d in BOOK_DIRS:
        for src in (root / d).rglob("*"):
            rel = src.relative_to(root)
            if src.is_dir() or src.suffix == ".ipynb" or any(
                    part in ("_executed", ".ipynb_checkpoints", "__pycache__") for part in rel.parts):
                continue
            # book/_static/ is the site's _static/ (Jupyter Book loads every .css/.js there)
            static = rel.parts[1:2] == ("_static",)
            dst = tree.joinpath("_static", *rel.parts[2:]) if static else tree / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    static = tree / "_static"
    static.mkdir(exist_ok=True)
    shutil.copy2(_plotly_js(), static / PLOTLY_JS)
    return tree


def _plotly_js() -> Path:
    """The plotly.min.js of the installed plotly (the version that wrote the figures)."""
    import plotly  # plotly's own package folder; the chapters import plotly, not this module

    return Path(plotly.__file__).parent / "package_data" / PLOTLY_JS


def mathjax_source() -> Path:
    """The folder holding MathJax 3's ``tex-mml-chtml.js`` in the installed wheel."""
    try:
        dist = importlib.metadata.distribution(MATHJAX_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise BookError(f"{MATHJAX_DIST} is not installed (it carries MathJax for the site): "
                        "pip install -r requirements.txt") from None
    folder = Path(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (folder / MATHJAX_FILES[0]).is_file():
        raise BookError(f"{folder / MATHJAX_FILES[0]} is missing: reinstall {MATHJAX_DIST}")
    return folder


def copy_mathjax(html_dir: Path) -> Path:
    """Copy MathJax's bundle and fonts into ``_static/mathjax`` of the built site."""
    src, dst = mathjax_source(), html_dir / "_static" / "mathjax"
    for rel in MATHJAX_FILES:
        if (src / rel).is_dir():
            shutil.copytree(src / rel, dst / rel, dirs_exist_ok=True)
        else:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dst / rel)
    return dst


# --------------------------------------------------------------------------- execute

def _times_path(root: Path) -> Path:
    return build_dir(root) / "execution_times.json"


def _load_times(root: Path) -> dict:
    p = _times_path(root)
    if p.is_file():
        return json.loads(p.read_text())
    return {"notebooks": {}}


def _hide_injected_parameters(path: Path, profile: str) -> None:
    """Hide papermill's injected cell when the parameters cell already says the same thing."""
    nb = nbformat.read(path, as_version=4)
    params = next((c for c in nb.cells if PARAMETERS_TAG in c.metadata.get("tags", [])), None)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and params is not None and \
                re.search(rf"PROFILE\s*=\s*['\"]{profile}['\"]", params.source):
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, path)


def execute(root: Path, profile: str, only: str | None = None, resume: bool = False) -> dict:
    """Run the toc's notebooks in order into ``_build/src``; stop at the first failing cell.

    ``only`` picks one notebook (a name like ``01_toy_world``). ``resume`` skips notebooks
    whose executed copy came from the same source and profile (for long ``full`` runs).
    Returns the timings also written to ``_build/execution_times.json``.
    """
    # papermill is a book-build tool: the CLI (and so every student) imports this module
    try:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError
    except ModuleNotFoundError:
        raise BookError("executing the book needs the book tools: "
                        "pip install -r requirements.txt (or minitranscend[book])") from None

    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}; use one of {PROFILES}")
    notebooks = toc_notebooks(root)
    if only is not None:
        picked = [p for p in notebooks if only in (p.stem, p.name, str(p.relative_to(root)))]
        if not picked:
            names = ", ".join(p.stem for p in notebooks)
            raise BookError(f"--only {only!r} matches no notebook of _toc.yml; choose from {names}")
        notebooks = picked
    tree = sync_tree(root)
    times = _load_times(root)
    if times.get("profile") not in (None, profile):
        times = {"notebooks": {}}  # a different profile: earlier results do not count
    times["profile"] = profile
    # The kernels papermill starts inherit this process's environment: mark the build, and
    # make the book tools unimportable there as they are in a student's runtime.
    saved = dict(os.environ)
    os.environ.update(student_environment(build_dir(root) / "student-runtime"))
    os.environ[BOOK_ENV] = "1"
    try:
        blocked = blocked_in(dict(os.environ))
        if sorted(blocked) != sorted(BUILD_TOOLS):
            raise BookError(f"could not block the book tools in the kernels ({blocked})")
        times["build_tools_blocked"] = sorted(blocked)
        for nb in notebooks:
            rel = nb.relative_to(root)
            out = tree / rel
            digest = file_digest(nb)
            done = times["notebooks"].get(str(rel), {})
            if resume and out.is_file() and done.get("source_sha256") == digest:
                print(f"{rel}: already executed with profile {profile}, skipped (--resume)")
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            print(f"{rel}: executing with PROFILE={profile!r} ...", flush=True)
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(nb), str(out), parameters={"PROFILE": profile},
                                    kernel_name="python3", cwd=str(nb.parent),
                                    progress_bar=sys.stderr.isatty(), log_output=False)
            except PapermillExecutionError as e:
                times["notebooks"].pop(str(rel), None)
                _write_times(root, times)
                raise BookError(
                    f"{rel}: cell {e.cell_index} (execution count {e.exec_count}) failed with "
                    f"{e.ename}: {e.evalue}\nThe partly executed notebook is {out}") from None
            seconds = time.perf_counter() - t0
            _hide_injected_parameters(out, profile)
            times["notebooks"][str(rel)] = {"seconds": round(seconds, 1), "source_sha256": digest,
                                            "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
            _write_times(root, times)
            print(f"{rel}: done in {seconds:.1f} s", flush=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    total = sum(v["seconds"] for v in times["notebooks"].values())
    print(f"all notebooks: {total:.1f} s; timings in {_times_path(root)}")
    return times


def _write_times(root: Path, times: dict) -> None:
    _times_path(root).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(_times_path(root), times, indent=2)


# --------------------------------------------------------------------------- build

def build(root: Path) -> Path:
    """Render ``_build/src`` into ``_build/html`` with warnings as errors; return index.html."""
    tree = sync_tree(root)
    times = _load_times(root)
    missing, stale = [], []
    for nb in toc_notebooks(root):
        rel = nb.relative_to(root)
        if not (tree / rel).is_file():
            missing.append(str(rel))
        elif times["notebooks"].get(str(rel), {}).get("source_sha256") != file_digest(nb):
            stale.append(str(rel))
    if missing:
        raise BookError(f"not executed yet: {', '.join(missing)}; "
                        "run `python -m minitranscend book execute --profile ci` first")
    for rel in stale:
        print(f"warning: {rel} changed since it was executed; "
              f"rerun `minitranscend book execute --only {Path(rel).stem}`", file=sys.stderr)
    html_dir = build_dir(root) / "html"
    # jupyter-book has no ``python -m`` entry; call its CLI function in this interpreter.
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build",
           str(tree), "--path-output", str(root), "--builder", "html", "-W", "-n", "--keep-going",
           "--all"]  # a full rebuild: an incremental one would not repeat old pages' warnings
    print("jupyter-book " + " ".join(cmd[3:]), flush=True)
    proc = subprocess.run(cmd, cwd=root)
    if proc.returncode != 0:
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}); the warnings above "
                        "say which page and line")
    index = html_dir / "index.html"
    if not index.is_file():
        raise BookError(f"the build finished but {index} is missing")
    copy_mathjax(html_dir)
    dedupe_inline_scripts(html_dir)
    n = point_colab_buttons(html_dir)
    leaks = machine_paths(html_dir, root)
    if leaks:
        raise BookError("pages print paths of this machine (print paths relative to the "
                        "repository or runs/): " + "; ".join(leaks[:10]))
    print(f"site: {index} ({n} Colab buttons open {COLAB_DIR}/; {site_size(html_dir) / 1e6:.1f} MB)")
    return index


def point_colab_buttons(html_dir: Path) -> int:
    """Make every page's Colab button open the generated notebook in ``book/colab/``.

    Jupyter Book links the button to the page's MyST source (``.../blob/<branch>/book/X.ipynb``),
    which Colab would show with raw roles and directives; the generated copy reads clean.
    Returns how many links were rewritten.
    """
    pattern = re.compile(r'(https://colab\.research\.google\.com/github/[^"\']+?/blob/[^/"\']+/)'
                         r'book/(\d\d_[\w-]+\.ipynb)')
    count = 0
    for page in html_dir.glob("book/*.html"):
        text = page.read_text(encoding="utf-8")
        new, n = pattern.subn(rf"\g<1>{COLAB_DIR}/\g<2>", text)
        if n:
            page.write_text(new, encoding="utf-8")
            count += n
    return count


def dedupe_inline_scripts(html_dir: Path) -> int:
    """Drop repeated identical one-line ``<script>`` blocks from every page; return how many.

    Jupyter Book 1 registers sphinx-thebe's configuration script twice on every page (two
    ``const THEBE_JS_URL = ...`` lines); the second is dead weight and declares the constants
    again.
    """
    script = re.compile(r"^\s*<script>[^\n]*</script>\s*$")
    removed = 0
    for page in html_dir.rglob("*.html"):
        if page.relative_to(html_dir).parts[0] == "_static":
            continue
        seen, out = set(), []
        lines = page.read_text(encoding="utf-8").split("\n")
        for line in lines:
            if script.match(line):
                if line in seen:
                    continue
                seen.add(line)
            out.append(line)
        if len(out) != len(lines):
            removed += len(lines) - len(out)
            page.write_text("\n".join(out), encoding="utf-8")
    return removed


def machine_paths(html_dir: Path, root: Path) -> list[str]:
    """Pages whose text contains this machine's repository path (a cell printed a full path)."""
    needle = str(root.resolve())
    return [f"{p.relative_to(html_dir)}" for p in sorted(html_dir.glob("book/*.html"))
            if needle in p.read_text(encoding="utf-8", errors="replace")]


def site_size(html_dir: Path) -> int:
    """Bytes of the built site (what a reader downloads to read it offline)."""
    return sum(p.stat().st_size for p in html_dir.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- links

class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and ((tag == "a" and key == "href") or
                          (tag in ("img", "script") and key == "src") or
                          (tag == "link" and key == "href")):
                self.links.append(value)


def check_links(html_dir: Path) -> list[str]:
    """Every internal href/src of every page that points at no file; empty means all good."""
    if not (html_dir / "index.html").is_file():
        raise BookError(f"{html_dir}/index.html is missing: run `minitranscend book build` first")
    broken = []
    for page in sorted(html_dir.rglob("*.html")):
        if page.relative_to(html_dir).parts[0] in ("_static", "_sources"):
            continue  # theme templates and page sources, not pages
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "mailto:", "javascript:", "data:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html_dir)}: {link}")
    return broken


