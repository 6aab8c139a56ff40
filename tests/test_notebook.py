"""What chapters import: glue in every runtime, and the student runtime the book executes in."""
import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import Markdown

from minitranscend import notebook
from minitranscend.book import BUILD_TOOLS, student_environment
from minitranscend.book.runtime import blocked_in


def capture_display(monkeypatch) -> list:
    shown = []
    monkeypatch.setattr(notebook, "_display", lambda obj, **kw: shown.append((obj, kw)))
    return shown


@pytest.mark.parametrize("value", [20, 0.5714285, "Stockfish 15.1", [1, 2]])
@pytest.mark.parametrize("display", [True, False])
def test_glue_in_the_book_writes_myst_nbs_format(monkeypatch, value, display):
    """In the book build our bundle is byte for byte the one myst_nb.glue writes."""
    import myst_nb
    import myst_nb.ext.glue as myst_glue

    ours = capture_display(monkeypatch)
    monkeypatch.setenv(notebook.BOOK_ENV, "1")
    notebook.glue("x", value, display=display)
    theirs = []
    monkeypatch.setattr(myst_glue, "ipy_display", lambda obj, **kw: theirs.append((obj, kw)))
    myst_nb.glue("x", value, display=display)
    assert ours == theirs
    assert myst_glue.GLUE_PREFIX == notebook.GLUE_PREFIX


def test_glue_elsewhere_shows_the_value(monkeypatch, capsys):
    monkeypatch.delenv(notebook.BOOK_ENV, raising=False)
    notebook.glue("n_games", 8000, display=False)
    notebook.glue("gain", 0.018234, display=False)
    notebook.glue("verdict", Markdown("**transcends**"), display=False)
    assert capsys.readouterr().out == "n_games = 8,000\ngain = 0.01823\nverdict = **transcends**\n"
    shown = capture_display(monkeypatch)
    InteractiveShell.instance()  # an IPython kernel-like shell: the value goes to display()
    try:
        notebook.glue("tau", 0.001)
    finally:
        InteractiveShell.clear_instance()
    assert shown == [({"text/plain": "tau = 0.001"}, {"raw": True})]


@pytest.mark.parametrize("value, text", [(3, "3"), (1234567, "1,234,567"), (0.5, "0.5"),
                                         (2 / 3, "0.6667"), (0.0001234, "1.234e-04"),
                                         (float("nan"), "nan"), (True, "True"), ("A", "A")])
def test_format_value(value, text):
    assert notebook.format_value(value) == text


def test_the_student_runtime_blocks_every_build_tool(tmp_path):
    env = student_environment(tmp_path)
    assert sorted(blocked_in(env)) == sorted(BUILD_TOOLS)
    proc = subprocess.run([sys.executable, "-c", "import myst_nb"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "a book-build tool, blocked" in proc.stderr
    # ... and leaves the runtime alone
    ok = subprocess.run([sys.executable, "-c", "import minitranscend.notebook, plotly, chess, torch,"
                         " ipywidgets; from minitranscend.exercises import check_toy_reward"],
                        env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    # and the build itself (this interpreter) still has them
    unblocked = blocked_in({k: v for k, v in env.items() if k != "PYTHONPATH"})
    assert not {"myst_nb", "papermill", "sphinx", "jupyter_book"} & set(unblocked)
