"""Evaluation: per-state reward with Stockfish, matches, ratings, and their figures.

- :mod:`.reward`  — score every legal move with Stockfish; exact per-state rewards of policies.
- :mod:`.match`   — resumable matches between players (specs: :mod:`minitranscend.player_specs`;
  games: :mod:`minitranscend.referee`).
- :mod:`.ladder`  — the course's one rating ladder (:data:`.ladder.LADDER`) and its evaluation.
- :mod:`.ratings` — maximum-likelihood Elo with bootstrap intervals; the paper's Glicko-2.
- :mod:`.figures` — plotly figures for chapters.
- :mod:`.cli`     — ``minitranscend eval reward|match|ratings``.
"""
