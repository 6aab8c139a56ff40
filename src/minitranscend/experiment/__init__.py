"""The main experiment, end to end: experts -> games -> model -> rewards, matches, ratings.

Its settings, one :class:`~minitranscend.settings.ExperimentConfig` per profile, live in
:mod:`minitranscend.settings` (``config`` here is
:func:`~minitranscend.settings.experiment_config`). The package is split by concern:

* :mod:`.folders` — where each stage keeps its files, named after the settings that made them;
* :mod:`.references` — the reference policies scored beside the models (engine, slip-free
  experts, each panel's exact majority vote);
* :mod:`.stages` — data, models, rewards, habits, diversity, ladders, own-game states, and :func:`run` (all of
  them, resumable): ``minitranscend experiment --profile full`` runs the whole pipeline, and
  every chapter can call the stage it needs and get the same files;
* :mod:`.history` — chapter 7's last question: does a model that reads the mover's last moves
  (and so can tell who is playing) still vote?
* :mod:`.report` — verdicts, the series of the figures, the headline figure, the results table;
* :mod:`.shipped` — :func:`publish` and the ``published_*`` readers of the results that ship
  with the package;
* :mod:`.cli` — the ``experiment`` command.

Datasets: ``"A"`` is written by a *diverse* panel of experts (their systematic errors differ);
``"B"`` is the ablation, the same number of games by experts whose errors *coincide*; ``"S"``
is the control, the same number of games by one of A's experts alone. Every dataset trains
``len(train_seeds)`` models; :mod:`.references` scores the experts' exact majority votes and
slip-free experts beside them.
"""
from ..settings import (BOARD_RECIPE, DATASETS, LADDER_DATASETS, TAU_RULE, ExperimentConfig,
                        coinciding_experts, diverse_experts, single_expert)
from ..settings import experiment_config as config
from .cli import add_commands
from .folders import data_dir, experiment_dir, ladder_dir, model_dir, rewards_dir
from .history import history_prefix, history_stage
from .report import (DATASET_ROLES, headline_figure, history_markdown, ladder_verdict, own_set,
                     results_markdown, reward_gap_series)
from .shipped import (PUBLISHED, publish, published, published_config, published_model,
                      published_provenance, published_results, published_states)
from .references import reference_distributions, vote_name
from .stages import (choose_tau, diversity_stage, ensure_data, ensure_model, experiment_states,
                     habit_stage, ladder_stage, model_prefix, own_game_states, own_games_stage,
                     reward_stage, run, temperature_policies, train_config)

__all__ = [
    "BOARD_RECIPE", "DATASETS", "LADDER_DATASETS", "TAU_RULE", "ExperimentConfig",
    "coinciding_experts", "config", "diverse_experts", "single_expert", "reference_distributions",
    "vote_name", "choose_tau", "model_prefix", "own_game_states", "own_games_stage",
    "add_commands", "data_dir", "experiment_dir", "ladder_dir", "model_dir", "rewards_dir", "headline_figure",
    "ladder_verdict", "results_markdown", "reward_gap_series", "DATASET_ROLES", "own_set", "PUBLISHED",
    "publish", "published", "published_config", "published_model", "published_provenance",
    "published_results", "published_states", "diversity_stage", "ensure_data", "ensure_model",
    "experiment_states", "habit_stage", "ladder_stage", "reward_stage", "run",
    "temperature_policies", "train_config", "history_stage", "history_prefix", "history_markdown",
]
