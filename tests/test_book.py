"""The book's machinery: the Colab cell, the notebook conventions, links, and a full build."""
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from minitranscend import book

ROOT = Path(__file__).resolve().parents[1]
URL = book.repository_url(ROOT)


def run_setup_cell(monkeypatch, colab: bool) -> list[list[str]]:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: calls.append(list(cmd)))
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(book.setup_cell_source(URL), "setup-cell", "exec"), {})
    return calls


def test_setup_cell_installs_on_colab(monkeypatch):
    assert URL == "https://github.com/minitranscend/minitranscend"
    calls = run_setup_cell(monkeypatch, colab=True)
    assert any(c[:2] == ["apt-get", "install"] and "stockfish" in c and "-y" in c for c in calls)
    pip = [c for c in calls if "pip" in c and "install" in c]
    assert len(pip) == 1 and pip[0][-1] == f"git+{URL}"


def test_setup_cell_detects_colab_by_environment(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: calls.append(list(cmd)))
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20260101")
    exec(book.setup_cell_source(URL), {})
    assert len(calls) == 3


def test_setup_cell_does_nothing_elsewhere(monkeypatch):
    assert run_setup_cell(monkeypatch, colab=False) == []
    assert "import minitranscend" not in book.setup_cell_source(URL)  # self-contained


def test_toc_lists_the_chapters_in_order():
    names = book.toc_files(ROOT)
    assert names[0] == "book/index" and names[-1] == "book/bibliography"
    assert [n.split("/")[1][:2] for n in names[1:10]] == [f"{i:02d}" for i in range(1, 10)]


@pytest.mark.parametrize("path", book.toc_notebooks(ROOT), ids=lambda p: p.stem)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    first, second = nb.cells[0], nb.cells[1]
    assert first.source == book.setup_cell_source(URL), \
        f"{path.name}: run `python -m minitranscend book sync-setup`"
    assert first.metadata["tags"] == book.SETUP_CELL_TAGS
    assert second.cell_type == "code" and "parameters" in second.metadata.get("tags", [])
    assert 'PROFILE = "ci"' in second.source


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
        monkeypatch.setenv(book.BOOK_ENV, "1")
        assert book.setup_plotly() == "minitranscend_book"
        bundle = pio.renderers["minitranscend_book"].to_mimebundle(go.Figure(go.Bar(y=[1])).to_dict())
        html = bundle["text/html"]
        assert "Plotly.newPlot" in html and "cdn" not in html.lower() and "mathjax" not in html.lower()
        assert len(html) < 100_000  # plotly.js itself comes once from _static/
        assert not book.interactive()
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
