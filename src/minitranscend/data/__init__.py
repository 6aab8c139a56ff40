"""Chess data: expert self-play, the Lichess reader, dataset statistics.

All datasets share one on-disk format, a directory of ``shard-NNNNN.jsonl`` game records
(:mod:`.records`) plus a ``manifest.json``; :func:`iter_games` streams any of them.
"""
from .records import GameRecord, fingerprint, iter_games, shard_paths

__all__ = ["GameRecord", "iter_games", "shard_paths", "fingerprint", "generate_games", "load_experts",
           "read_lichess", "convert_lichess", "dataset_stats", "diversity"]


def __getattr__(name: str):
    # Lazy: `from minitranscend.data import iter_games` must not import tqdm/plotly/engine code.
    if name in ("generate_games", "load_experts"):
        from . import generate
        return getattr(generate, name)
    if name in ("read_lichess", "convert_lichess"):
        from . import lichess
        return getattr(lichess, name)
    if name in ("dataset_stats", "diversity"):
        from . import stats
        return getattr(stats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
