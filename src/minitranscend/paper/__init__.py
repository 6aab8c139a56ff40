"""The paper's own models: its released ChessFormers, loaded, played and rated correctly.

* :mod:`.checkpoints` — :func:`load_paper_checkpoint` reads a ``ckpt_<iter>.pt`` of the authors'
  nanoGPT training code into :class:`minitranscend.model.GPT` and checks it (vocabulary, keys,
  shapes, ``model_args``); :func:`save_paper_format_checkpoint` writes that format (tiny stand-ins).
* :mod:`.download` — :func:`download_paper_checkpoint` from the Hugging Face dataset repository
  ``ezipe/lichess-models`` (optional extra: ``pip install "minitranscend[paper]"``).
* :mod:`.play` — :func:`play_paper_game`, :func:`rate_paper_model`: Stockfish Skill 1/3/5 at 0.1 s,
  the paper's per-character sampler or the exact move-level temperature, stalemate a draw, ML
  ratings with bootstrap intervals beside the paper's Glicko-2.
* :mod:`.reproduce` — chapter 10's path, shared by both profiles: :func:`paper_checkpoints`
  (released or stand-ins), :func:`rate_caps`, :func:`figure1_series`, the paper's figure
  (:data:`PAPER_FIGURE1`, :data:`PAPER_DIVERSITY`, read from its figures).
* :mod:`.lichess` — real Lichess games at the paper's caps: :data:`LICHESS_SAMPLE`,
  :func:`download_lichess_month`, :func:`cap_diversity`.
* :mod:`.cli` — ``minitranscend paper download|play|rate``.
"""
from .checkpoints import (PAPER_PRESET, PAPER_VOCAB_SIZE, PaperCheckpointError, load_paper_checkpoint,
                          save_paper_format_checkpoint, strip_compile_prefix)
from .download import (PAPER_CAPS, PAPER_ITERATION, PAPER_REPO, PaperDownloadError,
                       download_paper_checkpoint, find_checkpoint_file, paper_folder)
from .play import (PAPER_GAMES, PAPER_LEVELS, PAPER_MAX_PLIES, PAPER_MOVE_TIME, PAPER_TAUS, SAMPLERS,
                   PaperModel, paper_player, play_paper_game, rate_paper_model, stockfish_opponent)
from .reproduce import (PAPER_DIVERSITY, PAPER_FIGURE1, figure1_series, model_name,
                        paper_checkpoints, rate_caps, train_standin, transcends_cap,
                        write_standin_checkpoint)
from .lichess import LICHESS_SAMPLE, cap_diversity, download_lichess_month, lichess_month_url

__all__ = ["PAPER_PRESET", "PAPER_VOCAB_SIZE", "PaperCheckpointError", "load_paper_checkpoint",
           "save_paper_format_checkpoint", "strip_compile_prefix", "PAPER_CAPS", "PAPER_ITERATION",
           "PAPER_REPO", "PaperDownloadError", "download_paper_checkpoint", "find_checkpoint_file",
           "paper_folder", "PAPER_GAMES", "PAPER_LEVELS", "PAPER_MAX_PLIES", "PAPER_MOVE_TIME",
           "PAPER_TAUS", "SAMPLERS", "PaperModel", "paper_player", "play_paper_game",
           "rate_paper_model", "stockfish_opponent", "PAPER_DIVERSITY", "PAPER_FIGURE1",
           "figure1_series", "model_name", "paper_checkpoints", "rate_caps", "train_standin",
           "transcends_cap", "write_standin_checkpoint", "LICHESS_SAMPLE", "cap_diversity",
           "download_lichess_month", "lichess_month_url"]
