"""Real Lichess games at the paper's rating caps, and the paper's diversity measure per cap.

* :data:`LICHESS_SAMPLE` — 21 real CC0 games shipped with the package (see its README), for
  machines that cannot download anything;
* :func:`download_lichess_month` — one monthly dump from database.lichess.org, with plain
  ``urllib`` (``lichess_db_standard_rated_2013-01.pgn.zst`` is about 17 MB);
* :func:`cap_diversity` — the dump filtered at each cap by
  :func:`~minitranscend.data.lichess.convert_lichess` (``max(WhiteElo, BlackElo) <= cap``) and
  measured by :func:`~minitranscend.data.stats.diversity`, beside the authors' figure.
"""
from __future__ import annotations

import os
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable

from ..data.lichess import convert_lichess
from ..data.records import iter_games
from ..data.stats import diversity
from .reproduce import PAPER_DIVERSITY

LICHESS_SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "lichess" / "sample.pgn"
LICHESS_URL = "https://database.lichess.org/standard/lichess_db_standard_rated_{month}.pgn.zst"


def lichess_month_url(month: str) -> str:
    """The URL of a monthly dump of rated standard games, ``month`` as ``"YYYY-MM"``."""
    if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", month):
        raise ValueError(f"month must look like '2013-01', got {month!r}")
    return LICHESS_URL.format(month=month)


def download_lichess_month(month: str, dest_dir: str | os.PathLike,
                           urlopen: Callable[..., Any] = urllib.request.urlopen) -> Path:
    """Download one monthly dump into ``dest_dir`` (kept: a second call reads the file there).

    Written to ``<name>.part`` and renamed when complete, so an interrupted download never
    passes for a dump; a file cut short in another way is refused by the reader
    (:class:`~minitranscend.data.lichess.TruncatedInputError`). ``urlopen``: the transport
    (tests pass a stand-in)."""
    url = lichess_month_url(month)
    dest = Path(dest_dir) / url.rsplit("/", 1)[-1]
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with urlopen(url, timeout=60) as response, open(part, "wb") as fh:
        shutil.copyfileobj(response, fh, 1 << 20)
    os.replace(part, dest)
    return dest


def cap_diversity(pgn: str | os.PathLike, caps: Iterable[int], out_dir: str | os.PathLike,
                  min_count: int, max_ply: int = 16) -> list[dict[str, Any]]:
    """For each cap: the games kept by the paper's filter (converted to ``out_dir/cap-<cap>``,
    reused when unchanged) and their diversity, with the authors' figure where it has the cap.

    Rows: ``cap``, ``read``, ``kept``, ``skipped_elo``, ``diversity`` (NaN when no opening state
    is seen more than ``min_count`` times), ``n_states``, ``min_count``, ``paper`` (or None)."""
    rows = []
    for cap in caps:
        folder = Path(out_dir) / f"cap-{int(cap)}"
        manifest = convert_lichess(pgn, folder, max_elo=int(cap), progress=False, tokenize=False)
        d = diversity(iter_games(folder), max_ply=max_ply, min_count=min_count)
        counts = manifest["counts"]
        rows.append({"cap": int(cap), "read": counts["read"], "kept": counts["kept"],
                     "skipped_elo": counts["skipped_elo"], "diversity": d["diversity"],
                     "n_states": d["n_states"], "min_count": min_count,
                     "paper": PAPER_DIVERSITY.get(int(cap))})
    return rows
