"""How runs keep their results on disk: atomic writes, append-only JSONL, hashes, cached stages.

One home for the plumbing every long job shares, so that "a killed run loses nothing and a rerun
resumes" means the same thing in data generation, training, matches, rewards, the experiment and
the knowledge-graph runs:

- :func:`atomic_write_text` / :func:`atomic_write_json` / :func:`atomic_write_bytes`: a reader
  (or a run killed halfway) never sees half a file;
- :func:`append_jsonl` / :func:`read_jsonl`: append-only logs whose only possible damage, a torn
  last line from an interrupted append, is cut off (and said); damage anywhere else stops with
  the file and line, never "repaired" by deleting the user's data;
- :func:`settings_hash` / :func:`file_digest`: short names for settings and files (folder names,
  cache keys), one recipe each;
- :func:`cached_json`: a stage's result file, reused when it was made with the same settings.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


class DamagedFileError(ValueError):
    """A JSONL file damaged somewhere other than a torn last line; the message says where."""


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` (``<path>.<random>.tmp``), fsync, then
    rename it over ``path``: a reader (or a run killed halfway) never sees half a file, and two
    processes writing the same file at once (two training seeds caching the same tokenized
    data) each rename their own complete copy."""
    _atomic_write(Path(path), text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """:func:`atomic_write_text` for bytes: a checkpoint (``torch.save`` into a ``BytesIO``) or
    an ``.npz`` (``np.savez`` into one) never exists half-written under its real name."""
    _atomic_write(Path(path), data)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_csv(path: str | os.PathLike, rows: Iterable[dict[str, Any]],
                     fieldnames: Iterable[str] | None = None) -> None:
    """:func:`atomic_write_text` of dict rows as CSV with a header (columns: ``fieldnames``, or
    every key in order of first appearance). Result tables are rewritten whole, never appended."""
    rows = list(rows)
    keys = list(fieldnames) if fieldnames is not None else list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1,
                      allow_nan: bool = True) -> None:
    """:func:`atomic_write_text` of ``obj`` as JSON (dataclasses and paths allowed).

    ``allow_nan=False`` refuses ``Infinity``/``NaN`` (not JSON; strict readers fail on them):
    used for settings and manifests. It is not the default because some results are infinite
    by definition and recorded so (the Elo difference of a match one side won every game of,
    in match summaries and the published ladder files)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, default=_jsonable, allow_nan=allow_nan)
                      + "\n")


def append_jsonl(path: str | os.PathLike, records: Iterable[Any]) -> None:
    """Append one JSON line per record and flush it to disk before returning."""
    with open(path, "a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, default=_jsonable) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | os.PathLike, parse: Callable[[dict], Any] = lambda rec: rec,
               repair: bool = True) -> list:
    """``parse(record)`` for every line of an append-only JSONL file (missing file: ``[]``).

    An interrupted append can only leave a *torn last line* (no newline at the end of the
    file): that fragment is dropped and, with ``repair``, cut off the file so the resumed run
    appends on a fresh line; a note goes to stderr. A line that does not parse anywhere else
    (or a complete last line that does not parse) is damage no interrupted run makes: it raises
    :class:`DamagedFileError` naming the file and line and leaves the file as it is.
    ``parse`` raising ValueError/KeyError/TypeError counts as a line that does not parse.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last newline: b"" for a cleanly ended file
    out = []
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            out.append(parse(json.loads(raw)))
        except (ValueError, KeyError, TypeError) as e:
            raise DamagedFileError(
                f"{path}:{lineno}: damaged record ({e}); an interrupted run only tears the last "
                f"line, so this file was changed by something else. Fix or remove line "
                f"{lineno} by hand (nothing was deleted)") from None
    if torn.strip():
        print(f"note: {path}: dropped a torn last line ({len(torn)} bytes) left by an "
              "interrupted run", file=sys.stderr)
        if repair:
            with open(path, "r+b") as fh:
                fh.truncate(len(data) - len(torn))
    return out


def settings_hash(obj: Any, length: int = 8) -> str:
    """A short, stable name for settings: sha1 of their sorted JSON (dataclasses allowed).

    Used for folder names and cache keys: changing a setting starts a new folder instead of
    colliding with (or being refused by) the old one.
    """
    text = json.dumps(obj, sort_keys=True, default=_jsonable)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def file_digest(paths: str | os.PathLike | Iterable[str | os.PathLike], algorithm: str = "sha256",
                length: int | None = None) -> str:
    """Hash of the bytes of one file, or of several files concatenated in order."""
    h = hashlib.new(algorithm)
    for p in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    digest = h.hexdigest()
    return digest[:length] if length else digest


def cached_json(path: str | os.PathLike, stamp: Any, compute: Callable[[], dict],
                force: bool = False, key: str = "stamp") -> dict:
    """The result stored at ``path`` if it was made with the same settings (``stamp``, kept
    under ``key``), else ``compute()``, stored atomically with its stamp, and returned."""
    path = Path(path)
    old = None if force else load_if_current(path, stamp, key)
    if old is not None:
        return old
    result = {key: json.loads(json.dumps(stamp, default=_jsonable)), **compute()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, result)
    return result


def load_if_current(path: str | os.PathLike, stamp: Any, key: str = "stamp") -> dict | None:
    """A stage's result file, if it exists and was made with the same settings (``stamp``)."""
    path = Path(path)
    if not path.exists():
        return None
    done = json.loads(path.read_text())
    return done if done.get(key) == json.loads(json.dumps(stamp, default=_jsonable)) else None
