"""MyST chapters to plain Jupyter notebooks: what Colab opens, what students get, the answer key.

The chapters in ``book/`` are MyST notebooks: roles (``{glue:text}``, ``{cite:t}``) and
directives (admonitions, ``{exercise}``, ``{solution}``) that only Jupyter Book renders. Opened
in Colab or a plain Jupyter they show as raw text, with every solution in plain view. As
QuantEcon does for its lectures, the book's sources stay MyST and plain notebooks are
*generated* from them:

- ``colab``: what the launch buttons open (``book/colab/``, committed; a test keeps it in
  sync). Roles become text, boxes become quotes, exercises get their numbers and titles,
  solutions fold into ``<details>`` blocks (their code shown, not run).
- ``student``: an assignment: solutions removed.
- ``answers``: the answer key: solutions as ordinary cells (their code runs).

A glued value cannot be computed by a markdown cell, so its name appears in ``code`` font
and the chapter's :func:`minitranscend.notebook.glue` call prints ``name = value`` when the
student runs the cell that computes it; the paragraph says which cell that is.

Anything the converter does not know (a new role or directive) is an error, not raw text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .setup_cell import is_setup_cell
from .site import COLAB_DIR, repository_url, toc_notebooks

KINDS = ("colab", "student", "answers")
ADMONITIONS = ("note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso")
OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*?)\s*$")
ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<body>[^`]*)`")
LABEL_LINE = re.compile(r"^\([\w:-]+\)=\s*$", re.M)
GLUE_CALL = re.compile(r"""glue\(\s*f?["']([\w{}]+)["']""")
# What check_plain looks for in a generated notebook: any role or directive left over.
MYST_LEFTOVER = re.compile(r"\{[a-z][\w:-]*\}`|^\s*(`{3,}|:{3,})\{[\w:-]+\}", re.M)


class ConversionError(ValueError):
    """A MyST construct the converter does not handle; the message names the notebook and cell."""


@dataclass
class _Context:
    chapter: int
    kind: str
    bib: dict[str, dict[str, str]]
    where: str
    exercises: dict[str, str] = field(default_factory=dict)  # label -> "1.2"


# --------------------------------------------------------------------------- bibliography

def author_label(surnames: list[str], et_al: bool, fallback: str) -> str:
    """"Zhang et al.", "Abreu and Zhang" or "Karpathy": how the book names a work's authors,
    in the Colab copies' citations and in the site's bibliography labels (``book/_ext``)."""
    if len(surnames) > 2 or (surnames and et_al):
        return f"{surnames[0]} et al."
    if len(surnames) == 2:
        return f"{surnames[0]} and {surnames[1]}"
    return surnames[0] if surnames else fallback


def read_bib(path: Path) -> dict[str, dict[str, str]]:
    """key -> {"authors": "Zhang et al.", "year": "2024", "url": ...} from a BibTeX file.

    Enough BibTeX for citations in the text (author surnames, year, url); the site's own
    bibliography still comes from sphinxcontrib-bibtex.
    """
    text = path.read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r"@\w+\{([^,\s]+),(.*?)\n\}", text, re.S):
        fields = dict((k.lower(), v.strip()) for k, v in
                      re.findall(r"(\w+)\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", m.group(2)))
        names = [a.strip() for a in fields.get("author", "").split(" and ") if a.strip()]
        surnames = [re.sub(r"[{}]", "", n.split(",")[0] if "," in n else n.split()[-1])
                    for n in names]
        who = author_label(surnames, bool(names) and names[-1] == "others", m.group(1))
        url = fields.get("url") or (re.findall(r"\\url\{([^}]*)\}", fields.get("howpublished", ""))
                                    or [""])[0]
        out[m.group(1)] = {"authors": who, "year": fields.get("year", "n.d."), "url": url}
    return out


def _cite(keys: str, textual: bool, ctx: _Context) -> str:
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in ctx.bib:
            raise ConversionError(f"{ctx.where}: citation {key!r} is not in references.bib")
        e = ctx.bib[key]
        text = f"{e['authors']} ({e['year']})" if textual else f"{e['authors']}, {e['year']}"
        parts.append(f"[{text}]({e['url']})" if e["url"] else text)
    return "; ".join(parts) if textual else "(" + "; ".join(parts) + ")"


# --------------------------------------------------------------------------- roles

def _roles(text: str, ctx: _Context, glued: set[str]) -> str:
    def sub(m: re.Match) -> str:
        name, body = m.group("name"), m.group("body")
        if name in ("glue", "glue:text", "glue:md", "glue:any"):
            var = body.split(":")[0].strip()
            glued.add(var)
            return f"`{var}`"
        if name in ("cite", "cite:p", "cite:t"):
            return _cite(body, name == "cite:t", ctx)
        if name == "math":
            return f"${body}$"
        if name in ("ref", "numref") and body in ctx.exercises:
            return f"Exercise {ctx.exercises[body]}"
        raise ConversionError(f"{ctx.where}: role {{{name}}} is not handled by the converter")

    return ROLE.sub(sub, text)


# --------------------------------------------------------------------------- directives

@dataclass
class _Directive:
    name: str
    arg: str
    options: dict[str, str]
    body: str


def _split_blocks(text: str) -> list[str | _Directive]:
    """Top-level text runs and directive blocks of a MyST markdown string."""
    lines = text.split("\n")
    out: list[str | _Directive] = []
    buf: list[str] = []
    i = 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m:
            buf.append(lines[i])
            i += 1
            continue
        fence = m.group("fence")
        j = i + 1
        close = re.compile(re.escape(fence[0]) + "{%d,}\\s*" % len(fence))
        while j < len(lines) and not close.fullmatch(lines[j]):
            j += 1
        if j == len(lines):
            raise ConversionError(f"unclosed {fence}{{{m.group('name')}}} block")
        body = lines[i + 1:j]
        options = {}
        while body and re.match(r"^:[\w-]+:", body[0]):
            key, _, value = body.pop(0)[1:].partition(":")
            options[key] = value.strip()
        if buf:
            out.append("\n".join(buf))
            buf = []
        out.append(_Directive(m.group("name"), m.group("arg"), options, "\n".join(body).strip("\n")))
        i = j + 1
    if buf:
        out.append("\n".join(buf))
    return out


def _quote(title: str, body: str) -> str:
    inner = f"**{title}**\n\n{body}" if title else body
    return "\n".join("> " + line if line else ">" for line in inner.split("\n"))


def _details(summary: str, body: str) -> str:
    # blank lines around the body: Colab's and Jupyter's markdown then render it as markdown
    return f"<details>\n<summary><b>{summary}</b> (click to show)</summary>\n\n{body}\n\n</details>"


def _markdown(text: str, ctx: _Context, glued: set[str]) -> str:
    text = LABEL_LINE.sub("", text)
    parts = []
    for block in _split_blocks(text):
        if isinstance(block, str):
            parts.append(_roles(block, ctx, glued))
            continue
        d = block
        body = _markdown(d.body, ctx, glued)
        if d.name == "admonition":
            parts.append(_quote(_roles(d.arg, ctx, glued), body))
        elif d.name in ADMONITIONS:
            parts.append(_quote(_roles(d.arg, ctx, glued) or d.name.capitalize(), body))
        elif d.name == "exercise":
            label = d.options.get("label", "")
            number = ctx.exercises.setdefault(label or f"#{len(ctx.exercises)}",
                                              f"{ctx.chapter}.{len(ctx.exercises) + 1}")
            title = _roles(d.arg, ctx, glued)
            parts.append(f"**Exercise {number}{' — ' + title if title else ''}**\n\n{body}")
        elif d.name == "solution":
            parts.append(_solution_text(d.arg, body, ctx))
        elif d.name == "dropdown":
            parts.append(_details(_roles(d.arg, ctx, glued) or "More", body))
        elif d.name == "math":
            parts.append(f"$$\n{d.body}\n$$")
        else:
            raise ConversionError(f"{ctx.where}: directive {{{d.name}}} is not handled by the "
                                  "converter")
    return "\n".join(parts)


def _solution_title(label: str, ctx: _Context) -> str:
    if label not in ctx.exercises:
        raise ConversionError(f"{ctx.where}: a solution for {label!r}, which is no exercise "
                              "above it")
    return f"Solution to Exercise {ctx.exercises[label]}"


def _solution_text(label: str, body: str, ctx: _Context) -> str:
    title = _solution_title(label, ctx)
    if ctx.kind == "colab":
        return _details(title, body)
    if ctx.kind == "student":
        return ""
    return f"**{title}**\n\n{body}"


# --------------------------------------------------------------------------- cells

def _glue_note(names: set[str], here: int, cells: list) -> str:
    """Where the glued values of a paragraph are printed: the cell(s) that glue them."""
    known = [i for i, c in enumerate(cells)
             if c.cell_type == "code" and names & set(GLUE_CALL.findall(c.source))]
    if known and all(i > here for i in known):
        where = "by the code cell below"
    elif known and all(i < here for i in known):
        where = "by the code cell above"
    else:
        where = "by this notebook's code cells"
    return (f"\n\n<small><i>Names in <code>code</code> font are values computed here: "
            f"they are printed (<code>name = value</code>) {where} when you run it.</i></small>")


def _is_directive_cell(cell, name: str) -> str | None:
    """The argument of a markdown cell that holds only a ``{name}`` directive, else None."""
    if cell.cell_type != "markdown":
        return None
    blocks = [b for b in _split_blocks(cell.source.strip()) if not (isinstance(b, str) and
                                                                    not b.strip())]
    if len(blocks) == 1 and isinstance(blocks[0], _Directive) and blocks[0].name == name:
        return blocks[0].arg
    return None


def convert_notebook(nb, kind: str, chapter: int, bib: dict, where: str = "notebook"):
    """A plain-Jupyter copy of the MyST notebook ``nb`` for ``kind`` (colab/student/answers)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    ctx = _Context(chapter=chapter, kind=kind, bib=bib, where=where)
    cells = list(nb.cells)
    out = []
    solution: str | None = None  # inside a gated solution: its title
    folded: list[str] = []  # colab: the solution's cells, as markdown inside <details>
    for i, cell in enumerate(cells):
        ctx.where = f"{where} cell {i}"
        label = _is_directive_cell(cell, "solution-start")
        if label is not None:
            solution, folded = _solution_title(label.strip(), ctx), []
            if kind == "answers":
                out.append(_md(f"**{solution}**", cell))
            continue
        if _is_directive_cell(cell, "solution-end") is not None:
            if solution is None:
                raise ConversionError(f"{ctx.where}: solution-end without solution-start")
            if kind == "colab":
                out.append(_md(_details(solution, "\n\n".join(folded)), cell))
            solution = None
            continue
        if cell.cell_type == "markdown":
            glued: set[str] = set()
            text = _markdown(cell.source, ctx, glued).strip("\n")
            if glued:
                text += _glue_note(glued, i, cells)
            if solution is not None:
                if kind == "colab":
                    folded.append(text)
                elif kind == "answers":
                    out.append(_md(text, cell))
            elif text.strip():
                out.append(_md(text, cell))
        else:
            if solution is not None:
                if kind == "colab":
                    folded.append(f"```python\n{cell.source}\n```")
                elif kind == "answers":
                    out.append(_code(cell))
            else:
                out.append(_code(cell))
    if solution is not None:
        raise ConversionError(f"{where}: solution-start without solution-end")
    # Title first, then the set-up and parameters cells: what a student sees on opening it.
    setup = [c for c in out if c.cell_type == "code" and is_setup_cell(c)]
    title = next((c for c in out if c.cell_type == "markdown"), None)
    if setup and title is not None:
        out.remove(title)
        out.insert(0, title)
    new = nbformat.v4.new_notebook(cells=out)
    new.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                   "name": "python3"},
                    "language_info": {"name": "python"},
                    "colab": {"provenance": [], "toc_visible": True}}
    return new


def _md(text: str, like) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = like.get("id", cell.id)
    return cell


def _code(like) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(like.source)
    cell.id = like.get("id", cell.id)
    tags = [t for t in like.metadata.get("tags", []) if t in ("parameters", "colab-setup")]
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _dedupe_ids(nb) -> None:
    """Cells split from one source cell share its id; nbformat wants them unique."""
    seen: dict[str, int] = {}
    for cell in nb.cells:
        n = seen.get(cell.id, 0)
        seen[cell.id] = n + 1
        if n:
            cell.id = f"{cell.id}-{n}"


# --------------------------------------------------------------------------- files

def _chapter_number(path: Path) -> int:
    m = re.match(r"(\d+)_", path.name)
    if not m:
        raise ConversionError(f"{path.name}: chapter notebooks are named NN_name.ipynb")
    return int(m.group(1))


def _banner(root: Path, path: Path, kind: str) -> nbformat.NotebookNode:
    what = {"colab": "the Colab copy", "student": "the assignment (no solutions)",
            "answers": "the answer key"}[kind]
    text = (f"<small><i>Chapter {_chapter_number(path)} of "
            f"[minitranscend]({repository_url(root)}), {what}, generated from "
            f"<code>{path.relative_to(root).as_posix()}</code> by "
            f"<code>minitranscend book {'colab' if kind == 'colab' else 'student'}</code>. "
            "Run the set-up cell first: on Colab it installs Stockfish and the package "
            "(about a minute).</i></small>")
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = "minitranscend-banner"
    return cell


def convert_file(root: Path, path: Path, kind: str, bib: dict | None = None):
    """The generated notebook for the chapter at ``path``."""
    bib = read_bib(root / "references.bib") if bib is None else bib
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(root).as_posix()
    new = convert_notebook(nb, kind, _chapter_number(path), bib, where=rel)
    new.cells.insert(1, _banner(root, path, kind))
    _dedupe_ids(new)
    problems = check_plain(new)
    if problems:
        raise ConversionError(f"{rel}: MyST left after conversion: {problems[:3]}")
    return new


def check_plain(nb) -> list[str]:
    """Every leftover MyST role or directive in a notebook's markdown (empty means clean)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            found += [f"cell {i}: {m.group(0)!r}" for m in MYST_LEFTOVER.finditer(cell.source)]
    return found


def colab_notebooks(root: Path) -> dict[Path, str]:
    """Path in ``book/colab/`` -> text of every generated Colab notebook, in toc order."""
    bib = read_bib(root / "references.bib")
    return {root / COLAB_DIR / p.name: nbformat.writes(convert_file(root, p, "colab", bib))
            for p in toc_notebooks(root)}


def write_colab(root: Path) -> list[Path]:
    """Regenerate ``book/colab/``; return the notebooks whose text changed."""
    changed = []
    wanted = colab_notebooks(root)
    (root / COLAB_DIR).mkdir(parents=True, exist_ok=True)
    for path, text in wanted.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for stale in set((root / COLAB_DIR).glob("*.ipynb")) - set(wanted):
        stale.unlink()
        changed.append(stale)
    return changed


def write_student(root: Path, out: Path, answers: bool = False) -> list[Path]:
    """Assignment notebooks (no solutions) or, with ``answers``, the answer key, into ``out``."""
    kind = "answers" if answers else "student"
    bib = read_bib(root / "references.bib")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for p in toc_notebooks(root):
        target = out / p.name
        nbformat.write(convert_file(root, p, kind, bib), target)
        written.append(target)
    return written
