"""``minitranscend book ...``: the maintainers' and instructors' commands.

    minitranscend book execute --profile ci|full [--only NAME] [--resume]
    minitranscend book build
    minitranscend book check-links
    minitranscend book sync-setup          # the pinned Colab cell, then the Colab notebooks
    minitranscend book colab [--check]     # regenerate book/colab/ (what the Colab buttons open)
    minitranscend book student --out DIR [--answers]   # assignments, or the answer key
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import convert, setup_cell, site


def _cmd_execute(args: argparse.Namespace) -> int:
    site.execute(site.book_root(), args.profile, only=args.only, resume=args.resume)
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    site.build(site.book_root())
    return 0


def _cmd_check_links(args: argparse.Namespace) -> int:
    broken = site.check_links(site.build_dir(site.book_root()) / "html")
    for b in broken:
        print(f"broken link: {b}")
    print(f"{len(broken)} broken internal links")
    return 1 if broken else 0


def _cmd_sync_setup(args: argparse.Namespace) -> int:
    root = site.book_root()
    for p in setup_cell.sync_setup(root):
        print(f"rewrote the set-up cell of {p.relative_to(root)}")
    for p in convert.write_colab(root):
        print(f"regenerated {p.relative_to(root)}")
    return 0


def _cmd_colab(args: argparse.Namespace) -> int:
    root = site.book_root()
    if args.check:
        stale = [p for p, text in convert.colab_notebooks(root).items()
                 if not p.is_file() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"out of date: {p.relative_to(root)}")
        if stale:
            print("run `minitranscend book colab` and commit book/colab/", file=sys.stderr)
        return 1 if stale else 0
    changed = convert.write_colab(root)
    for p in changed:
        print(f"regenerated {p.relative_to(root)}")
    print(f"{len(changed)} notebook(s) changed in {site.COLAB_DIR}/")
    return 0


def _cmd_student(args: argparse.Namespace) -> int:
    root = site.book_root()
    written = convert.write_student(root, Path(args.out), answers=args.answers)
    what = "answer key" if args.answers else "assignment notebooks (no solutions)"
    print(f"wrote {len(written)} {what} to {args.out}")
    return 0


def _guard(func):
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (site.BookError, convert.ConversionError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    return run


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    book = subparsers.add_parser("book", help="execute the chapters, build the site, "
                                              "make Colab and classroom notebooks")
    sub = book.add_subparsers(dest="book_command", required=True, metavar="ACTION")
    p = sub.add_parser("execute", help="run every notebook of _toc.yml into _build/src")
    p.add_argument("--profile", choices=site.PROFILES, default="ci",
                   help="ci: the whole book in minutes on a CPU; full: the real experiment")
    p.add_argument("--only", metavar="NAME", help="run one notebook, e.g. 01_toy_world")
    p.add_argument("--resume", action="store_true",
                   help="skip notebooks already executed from the same source and profile")
    p.set_defaults(func=_guard(_cmd_execute))
    p = sub.add_parser("build", help="render _build/src into _build/html (warnings are errors)")
    p.set_defaults(func=_guard(_cmd_build))
    p = sub.add_parser("check-links", help="fail on internal links of _build/html that go nowhere")
    p.set_defaults(func=_guard(_cmd_check_links))
    p = sub.add_parser("sync-setup", help="rewrite the pinned Colab set-up cell of every "
                                          "chapter, then regenerate book/colab/")
    p.set_defaults(func=_guard(_cmd_sync_setup))
    p = sub.add_parser("colab", help="regenerate the plain-Jupyter notebooks in book/colab/ "
                                     "that the Colab buttons open")
    p.add_argument("--check", action="store_true", help="only report notebooks out of date")
    p.set_defaults(func=_guard(_cmd_colab))
    p = sub.add_parser("student", help="write assignment notebooks without solutions "
                                       "(or, with --answers, the answer key) for a class")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the notebooks to")
    p.add_argument("--answers", action="store_true",
                   help="the answer key: solutions as runnable cells")
    p.set_defaults(func=_guard(_cmd_student))
