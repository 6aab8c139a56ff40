"""MyST chapters to plain Jupyter: the Colab copies, assignments and answer keys read clean."""
from pathlib import Path

import nbformat
import pytest

from minitranscend import book
from minitranscend.book import convert

ROOT = Path(__file__).resolve().parents[1]
BIB = convert.read_bib(ROOT / "references.bib")


def chapter(*cells) -> nbformat.NotebookNode:
    out = []
    for kind, text, *tags in cells:
        cell = (nbformat.v4.new_code_cell(text) if kind == "code"
                else nbformat.v4.new_markdown_cell(text))
        if tags:
            cell.metadata["tags"] = tags[0]
        out.append(cell)
    return nbformat.v4.new_notebook(cells=out)


SAMPLE = chapter(
    ("code", book.setup_cell_source("https://example.org/r"), ["colab-setup", "remove-cell"]),
    ("markdown", "# Title\n\n{cite:t}`zhang2024transcendence` say so {cite:p}`stockfish2023`.\n\n"
                 ":::{admonition} What you will learn\n:class: tip\n- a\n- b\n:::"),
    ("code", 'PROFILE = "ci"', ["parameters"]),
    ("markdown", "The best expert earns {glue:text}`best:.3f`.\n\n```{note}\nA note.\n```"),
    ("code", 'glue("best", 0.46, display=False)'),
    ("markdown", "(sec-ex)=\n## Exercises\n\n```{exercise} By hand\n:label: ex-a\n\nCompute it.\n```"
                 "\n\n```{solution} ex-a\n:class: dropdown\n\nIt is 4/7.\n```"),
    ("code", "my_answer = None\nprint(check(my_answer)[1])"),
    ("markdown", "````{exercise}\n:label: ex-b\n\nWrite `f`:\n\n```python\ndef f(): ...\n```\n````"),
    ("code", "def f():\n    ...\n"),
    ("markdown", "```{solution-start} ex-b\n:class: dropdown\n```"),
    ("markdown", "Return one. See {ref}`ex-a`."),
    ("code", "def f():\n    return 1\nassert check(f)[0]"),
    ("markdown", "```{solution-end}\n```"),
)


def convert_sample(kind):
    return convert.convert_notebook(SAMPLE, kind, chapter=3, bib=BIB, where="sample")


def test_colab_copy_reads_clean():
    nb = convert_sample("colab")
    text = [c.source for c in nb.cells]
    assert nb.cells[0].source.startswith("# Title")  # the title before the set-up cell
    assert "colab-setup" in nb.cells[1].metadata["tags"]
    assert "[Zhang et al. (2024)](https://arxiv.org/abs/2406.11741) say so " \
           "([Romstad et al., 2023](https://stockfishchess.org))." in text[0]
    assert "> **What you will learn**\n>\n> - a\n> - b" in text[0]
    assert "earns `best`." in text[3] and "by the code cell below" in text[3]
    assert "> **Note**\n>\n> A note." in text[3]
    assert "**Exercise 3.1 — By hand**\n\nCompute it." in text[5] and "(sec-ex)=" not in text[5]
    assert "<details>\n<summary><b>Solution to Exercise 3.1</b>" in text[5]
    assert "**Exercise 3.2**\n\nWrite `f`:\n\n```python\ndef f(): ...\n```" in text[7]
    # the gated solution folds into one <details> block, its code shown, not run
    folded = text[-1]
    assert folded.startswith("<details>") and "Solution to Exercise 3.2" in folded
    assert "Return one. See Exercise 3.1." in folded
    assert "```python\ndef f():\n    return 1\nassert check(f)[0]\n```" in folded
    assert [c.cell_type for c in nb.cells].count("code") == 5
    assert convert.check_plain(nb) == []


def test_student_copy_has_no_solutions_and_answer_key_runs_them():
    student = convert_sample("student")
    assert not any("Solution" in c.source or "return 1" in c.source or "4/7" in c.source
                   for c in student.cells)
    assert any("my_answer = None" in c.source for c in student.cells)  # the stubs stay
    answers = convert_sample("answers")
    code = [c.source for c in answers.cells if c.cell_type == "code"]
    assert "def f():\n    return 1\nassert check(f)[0]" in code
    md = "\n".join(c.source for c in answers.cells if c.cell_type == "markdown")
    assert "**Solution to Exercise 3.1**\n\nIt is 4/7." in md and "<details>" not in md


@pytest.mark.parametrize("text, problem", [
    ("{eq}`x`", "role {eq}"), ("```{figure} a.png\n```", "directive {figure}"),
    ("{cite:p}`nobody2020`", "not in references.bib"),
    ("```{solution} ex-none\n\nx\n```", "no exercise above it"),
    ("```{exercise}\nnever closed", "unclosed")])
def test_unknown_myst_is_an_error_not_raw_text(text, problem):
    nb = chapter(("markdown", text))
    with pytest.raises(convert.ConversionError, match=problem):
        convert.convert_notebook(nb, "colab", chapter=1, bib=BIB)


def test_read_bib_names_authors_and_years():
    assert BIB["zhang2024transcendence"]["authors"] == "Zhang et al."
    assert BIB["karpathy2022nanogpt"] == {"authors": "Karpathy", "year": "2022",
                                          "url": "https://github.com/karpathy/nanoGPT"}


def test_colab_notebooks_are_in_sync_with_the_chapters():
    stale = [p.name for p, text in book.colab_notebooks(ROOT).items()
             if not p.is_file() or p.read_text(encoding="utf-8") != text]
    assert stale == [], f"{stale}: run `python -m minitranscend book colab` and commit book/colab/"
    assert sorted(p.name for p in (ROOT / book.COLAB_DIR).glob("*.ipynb")) == \
        sorted(p.name for p in book.toc_notebooks(ROOT))


@pytest.mark.parametrize("path", sorted((ROOT / book.COLAB_DIR).glob("*.ipynb")), ids=lambda p: p.stem)
def test_colab_notebook_has_no_myst_and_hides_every_solution(path):
    nb = nbformat.read(path, as_version=4)
    assert book.check_plain(nb) == []
    assert nb.cells[0].source.startswith("# ") and "colab-setup" in nb.cells[2].metadata["tags"]
    source = nbformat.read(ROOT / "book" / path.name, as_version=4)
    n_solutions = sum(c.source.count("{solution") - c.source.count("{solution-end")
                      for c in source.cells if c.cell_type == "markdown")
    shown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert shown.count("<summary><b>Solution to Exercise") == n_solutions > 0
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")


def test_student_command_writes_assignments_and_answer_key(tmp_path):
    from minitranscend.cli import main

    assert main(["book", "student", "--out", str(tmp_path / "hw")]) == 0
    assert main(["book", "student", "--answers", "--out", str(tmp_path / "key")]) == 0
    names = sorted(p.name for p in book.toc_notebooks(ROOT))
    for folder in ("hw", "key"):
        assert sorted(p.name for p in (tmp_path / folder).glob("*.ipynb")) == names
    hw = nbformat.read(tmp_path / "hw" / "01_toy_world.ipynb", as_version=4)
    key = nbformat.read(tmp_path / "key" / "01_toy_world.ipynb", as_version=4)
    assert not any("Solution to Exercise" in c.source for c in hw.cells)
    assert sum("Solution to Exercise" in c.source for c in key.cells) == 3
    assert book.check_plain(hw) == [] and book.check_plain(key) == []
