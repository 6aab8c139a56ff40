"""The book's machinery: execute the chapters, build the site, keep the Colab cell in sync.

Notebooks in git carry no outputs. ``book execute`` copies the book source into a build
tree, ``_build/src/``, and runs every notebook of ``_toc.yml`` there with papermill (cwd =
the notebook's own folder in the repository, so ``runs/`` and relative paths are the same as
in a live session). ``book build`` then renders that tree with Jupyter Book (its own
execution is off) into ``_build/html/``. So the site always shows outputs, git never does,
and a failing chapter stops the run naming the notebook and the cell.

    minitranscend book execute --profile ci|full [--only NAME] [--resume]
    minitranscend book build
    minitranscend book check-links
    minitranscend book sync-setup

Notebooks call :func:`setup_plotly` once at the top and :func:`interactive` before showing
anything that needs a live kernel (sliders, board widgets).
"""
from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Set in the kernel's environment by ``book execute``: the output is for the static site.
BOOK_ENV = "MINITRANSCEND_BOOK"
PLOTLY_JS = "plotly.min.js"  # copied from the installed plotly into the site's _static/
SETUP_TAG = "colab-setup"
PARAMETERS_TAG = "parameters"
# Everything of the book source that the build tree needs besides the notebooks.
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("book",)


class BookError(RuntimeError):
    """A problem with the book (missing file, failing cell, broken link); the message says which."""


# --------------------------------------------------------------------------- helpers for chapters

def in_book_build() -> bool:
    """True while ``book execute`` runs this kernel: outputs end up in the static site."""
    return os.environ.get(BOOK_ENV, "") not in ("", "0")


def interactive() -> bool:
    """True in a live Jupyter / JupyterLab / VS Code / Colab kernel that a person drives.

    False under ``book execute`` (the site cannot call back into Python, so widgets there
    would be dead controls) and outside IPython. Chapters guard sliders with it::

        if interactive():
            display(widgets.interact(...))
    """
    if in_book_build():
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def setup_plotly(template: str = "plotly_white") -> str:
    """Pick the plotly renderer that draws both here and in the rendered book; return its name.

    In a live kernel plotly's own detection is right (Colab, VS Code, Jupyter, JupyterLab) and
    is kept. In the book build figures are written as plain ``<div>`` + ``Plotly.newPlot``
    HTML without plotly.js: the site loads one local copy (``_static/plotly.min.js``, put
    there by ``book build``), so pages stay small and figures draw offline. plotly >= 6 no
    longer uses require.js, so the old ``html_js_files: require.js`` fix is not needed.
    """
    import plotly.io as pio

    pio.templates.default = template
    if in_book_build():
        pio.renderers["minitranscend_book"] = _book_renderer()
        pio.renderers.default = "minitranscend_book"
    return pio.renderers.default


def _book_renderer():
    """A renderer writing ``<div>`` + ``Plotly.newPlot`` only: no plotly.js, no MathJax.

    plotly's notebook renderers add a second MathJax (from a CDN) to every figure, which
    fights the page's own MathJax and breaks the book's equations; the site has one already.
    Built in a function so that importing this module (every CLI call) does not import plotly.
    """
    from plotly.io import to_html
    from plotly.io._base_renderers import MimetypeRenderer

    class BookRenderer(MimetypeRenderer):
        def to_mimebundle(self, fig_dict):
            # responsive: the figure follows the page's column when the window is resized
            return {"text/html": to_html(fig_dict, include_plotlyjs=False, include_mathjax=False,
                                         config={"responsive": True}, full_html=False,
                                         default_width="100%", default_height=525,
                                         validate=False)}

    return BookRenderer()


def table_html(header, rows, caption: str | None = None) -> str:
    """An HTML ``<table>`` of ``rows`` (sequences of cells) under ``header``; cells escaped.

    Tables in chapters are HTML, not plotly ``go.Table`` (fixed-size canvas: truncated
    headers, a title on top of the cells, empty space below) and not a markdown output
    (myst-nb renders markdown *outputs* as CommonMark, which has no tables: the reader sees
    the pipes). HTML looks the same in Jupyter, Colab and the site.
    """
    from html import escape

    # inline styles: the same look in every front end, no stylesheet to ship
    pad = "padding:2px 7px;text-align:left;"
    style = {"th": pad + "border-bottom:1px solid #999;",
             "td": pad + "white-space:nowrap;border-bottom:1px solid #e5e5e5;"}

    def row(cells, tag):
        return "<tr>" + "".join(f'<{tag} style="{style[tag]}">{escape(str(c))}</{tag}>'
                                for c in cells) + "</tr>"

    cap = (f'<caption style="caption-side:top;text-align:left;font-weight:bold">'
           f"{escape(caption)}</caption>" if caption else "")
    # a wide table scrolls sideways instead of being cut off by the page's column
    return ('<div style="overflow-x:auto">'
            f'<table style="border-collapse:collapse;margin:0.5em 0;font-size:0.9em">{cap}'
            f"<thead>{row(header, 'th')}</thead><tbody>"
            + "".join(row(r, "td") for r in rows) + "</tbody></table></div>")


def show_table(header, rows, caption: str | None = None) -> None:
    """Display :func:`table_html` in the notebook (and so in the rendered book)."""
    from IPython.display import HTML, display

    display(HTML(table_html(header, rows, caption)))


# --------------------------------------------------------------------------- the book's layout

def book_root(start: Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` and ``_config.yml`` (the repository root)."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "_toc.yml").is_file() and (d / "_config.yml").is_file():
            return d
    raise BookError(f"no _toc.yml/_config.yml in {here} or above: run this from the repository")


def _load_yaml(path: Path) -> dict:
    import yaml

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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    import plotly

    shutil.copy2(Path(plotly.__file__).parent / "package_data" / PLOTLY_JS, static / PLOTLY_JS)
    return tree


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
    import nbformat

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
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .paths import PROFILES

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
    os.environ[BOOK_ENV] = "1"  # inherited by the kernels papermill starts
    try:
        for nb in notebooks:
            rel = nb.relative_to(root)
            out = tree / rel
            digest = _sha256(nb)
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
        os.environ.pop(BOOK_ENV, None)
    total = sum(v["seconds"] for v in times["notebooks"].values())
    print(f"all notebooks: {total:.1f} s; timings in {_times_path(root)}")
    return times


def _write_times(root: Path, times: dict) -> None:
    _times_path(root).parent.mkdir(parents=True, exist_ok=True)
    _times_path(root).write_text(json.dumps(times, indent=2) + "\n")


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
        elif times["notebooks"].get(str(rel), {}).get("source_sha256") != _sha256(nb):
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
    print(f"site: {index}")
    return index


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


# --------------------------------------------------------------------------- the Colab cell

def setup_cell_source(url: str) -> str:
    """The first cell of every chapter. Self-contained: on Colab the package is not there yet."""
    return f'''\
# Set-up for Google Colab: installs Stockfish and minitranscend. Elsewhere it does nothing
# (locally, run `make book` or `bash scripts/setup.sh` once). Generated by `book sync-setup`.
import os, subprocess, sys
if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "stockfish"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+{url}"], check=True)'''


SETUP_CELL_TAGS = [SETUP_TAG, "remove-cell"]


def sync_setup(root: Path) -> list[Path]:
    """Rewrite cell 1 of every toc notebook with the canonical set-up cell; return those changed."""
    import nbformat

    source = setup_cell_source(repository_url(root))
    changed = []
    for path in toc_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0] if nb.cells else None
        if first is not None and first.cell_type == "code" and (
                SETUP_TAG in first.metadata.get("tags", []) or "google.colab" in first.source):
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


# --------------------------------------------------------------------------- command line

def _cmd_execute(args: argparse.Namespace) -> int:
    execute(book_root(), args.profile, only=args.only, resume=args.resume)
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    build(book_root())
    return 0


def _cmd_check_links(args: argparse.Namespace) -> int:
    broken = check_links(build_dir(book_root()) / "html")
    for b in broken:
        print(f"broken link: {b}")
    print(f"{len(broken)} broken internal links")
    return 1 if broken else 0


def _cmd_sync_setup(args: argparse.Namespace) -> int:
    root = book_root()
    for p in sync_setup(root):
        print(f"rewrote the set-up cell of {p.relative_to(root)}")
    return 0


def _guard(func):
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except BookError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    return run


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    book = subparsers.add_parser("book", help="execute the chapters and build the site")
    sub = book.add_subparsers(dest="book_command", required=True, metavar="ACTION")
    p = sub.add_parser("execute", help="run every notebook of _toc.yml into _build/src")
    p.add_argument("--profile", choices=("ci", "full"), default="ci",
                   help="ci: the whole book in minutes on a CPU; full: the real experiment")
    p.add_argument("--only", metavar="NAME", help="run one notebook, e.g. 01_toy_world")
    p.add_argument("--resume", action="store_true",
                   help="skip notebooks already executed from the same source and profile")
    p.set_defaults(func=_guard(_cmd_execute))
    p = sub.add_parser("build", help="render _build/src into _build/html (warnings are errors)")
    p.set_defaults(func=_guard(_cmd_build))
    p = sub.add_parser("check-links", help="fail on internal links of _build/html that go nowhere")
    p.set_defaults(func=_guard(_cmd_check_links))
    p = sub.add_parser("sync-setup", help="rewrite the Colab set-up cell of every notebook")
    p.set_defaults(func=_guard(_cmd_sync_setup))
