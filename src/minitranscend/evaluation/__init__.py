"""Evaluation: per-state reward with Stockfish, matches, ratings, and their figures.

- :mod:`.reward`  — score every legal move with Stockfish; exact per-state rewards of policies.
- :mod:`.match`   — games between players (PlayerSpec), correct results, PGN, resumable.
- :mod:`.ratings` — maximum-likelihood Elo with bootstrap intervals; the paper's Glicko-2.
- :mod:`.figures` — plotly figures for chapters.
- :mod:`.cli`     — ``minitranscend eval reward|match|ratings``.
"""
