"""minitranscend: reproduce *Transcendence* (Zhang et al., 2024) on a laptop.

Modules, one concept each:

- :mod:`minitranscend.engine`     — Stockfish: find, start, configure, version, restart.
- :mod:`minitranscend.players`    — the ``Player`` interface; experts, Stockfish, random.
- :mod:`minitranscend.data`       — expert self-play generation, Lichess reader, statistics.
- :mod:`minitranscend.tokenizers` — character-, move- and board-level tokenizers.
- :mod:`minitranscend.model`      — a compact decoder-only transformer.
- :mod:`minitranscend.train`      — the training loop and checkpoints.
- :mod:`minitranscend.policy`     — exact move distributions, temperature, model players.
- :mod:`minitranscend.evaluation` — per-state reward, matches, ratings.
- :mod:`minitranscend.kg`         — the knowledge-graph testbed for the taxonomy chapter.
"""
__version__ = "0.2.0"
