"""The main experiment, end to end: experts -> games -> model -> rewards, matches, ratings.

Its settings, one :class:`~minitranscend.settings.ExperimentConfig` per profile, live in
:mod:`minitranscend.settings` (``config`` here is
:func:`~minitranscend.settings.experiment_config`). The package is split by concern:

* :mod:`.folders` — where each stage keeps its files, named after the settings that made them;
* :mod:`.stages` — data, model, rewards, habits, diversity, ladder, and :func:`run` (all of
  them, resumable): ``minitranscend experiment --profile full`` runs the whole pipeline, and
  every chapter can call the stage it needs and get the same files;
* :mod:`.report` — verdicts, the series of the figures, the headline figure, the results table;
* :mod:`.shipped` — :func:`publish` and the ``published_*`` readers of the results that ship
  with the package;
* :mod:`.cli` — the ``experiment`` command.

Datasets: ``"A"`` is written by a *diverse* panel of experts (their systematic errors differ);
``"B"`` is the ablation, the same number of games by experts whose errors *coincide*.
"""
from ..settings import (BOARD_RECIPE, DATASETS, ExperimentConfig, coinciding_experts,
                        diverse_experts)
from ..settings import experiment_config as config
from .cli import add_commands
from .folders import data_dir, experiment_dir, ladder_dir, model_dir, rewards_dir
from .report import (headline_figure, ladder_verdict, results_markdown, reward_gap_series,
                     reward_series)
from .shipped import (PUBLISHED, publish, published, published_config, published_model,
                      published_provenance, published_results, published_states)
from .stages import (diversity_stage, ensure_data, ensure_model, experiment_states, habit_stage,
                     ladder_stage, reward_stage, run, temperature_policies, train_config)

__all__ = [
    "BOARD_RECIPE", "DATASETS", "ExperimentConfig", "coinciding_experts", "config", "diverse_experts",
    "add_commands", "data_dir", "experiment_dir", "ladder_dir", "model_dir", "rewards_dir", "headline_figure",
    "ladder_verdict", "results_markdown", "reward_gap_series", "reward_series", "PUBLISHED",
    "publish", "published", "published_config", "published_model", "published_provenance",
    "published_results", "published_states", "diversity_stage", "ensure_data", "ensure_model",
    "experiment_states", "habit_stage", "ladder_stage", "reward_stage", "run",
    "temperature_policies", "train_config",
]
