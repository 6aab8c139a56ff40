"""The results that ship with the package: :func:`publish` writes them, the ``published_*``
helpers read them.

A finished run's result files and (small) checkpoints are copied into
``minitranscend/assets/results/<profile>/`` with their provenance, so that the book can show the
real experiment even where it only runs the ``ci`` profile (CI, a first look on Colab): the
chapters' parameter ``USE_PUBLISHED`` reads the checkpoints, the held-out states, the result
files and the provenance through the functions below.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import chess

from ..data import fingerprint
from ..players import ExpertConfig
from ..settings import DATASETS, LADDER_DATASETS, ExperimentConfig, check_dataset_name, experiment_config
from ..store import atomic_write_json, read_jsonl
from .folders import data_dir, experiment_dir, ladder_dir, model_dir, rewards_dir

PUBLISHED = Path(__file__).resolve().parent.parent / "assets" / "results"


def publish(cfg: ExperimentConfig, dest: Path | None = None) -> Path:
    """Copy a finished run's result files and (small) checkpoints into the package, with their
    provenance (see the module's docstring): the settings, the run's own record (config commit,
    start time, wall time: ``run.json``), and per dataset the data's fingerprint and each
    seed's training config. Returns the folder written."""
    dest = dest or PUBLISHED / cfg.profile
    run_json = experiment_dir(cfg) / "run.json"
    if not run_json.exists() or not json.loads(run_json.read_text()).get("finished"):
        raise FileNotFoundError(f"no finished run at {run_json}: run `minitranscend experiment "
                                f"--profile {cfg.profile}` to the end first")
    for ds in LADDER_DATASETS:
        if not (ladder_dir(cfg, ds) / "ladder.json").exists():
            raise FileNotFoundError(f"no ladder results for dataset {ds}: run `minitranscend "
                                    f"experiment --profile {cfg.profile}` to the end first")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in RESULT_FILES:
        shutil.copy2(rewards_dir(cfg) / name, dest / name)
    for name in ("habits.json", "diversity.json"):
        shutil.copy2(experiment_dir(cfg) / name, dest / name)
    prov: dict[str, Any] = {"command": f"minitranscend experiment --profile {cfg.profile}",
                            "config": json.loads(json.dumps(cfg.to_dict(), default=str)),
                            "run": json.loads(run_json.read_text())}
    try:
        prov["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                        text=True, cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        prov["commit"] = None
    for ds in LADDER_DATASETS:
        ladder = ladder_dir(cfg, ds) / "ladder.json"
        for name in ("ladder.json", "ratings.csv", "matches.csv", "temperature.csv"):
            if (ladder.parent / name).exists():
                shutil.copy2(ladder.parent / name, dest / f"ladder-{ds}-{name}")
    for ds in DATASETS:
        manifest = json.loads((data_dir(cfg, ds) / "manifest.json").read_text())
        prov[ds] = {"data_fingerprint": fingerprint(data_dir(cfg, ds)), "games": manifest.get("n_games"),
                    "plies": manifest.get("n_plies"), "stockfish": manifest.get("stockfish"),
                    "experts": manifest.get("experts"),
                    # a restarted engine makes its game unreproducible from the seed: say how many
                    "engine_restarts": manifest.get("engine_restarts", 0), "train": {}}
        for seed in cfg.train_seeds:
            mdir = model_dir(cfg, ds, seed)
            shutil.copy2(mdir / "best.pt", dest / f"model-{ds}-s{seed}.pt")
            shutil.copy2(mdir / "metrics.jsonl", dest / f"model-{ds}-s{seed}-metrics.jsonl")
            prov[ds]["train"][str(seed)] = json.loads((mdir / "config.json").read_text())
    if (experiment_dir(cfg) / "history.json").exists():
        prov["history"] = _publish_history(cfg, dest)
    atomic_write_json(dest / "provenance.json", prov, indent=2)
    return dest


def _publish_history(cfg: ExperimentConfig, dest: Path) -> dict[str, Any]:
    """Copy the history models' results and checkpoints (``minitranscend experiment --history``);
    returns their provenance (the stage's own run record and each seed's training config)."""
    result = json.loads((experiment_dir(cfg) / "history.json").read_text())
    shutil.copy2(experiment_dir(cfg) / "history.json", dest / "history.json")
    shutil.copy2(rewards_dir(cfg) / "history_per_state.csv", dest / "history_per_state.csv")
    ds, n = result["dataset"], result["history_moves"]
    prov: dict[str, Any] = {"command": result["run"]["command"], "run": result["run"], "train": {}}
    for seed in cfg.train_seeds:
        mdir = model_dir(cfg, ds, seed, n)
        shutil.copy2(mdir / "best.pt", dest / f"model-{ds}-h{n}-s{seed}.pt")
        shutil.copy2(mdir / "metrics.jsonl", dest / f"model-{ds}-h{n}-s{seed}-metrics.jsonl")
        prov["train"][str(seed)] = json.loads((mdir / "config.json").read_text())
    return prov


RESULT_FILES = ("rewards_summary.json", "rewards_per_state.csv", "own_games_summary.json",
                "own_games_per_state.csv")


def published(profile: str = "full") -> Path | None:
    """The shipped results of ``profile`` (see :func:`publish`), or None.

    Used in chapter 7."""
    d = PUBLISHED / profile
    return d if (d / "provenance.json").exists() else None


def _published_dir(profile: str = "full") -> Path:
    source = published(profile)
    if source is None:
        raise FileNotFoundError(f"no shipped {profile!r} results in this installation (looked in "
                                f"{PUBLISHED / profile}); run `minitranscend experiment --profile "
                                f"{profile} --publish`, or use your own run (USE_PUBLISHED = False)")
    return source


def published_config(profile: str = "full") -> ExperimentConfig:
    """The configuration the shipped results were made with, as recorded in their
    ``provenance.json`` (not today's :func:`~minitranscend.settings.experiment_config`, which may
    have changed since). A setting the record predates takes today's value of the profile; the
    match temperatures of older records are ``extra["match_taus"]``, or all of ``taus``.

    Used in chapter 7."""
    raw = json.loads((_published_dir(profile) / "provenance.json").read_text())["config"]
    recorded = {f.name: raw[f.name] for f in fields(ExperimentConfig)
                if f.name in raw and f.name != "chapters"}  # chapters: sizes, not results
    recorded["experts"] = {ds: [ExpertConfig(**e) for e in panel]
                           for ds, panel in raw["experts"].items()}
    recorded["taus"] = tuple(raw["taus"])
    recorded["match_taus"] = tuple(raw.get("match_taus")
                                   or raw.get("extra", {}).get("match_taus", raw["taus"]))
    if "train_seeds" in raw:
        recorded["train_seeds"] = tuple(raw["train_seeds"])
    return replace(experiment_config(raw["profile"]), **recorded)


def published_model(dataset: str = "A", profile: str = "full", seed: int = 0,
                    history: int = 0) -> Path:
    """The shipped checkpoint of ``dataset``'s model with training seed ``seed`` (its best
    one, lowest validation loss); load it with :func:`~minitranscend.train.load_checkpoint`.
    ``history``: chapter 7's model that also reads the mover's last moves.

    Used in chapters 5, 6 and 7."""
    check_dataset_name(dataset)
    middle = f"-h{history}" if history else ""
    path = _published_dir(profile) / f"model-{dataset}{middle}-s{seed}.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the shipped results")
    return path


def published_states(n: int | None = None, profile: str = "full") -> list[tuple[str, chess.Board]]:
    """``(game_id, board)`` of the test states of dataset A's held-out games the shipped rewards
    were computed on (set ``A-games`` of ``rewards_per_state.csv``, in its order, which is
    random over those games); the first ``n`` of them, or all. Boards come from FENs: no move
    history. Intervals over them should resample whole games (``groups=`` the game ids).

    Used in chapters 5 and 6."""
    with open(_published_dir(profile) / "rewards_per_state.csv", newline="") as fh:
        rows = [(r.get("game", ""), r["fen"]) for r in csv.DictReader(fh)
                if r.get("set", "A-games") == "A-games"]
    return [(game, chess.Board(fen)) for game, fen in rows[:n]]


def published_results(profile: str = "full") -> dict[str, Any]:
    """The shipped result files, loaded: ``rewards`` (``rewards_summary.json``), ``own_games``
    (``own_games_summary.json``), ``habits``, ``diversity``, ``ladders`` (``{"A": ladder.json,
    "B": ...}`` as dicts), ``history`` (``history.json``, or None where the history models were
    not published) and ``folder`` (the folder itself, e.g. for
    ``rewards_per_state.csv`` or :func:`~minitranscend.experiment.report.headline_figure`).

    Used in chapter 7."""
    source = _published_dir(profile)
    read = lambda name: json.loads((source / name).read_text())  # noqa: E731
    return {"folder": source, "rewards": read("rewards_summary.json"), "habits": read("habits.json"),
            "own_games": read("own_games_summary.json"), "diversity": read("diversity.json"),
            "ladders": {ds: read(f"ladder-{ds}-ladder.json") for ds in DATASETS
                        if (source / f"ladder-{ds}-ladder.json").exists()},
            "history": read("history.json") if (source / "history.json").exists() else None}


def published_provenance(profile: str = "full") -> dict[str, Any]:
    """Facts about the shipped run for a chapter to quote: ``command``, ``commit`` (and
    ``commit_short``), ``stockfish``, ``n_games`` (per dataset), ``run`` (the run's own record:
    config commit, start time, wall time), and per dataset the first seed's training run's
    ``minutes`` and ``steps`` and its best checkpoint's ``best_minutes``, ``best_step`` and
    ``best_val_loss`` (from ``model-<ds>-s<seed>-metrics.jsonl``).

    Used in chapters 5, 6 and 7."""
    source = _published_dir(profile)
    prov = json.loads((source / "provenance.json").read_text())
    commit = prov.get("commit") or ""
    facts: dict[str, Any] = {"command": prov.get("command"), "commit": commit or None,
                             "commit_short": commit[:7] or None,
                             "n_games": prov["config"]["n_games"], "stockfish": None,
                             "run": prov.get("run", {})}
    seed = (prov["config"].get("train_seeds") or [0])[0]
    for ds in DATASETS:
        if ds not in prov:
            continue
        facts["stockfish"] = facts["stockfish"] or prov[ds].get("stockfish")
        # the package's copy is read-only data: a damaged line is reported, never cut off
        evals = read_jsonl(source / f"model-{ds}-s{seed}-metrics.jsonl", repair=False)
        evals = [e for e in evals if e.get("val_loss") is not None]
        best = min(evals, key=lambda e: e["val_loss"])
        facts[ds] = {"minutes": evals[-1]["elapsed_s"] / 60, "steps": evals[-1]["step"],
                     "best_minutes": best["elapsed_s"] / 60, "best_step": best["step"],
                     "best_val_loss": best["val_loss"], "games": prov[ds].get("games")}
    return facts
