"""The book's machinery: the Colab cell, the notebook conventions, links, and a full build."""
import importlib.metadata
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

import minitranscend
from minitranscend import book, notebook

ROOT = Path(__file__).resolve().parents[1]
URL = book.repository_url(ROOT)


def run_setup_cell(monkeypatch, colab: bool, installed: str | None = None,
                   stockfish: bool = False) -> list:
    calls = []

    def fake_run(cmd, *a, **k):
        calls.append(cmd)
        found = stockfish or not (isinstance(cmd, str) and cmd.startswith("command -v"))
        return subprocess.CompletedProcess(cmd, 0 if found else 1)

    def fake_version(name):
        if installed is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return installed

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(book.setup_cell_source(URL), "setup-cell", "exec"), {})
    return calls


def test_setup_cell_installs_the_pinned_release_on_colab(monkeypatch):
    assert URL == "https://github.com/minitranscend/minitranscend"
    assert book.release_ref() == f"v{minitranscend.__version__}"
    calls = run_setup_cell(monkeypatch, colab=True)
    assert any(isinstance(c, str) and "apt-get install -y -qq stockfish" in c for c in calls)
    pip = [c for c in calls if isinstance(c, list) and "pip" in c]
    assert len(pip) == 1 and pip[0][-1] == f"git+{URL}@v{minitranscend.__version__}"
    assert "--upgrade" not in pip[0] and "-U" not in pip[0]  # keeps Colab's torch and widgets


def test_setup_cell_skips_what_is_already_there(monkeypatch):
    calls = run_setup_cell(monkeypatch, colab=True, installed=minitranscend.__version__,
                           stockfish=True)
    assert len(calls) == 1 and calls[0].startswith("command -v stockfish")  # only the probe
    calls = run_setup_cell(monkeypatch, colab=True, installed="0.0.1", stockfish=True)
    assert [c for c in calls if isinstance(c, list)][0][-1].endswith(book.release_ref())


def test_setup_cell_detects_colab_by_environment(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run",
                        lambda cmd, *a, **k: calls.append(cmd) or subprocess.CompletedProcess(cmd, 1))
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20260101")
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1")  # an older release
    exec(book.setup_cell_source(URL), {})
    assert len(calls) == 3  # probe for Stockfish, install it, install the package


def test_setup_cell_does_nothing_elsewhere(monkeypatch):
    assert run_setup_cell(monkeypatch, colab=False) == []
    assert "import minitranscend" not in book.setup_cell_source(URL)  # self-contained


def test_setup_cell_keeps_runs_on_drive_when_asked(monkeypatch):
    source = book.setup_cell_source(URL).replace("KEEP_RUNS_ON_DRIVE = False",
                                                 "KEEP_RUNS_ON_DRIVE = True")
    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: subprocess.CompletedProcess(cmd, 0))
    monkeypatch.setattr(importlib.metadata, "version", lambda name: minitranscend.__version__)
    monkeypatch.delenv("MINITRANSCEND_RUNS", raising=False)
    exec(source, {})
    assert mounted == ["/content/drive"]
    assert os.environ.pop("MINITRANSCEND_RUNS") == "/content/drive/MyDrive/minitranscend/runs"


def test_toc_lists_the_chapters_in_order():
    names = book.toc_files(ROOT)
    assert names[0] == "book/index" and names[-1] == "book/bibliography"
    assert [n.split("/")[1][:2] for n in names[1:10]] == [f"{i:02d}" for i in range(1, 10)]


@pytest.mark.parametrize("path", book.toc_notebooks(ROOT), ids=lambda p: p.stem)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    first, title, params = nb.cells[0], nb.cells[1], nb.cells[2]
    assert first.source == book.setup_cell_source(URL), \
        f"{path.name}: run `python -m minitranscend book sync-setup`"
    assert first.metadata["tags"] == book.SETUP_CELL_TAGS
    # the reader sees the title first, then the parameters (the set-up cell is hidden)
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    assert params.cell_type == "code" and "parameters" in params.metadata.get("tags", [])
    assert 'PROFILE = "ci"' in params.source
    # a chapter imports only what a student's runtime has
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for tool in book.BUILD_TOOLS:
        assert f"import {tool}" not in code and f"from {tool}" not in code, \
            f"{path.name} imports the book-build tool {tool}"


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_in_git_have_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name} cell {i} has outputs: clear them before committing"


def test_sync_setup_inserts_and_rewrites(tmp_path):
    for name in ("_config.yml", "_toc.yml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/a\nchapters:\n- file: book/b\n")
    (tmp_path / "book").mkdir()
    old = nbformat.v4.new_code_cell("print('old set-up')")
    old.metadata["tags"] = ["colab-setup"]
    nbformat.write(nbformat.v4.new_notebook(cells=[old]), tmp_path / "book" / "a.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# b")]),
                   tmp_path / "book" / "b.ipynb")
    assert len(book.sync_setup(tmp_path)) == 2
    for name in ("a", "b"):
        nb = nbformat.read(tmp_path / "book" / f"{name}.ipynb", as_version=4)
        assert nb.cells[0].source == book.setup_cell_source(URL)
    assert len(nbformat.read(tmp_path / "book" / "a.ipynb", as_version=4).cells) == 1
    assert book.sync_setup(tmp_path) == []  # idempotent


def test_check_links_finds_broken_internal_links(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "index.html").write_text('<a href="book/a.html#x">a</a> <a href="https://x.org">e</a>')
    (tmp_path / "book" / "a.html").write_text('<img src="../img.png"><a href="#top">t</a>'
                                              '<a href="b.html">b</a>')
    assert book.check_links(tmp_path) == ["book/a.html: ../img.png", "book/a.html: b.html"]
    (tmp_path / "img.png").write_bytes(b"")
    (tmp_path / "book" / "b.html").write_text("")
    assert book.check_links(tmp_path) == []


def test_plotly_in_the_book_draws_without_cdn(monkeypatch):
    import plotly.graph_objects as go
    import plotly.io as pio

    default = pio.renderers.default
    try:
        monkeypatch.setenv(notebook.BOOK_ENV, "1")
        assert notebook.setup_plotly() == "minitranscend_book"
        bundle = pio.renderers["minitranscend_book"].to_mimebundle(go.Figure(go.Bar(y=[1])).to_dict())
        html = bundle["text/html"]
        assert "Plotly.newPlot" in html and "cdn" not in html.lower() and "mathjax" not in html.lower()
        assert len(html) < 100_000  # plotly.js itself comes once from _static/
        assert not notebook.interactive()
    finally:
        pio.renderers.default = default


def test_execute_rejects_bad_arguments():
    with pytest.raises(book.BookError, match="profile"):
        book.execute(ROOT, "fast")
    with pytest.raises(book.BookError, match="01_toy_world"):
        book.execute(ROOT, "ci", only="no_such_chapter")


@pytest.mark.book
@pytest.mark.slow
def test_the_whole_book_executes_builds_and_links():
    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "minitranscend", "book", *args], cwd=ROOT,
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"book {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    run("execute", "--profile", "ci")
    run("build")
    html = ROOT / "_build" / "html"
    assert (html / "index.html").is_file()
    for name in book.toc_files(ROOT):
        assert (html / f"{name}.html").is_file(), f"{name}.html was not built"
    assert "0 broken internal links" in run("check-links")
    page = (html / "book" / "01_toy_world.html").read_text()
    assert "plotly-graph-div" in page and "<svg" in page  # figures and the static board
    assert (html / "_static" / book.PLOTLY_JS).is_file()
    # every chapter ran as in a student's runtime: the book tools were unimportable
    times = json.loads((ROOT / "_build" / "execution_times.json").read_text())
    assert sorted(times["build_tools_blocked"]) == sorted(book.BUILD_TOOLS)
    assert len(times["notebooks"]) == len(book.toc_notebooks(ROOT))
    # the site typesets math and draws figures with no network: MathJax and plotly.js are local
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2" /
            "MathJax_Main-Regular.woff").is_file()
    assert 'src="../_static/mathjax/tex-mml-chtml.js' in page and "cdn.jsdelivr" not in page
    # the Colab button opens the generated plain notebook, pinned to the repository's branch
    assert "colab.research.google.com/github/minitranscend/minitranscend/blob/main/book/colab/" \
           "01_toy_world.ipynb" in page
    # solutions are executed and accepted by their checkers (a failing assert stops the build)
    executed = nbformat.read(ROOT / "_build" / "src" / "book" / "01_toy_world.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert outputs.count("right") >= 3
    # bibliography labels are author-year, like the citations in the text
    bib = (html / "book" / "bibliography.html").read_text()
    assert "Zhang et al., 2024" in bib and "ZZS" not in bib
    assert book.site_size(html) < 40e6
    assert page.count("const THEBE_JS_URL") == 1  # Jupyter Book writes it twice
