"""The book's machinery (maintainers and instructors; chapters import :mod:`minitranscend.notebook`).

- :mod:`.site`       — execute the chapters in a student's runtime, build the site, check links;
- :mod:`.runtime`    — that runtime: the book-build tools made unimportable in the kernels;
- :mod:`.setup_cell` — the pinned Colab set-up cell at the top of every chapter;
- :mod:`.convert`    — MyST chapters to plain Jupyter: the Colab notebooks, assignments, answer keys;
- :mod:`.cli`        — ``minitranscend book execute|build|check-links|sync-setup|colab|student``.
"""
from .cli import add_commands
from .convert import (ConversionError, check_plain, colab_notebooks, convert_notebook,
                      write_colab, write_student)
from .runtime import BUILD_TOOLS, student_environment
from .setup_cell import (SETUP_CELL_TAGS, SETUP_TAG, release_ref, setup_cell_source,
                         sync_setup)
from .site import (COLAB_DIR, PLOTLY_JS, BookError, book_root, build, build_dir, check_links,
                   execute, repository_url, site_size, toc_files, toc_notebooks)

__all__ = ["BUILD_TOOLS", "COLAB_DIR", "PLOTLY_JS", "SETUP_CELL_TAGS", "SETUP_TAG", "BookError",
           "ConversionError", "add_commands", "book_root", "build", "build_dir", "check_links",
           "check_plain", "colab_notebooks", "convert_notebook", "execute", "release_ref",
           "repository_url", "setup_cell_source", "site_size", "student_environment",
           "sync_setup", "toc_files", "toc_notebooks", "write_colab", "write_student"]
