"""Where each stage of the experiment keeps its files: ``runs/<profile>/experiment/...``.

A folder is named after the settings that made its contents (their
:func:`~minitranscend.store.settings_hash`), so changing the experts or the recipe starts a new folder instead of colliding with
(or being refused by) the old one, and the stages, the report and the chapters all find the
same files from the settings alone.
"""
from __future__ import annotations

from pathlib import Path

from ..evaluation.ladder import LADDER
from ..paths import run_dir
from ..settings import ExperimentConfig, check_dataset_name
from ..store import settings_hash


def experiment_dir(cfg: ExperimentConfig, *parts: str) -> Path:
    """``runs/<profile>/experiment/<parts...>``, created on demand."""
    return run_dir(cfg.profile, "experiment", *parts)


def data_dir(cfg: ExperimentConfig, dataset: str = "A") -> Path:
    """Games of ``dataset``; named by the experts, seed and ply cap (``n_games`` may grow).

    Used in chapters 4 and 6."""
    tag = settings_hash((cfg.experts[check_dataset_name(dataset)], cfg.seed, cfg.max_plies))
    return experiment_dir(cfg, f"data-{dataset}-{tag}")


def model_dir(cfg: ExperimentConfig, dataset: str = "A", seed: int | None = None,
              history: int = 0) -> Path:
    """The model trained on ``dataset`` with training seed ``seed`` (None: the first of
    ``cfg.train_seeds``, the one rated in games); named by its data, their number, the recipe
    and the seed. ``history``: the model that also reads the mover's last moves (chapter 7)."""
    seed = cfg.train_seeds[0] if seed is None else seed
    if history:
        tag = settings_hash((data_dir(cfg, dataset).name, cfg.n_games, cfg.train, seed, history))
        return experiment_dir(cfg, f"model-{dataset}-h{history}-{tag}")
    tag = settings_hash((data_dir(cfg, dataset).name, cfg.n_games, cfg.train, seed))
    return experiment_dir(cfg, f"model-{dataset}-{tag}")


def ladder_dir(cfg: ExperimentConfig, dataset: str = "A") -> Path:
    """Matches and ratings of ``dataset``'s model; named by the model, the games per temperature
    and the ply-cap rule (:data:`~minitranscend.evaluation.ladder.LADDER`'s ``adjudicate``), so
    each setting has its own folder (the report and
    :func:`~minitranscend.experiment.shipped.publish` read exactly this one, not whichever ladder
    folder is newest)."""
    tag = settings_hash((model_dir(cfg, dataset).name, cfg.match_games, LADDER.adjudicate))
    return experiment_dir(cfg, f"ladder-{dataset}-{tag}")


def rewards_dir(cfg: ExperimentConfig) -> Path:
    """Per-state rewards of every policy (``rewards_per_state.csv``, ``rewards_summary.json``).

    Used in chapter 7."""
    return experiment_dir(cfg, "rewards")
