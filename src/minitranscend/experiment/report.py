"""What the experiment's result files say: verdicts, series for the figures, the results table.

Everything here reads the files the stages wrote (a run's folders, or the published copy of
:mod:`.shipped`), never typed numbers: the README's table and headline figure and chapter 7's
figures come from the same functions.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluation.figures import rating_vs_temperature
from ..evaluation.reward import paired_bootstrap_ci
from ..player_specs import model_label
from ..settings import DATASETS, ExperimentConfig
from .folders import experiment_dir, ladder_dir, rewards_dir


def ladder_verdict(result) -> dict[str, Any]:
    """Does the model's best temperature beat the best expert with non-overlapping 95% intervals?
    ``result``: what :func:`~minitranscend.experiment.stages.ladder_stage` returns, or the
    ``ladder.json`` it wrote (as a dict).

    Used in chapter 7."""
    series = result["series"] if isinstance(result, dict) else result.series
    references = result["references"] if isinstance(result, dict) else result.references
    (name, points), = series.items()
    best = max(points, key=lambda p: p["rating"])
    expert, ref = max(references.items(), key=lambda kv: kv[1]["rating"])
    return {"model": name, "best_tau": best["tau"], "model_rating": best["rating"],
            "model_lo": best["lo"], "model_hi": best["hi"], "best_expert": expert,
            "expert_rating": ref["rating"], "expert_lo": ref["lo"], "expert_hi": ref["hi"],
            "transcends": bool(best["lo"] > ref["hi"])}


def reward_series(summary: dict[str, Any], cfg: ExperimentConfig,
                  datasets: tuple[str, ...] = DATASETS) -> tuple[dict, dict]:
    """Reward summary rows -> ``(series, references)`` for
    :func:`~minitranscend.evaluation.figures.rating_vs_temperature`: one line per model over
    temperature, one band per expert (best expert of each dataset first).

    Used in chapter 7."""
    rows = {r["policy"]: r for r in summary["summary"]}
    band = lambda r: {"rating": r["mean"], "lo": r["lo"], "hi": r["hi"]}  # noqa: E731
    series = {f"model-{ds}": [{"tau": t, **band(rows[model_label(f"model-{ds}", t)])}
                              for t in cfg.taus]
              for ds in datasets}
    refs = {}
    for ds in datasets:
        best = summary["transcendence"]["datasets"][ds]["best_expert"]
        refs[f"best expert of {ds} ({best})"] = band(rows[best])
    refs["random"] = band(rows["random"])
    return series, refs


def reward_gap_series(per_state_csv: str | Path, summary: dict[str, Any], cfg: ExperimentConfig,
                      datasets: tuple[str, ...] = DATASETS) -> dict[str, list[dict[str, float]]]:
    """Per temperature, each model's reward minus its dataset's best expert, paired over the same
    states, with 95% intervals that resample whole games (the ``game`` column of
    ``rewards_per_state.csv``): the transcendence test at every temperature, for
    :func:`~minitranscend.evaluation.figures.rating_vs_temperature`."""
    with open(per_state_csv, newline="") as fh:
        table = list(csv.DictReader(fh))
    games = [r["game"] for r in table] if table and "game" in table[0] else None
    col = lambda name: np.array([float(r[name]) for r in table])  # noqa: E731
    series = {}
    for ds in datasets:
        best = summary["transcendence"]["datasets"][ds]["best_expert"]
        rows = []
        for tau in cfg.taus:
            d, lo, hi = paired_bootstrap_ci(col(model_label(f"model-{ds}", tau)), col(best),
                                            seed=cfg.seed, groups=games)
            rows.append({"tau": tau, "rating": d, "lo": lo, "hi": hi})
        series[f"model-{ds} minus {best}"] = rows
    return series


def headline_figure(source: Path, cfg: ExperimentConfig):
    """The README's headline figure from a results folder (a run's ``rewards/`` or the published
    one): the paired reward gap over temperature for both datasets, zero = the best expert.

    Used in chapter 7."""
    summary = json.loads((source / "rewards_summary.json").read_text())
    series = reward_gap_series(source / "rewards_per_state.csv", summary, cfg)
    fig = rating_vs_temperature(series, {"best expert of the model's own dataset": {"rating": 0.0}},
                                title="Model minus its best expert, per-state reward "
                                      f"({cfg.profile} profile)",
                                y_title="paired reward difference (95% interval)")
    fig.update_layout(legend=dict(orientation="h", y=-0.25), height=480, width=760)
    return fig


def results_markdown(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                     source: Path | None = None) -> str:
    """The README's results table, built from the files the stages wrote (never typed by hand):
    per-state reward and Elo per temperature with 95% intervals, the experts beside them, and
    both verdicts. ``source``: a folder written by
    :func:`~minitranscend.experiment.shipped.publish` instead of the run folder."""
    summary_path = (source or rewards_dir(cfg)) / "rewards_summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"no results at {summary_path}: run `minitranscend experiment "
                                f"--profile {cfg.profile}` first (it resumes where it stopped)")
    rewards = json.loads(summary_path.read_text())
    rows = {r["policy"]: r for r in rewards["summary"]}
    tr = rewards["transcendence"]
    lines = [f"Profile `{cfg.profile}`: {cfg.n_games} games per dataset, "
             f"{tr['n_states']} held-out states from {tr.get('n_games', '?')} games "
             f"(Stockfish {tr['limit'].replace('=', ' ')}), {cfg.match_games} games per temperature. "
             "Reward intervals: bootstrap over held-out games; Elo: maximum-likelihood fit, "
             "random player = 0, bootstrap over games.",
             "", "| player | reward (95% CI) | Elo (95% CI) |", "|---|---|---|"]
    ci = lambda m, lo, hi, d: f"{m:.{d}f} ({lo:.{d}f} to {hi:.{d}f})"  # noqa: E731
    verdicts = {}
    for ds in datasets:
        path = source / f"ladder-{ds}-ladder.json" if source else ladder_dir(cfg, ds) / "ladder.json"
        ladder = json.loads(path.read_text()) if path.exists() else None
        ratings = {r["player"]: r for r in ladder["ratings"]} if ladder else {}
        verdicts[ds] = ladder_verdict(ladder) if ladder else None
        names = [e.name for e in cfg.experts[ds]] + [model_label(f"model-{ds}", t) for t in cfg.taus]
        for name in names:
            r = rows[name]
            e = ratings.get(name)  # games and rewards name a player alike (model_label)
            elo = ci(e["rating"], e.get("lo", e["rating"]), e.get("hi", e["rating"]), 0) if e else "—"
            lines.append(f"| {name} | {ci(r['mean'], r['lo'], r['hi'], 3)} | {elo} |")
    for name in ("oracle", "random"):
        r = rows[name]
        anchor = "0 (anchor)" if name == "random" else "—"
        lines.append(f"| {name} | {ci(r['mean'], r['lo'], r['hi'], 3)} | {anchor} |")
    lines.append("")
    div_path = (source or experiment_dir(cfg)) / "diversity.json"
    if div_path.exists():
        div = json.loads(div_path.read_text())
        lines.append("- Diversity (the paper's measure: normalized next-move entropy over opening "
                     f"states seen more than {div['min_count']} times): " + "; ".join(
                         f"{ds} {d['diversity']:.3f} over {d['n_states']} states"
                         for ds, d in div["datasets"].items()) + ".")
    for ds in datasets:
        t = tr["datasets"][ds]
        d = t["model_minus_best_expert"]
        line = (f"- Dataset {ds}: reward of {t['best_model']} minus {t['best_expert']}, paired over "
                f"the same states: {ci(d['mean'], d['lo'], d['hi'], 4)} — "
                f"{'transcends' if t['transcends'] else 'does not transcend'} in reward")
        v = verdicts[ds]
        if v:
            line += (f"; Elo at tau={v['best_tau']:g}: {v['model_rating']:.0f} ({v['model_lo']:.0f} "
                     f"to {v['model_hi']:.0f}) vs {v['best_expert']} {v['expert_rating']:.0f} "
                     f"({v['expert_lo']:.0f} to {v['expert_hi']:.0f}) — "
                     f"{'transcends' if v['transcends'] else 'does not transcend'} in games")
            both = t["transcends"] and v["transcends"]
            line += (f". **By the book's criterion (both): "
                     f"{'transcends' if both else 'does not transcend'}**")
        lines.append(line + ".")
    return "\n".join(lines)
