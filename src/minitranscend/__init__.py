"""minitranscend: reproduce *Transcendence* (Zhang et al., 2024) on a laptop.

Modules, one concept each (docs/architecture.md has the map and the data flow):

- :mod:`minitranscend.settings`    — the ``ci`` and ``full`` profiles: every setting, typed.
- :mod:`minitranscend.paths`, :mod:`minitranscend.store`, :mod:`minitranscend.workers` — where
  runs write, how (atomic files, JSONL logs, hashes, cached stages), and worker pools.
- :mod:`minitranscend.engine`      — Stockfish: find, start, configure, version, restart.
- :mod:`minitranscend.players`     — the ``Player`` interface; experts, Stockfish, random.
- :mod:`minitranscend.player_specs` — player spec strings: a registry, validation, labels.
- :mod:`minitranscend.referee`     — the one game loop (explicit rules) and PGN writer.
- :mod:`minitranscend.data`        — expert self-play generation, Lichess reader, statistics.
- :mod:`minitranscend.held_out`    — held-out states of a dataset, with their games.
- :mod:`minitranscend.tokenizers`  — character-, move- and board-level tokenizers.
- :mod:`minitranscend.model`       — a compact nanoGPT-style transformer.
- :mod:`minitranscend.train`       — the training loop (chess and kg), data, checkpoints.
- :mod:`minitranscend.temperature` — the one temperature operator.
- :mod:`minitranscend.policy`      — exact move distributions, samplers, model players.
- :mod:`minitranscend.evaluation`  — per-state reward, matches, the ladder, ratings.
- :mod:`minitranscend.experiment`  — the main experiment: stages, report, shipped results.
- :mod:`minitranscend.toy`, :mod:`minitranscend.kg` — chapter 1's toy world; chapter 8's
  knowledge-graph testbed.
- :mod:`minitranscend.notebook`, :mod:`minitranscend.exercises`, :mod:`minitranscend.widgets`
  — what chapters import; :mod:`minitranscend.book` — the book's build and classroom tools.
"""
__version__ = "0.2.0"
