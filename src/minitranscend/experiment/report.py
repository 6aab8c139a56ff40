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
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..evaluation.figures import PALETTE
from ..evaluation.reward import paired_bootstrap_ci
from ..player_specs import model_label
from ..settings import ANALYSIS_PLAN, DATASETS, LADDER_DATASETS, ExperimentConfig
from .folders import experiment_dir, ladder_dir, rewards_dir
from .references import vote_name
from .shipped import published_config
from .stages import model_prefix


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


DATASET_ROLES = {"A": "diverse panel", "B": "shared habit (the ablation)",
                 "S": "one expert (the control)"}


def own_set(dataset: str) -> str:
    """The test states of a dataset's own held-out games: ``<ds>-games``."""
    return f"{dataset}-games"


def read_state_sets(per_state_csv: str | Path) -> dict[str, tuple[dict[str, np.ndarray], list]]:
    """``{set: (columns, games)}`` of a ``rewards_per_state.csv``: each policy's per-state
    rewards as an array, and the game of each state (for the cluster bootstrap)."""
    with open(per_state_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_set: dict[str, list] = {}
    for r in rows:
        by_set.setdefault(r["set"], []).append(r)
    skip = {"set", "game", "fen"}
    return {name: ({k: np.array([float(r[k]) for r in table]) for k in table[0] if k not in skip},
                   [r["game"] for r in table])
            for name, table in by_set.items()}


def reward_gap_series(per_state_csv: str | Path, results: dict[str, Any], cfg: ExperimentConfig,
                      dataset: str, state_set: str | None = None,
                      tables: dict[str, tuple[dict[str, np.ndarray], list]] | None = None,
                      ) -> dict[str, list[dict[str, float]]]:
    """Per temperature, each seed's model of ``dataset`` minus the dataset's best expert on
    ``state_set`` (default: its own test games), paired over the same states, with 95%
    intervals that resample whole games: the transcendence test at every temperature.
    ``tables``: :func:`read_state_sets` of the CSV, when the caller has read it already."""
    state_set = state_set or own_set(dataset)
    cols, games = (tables or read_state_sets(per_state_csv))[state_set]
    best = results["comparisons"][dataset][state_set]["best_expert"]
    series = {}
    for seed in cfg.train_seeds:
        rows = []
        for tau in cfg.taus:
            d, lo, hi = paired_bootstrap_ci(cols[model_label(model_prefix(dataset, seed), tau)],
                                            cols[best], seed=cfg.seed, groups=games)
            rows.append({"tau": tau, "rating": d, "lo": lo, "hi": hi})
        series[f"seed {seed}"] = rows
    return series


def headline_figure(source: Path, cfg: ExperimentConfig | None = None,
                    datasets: tuple[str, ...] = DATASETS):
    """The README's headline figure from a results folder (a run's ``rewards/`` or the published
    one): one panel per dataset, on its own test states, of each seed's model minus the
    dataset's best expert over temperature (0 = the best expert), with the theory's prediction
    beside it: the panel's exact majority vote minus the same expert (dashed, with its band).
    The model's chosen temperatures are marked. ``cfg``: the settings the results were made
    with (default: the published full profile's, :func:`~.shipped.published_config`).

    Used in chapter 7."""
    cfg = cfg or published_config()
    results = json.loads((source / "rewards_summary.json").read_text())
    tables = read_state_sets(source / "rewards_per_state.csv")  # read once for every panel
    fig = make_subplots(rows=1, cols=len(datasets), shared_yaxes=True,
                        subplot_titles=[f"{ds}: {DATASET_ROLES.get(ds, '')}" for ds in datasets])
    for col, ds in enumerate(datasets, start=1):
        series = reward_gap_series(source / "rewards_per_state.csv", results, cfg, ds,
                                   tables=tables)
        comp = results["comparisons"][ds][own_set(ds)]
        vote = comp["vote_minus_best_expert"]
        xs = [min(cfg.taus), max(cfg.taus)]
        fig.add_trace(go.Scatter(x=xs + xs[::-1], y=[vote["hi"]] * 2 + [vote["lo"]] * 2,
                                 fill="toself", fillcolor="#2ca02c", opacity=0.15, mode="lines",
                                 line=dict(width=0), hoverinfo="skip", showlegend=False),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=xs, y=[vote["mean"]] * 2, mode="lines",
                                 line=dict(color="#2ca02c", dash="dash"),
                                 name="exact majority vote (theory)", showlegend=col == 1,
                                 legendgroup="vote"), row=1, col=col)
        fig.add_trace(go.Scatter(x=xs, y=[0, 0], mode="lines", line=dict(color="gray"),
                                 name="best expert", showlegend=col == 1, legendgroup="expert"),
                      row=1, col=col)
        for k, (name, rows) in enumerate(series.items()):
            c = PALETTE[k % len(PALETTE)]
            x = [r["tau"] for r in rows]
            fig.add_trace(go.Scatter(
                x=x, y=[r["rating"] for r in rows], mode="lines+markers", name=f"model, {name}",
                line=dict(color=c, width=1.5), legendgroup=name, showlegend=col == 1,
                error_y=dict(type="data", symmetric=False, thickness=1, width=2,
                             array=[r["hi"] - r["rating"] for r in rows],
                             arrayminus=[r["rating"] - r["lo"] for r in rows])), row=1, col=col)
            chosen = next(s for s in comp["seeds"] if f"seed {s['seed']}" == name)
            fig.add_trace(go.Scatter(x=[chosen["tau"]], y=[chosen["model_minus_best_expert"]["mean"]],
                                     mode="markers", marker=dict(symbol="star", size=13, color=c,
                                                                 line=dict(color="black", width=1)),
                                     name="chosen τ (validation states)", legendgroup="chosen",
                                     showlegend=col == 1 and k == 0), row=1, col=col)
        fig.update_xaxes(type="log", title_text="temperature τ", row=1, col=col)
    fig.update_yaxes(title_text="reward minus best expert (paired, 95%)", row=1, col=1)
    fig.update_layout(title=f"Models between their best expert and the vote ({cfg.profile} profile, "
                            "test states of each dataset's own games)",
                      template="plotly_white", height=470, width=1000,
                      legend=dict(orientation="h", y=-0.25))
    return fig


def _ladder_path(cfg: ExperimentConfig, dataset: str, source: Path | None) -> Path:
    """``ladder.json`` of ``dataset``: in a published folder, or in the run's ladder folder."""
    return source / f"ladder-{dataset}-ladder.json" if source else ladder_dir(cfg, dataset) / "ladder.json"


def recovery_defined(comparison: dict[str, Any]) -> bool:
    """The recovery ratio divides by the vote's gap over the best expert: it means something only
    where that gap's 95% interval excludes zero."""
    gap = comparison["vote_minus_best_expert"]
    return gap["lo"] > 0 or gap["hi"] < 0


def _recovery(comparison: dict[str, Any], seed_row: dict[str, Any]) -> str:
    return _fmt(seed_row["recovery"], 2) if recovery_defined(comparison) else "— (vote ≈ best expert)"


def _fmt(d: dict[str, float], digits: int = 3, signed: bool = False) -> str:
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    return f"{f.format(d['mean'])} ({f.format(d['lo'])} to {f.format(d['hi'])})"


def results_markdown(cfg: ExperimentConfig, datasets: tuple[str, ...] = DATASETS,
                     source: Path | None = None) -> str:
    """The README's results, built from the files the stages wrote (never typed by hand): the
    pre-registered analysis, one table per dataset on its own test states (reference policies,
    experts, each seed's model at its chosen temperature, the vote, Elo where rated), and the
    verdicts on every state set. ``source``: a folder written by
    :func:`~minitranscend.experiment.shipped.publish` instead of the run folder."""
    summary_path = (source or rewards_dir(cfg)) / "rewards_summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"no results at {summary_path}: run `minitranscend experiment "
                                f"--profile {cfg.profile}` first (it resumes where it stopped)")
    res = json.loads(summary_path.read_text())
    own_path = (source or rewards_dir(cfg)) / "own_games_summary.json"
    own = json.loads(own_path.read_text()) if own_path.exists() else None
    run_path = source / "provenance.json" if source else experiment_dir(cfg) / "run.json"
    run = json.loads(run_path.read_text()) if run_path.exists() else {}
    run = run.get("run", run)
    lines = [f"Profile `{cfg.profile}`: {cfg.n_games:,} games per dataset; "
             f"{len(cfg.train_seeds)} training seeds per dataset ({cfg.train['max_iters']:,} "
             f"steps each); rewards scored by Stockfish {res['limit'].replace('=', ' ')}; "
             "intervals: 95% bootstrap over held-out games.",
             "", f"*Analysis fixed before the run:* {ANALYSIS_PLAN}."]
    if run.get("config_commit"):
        lines.append(f"*Order:* settings committed in `{run['config_commit'][:7]}` at "
                     f"{run.get('config_committed_at')}; the run started at {run.get('started_at')} "
                     f"(settings {'modified' if run.get('settings_modified_since_commit') else 'unmodified'} "
                     "since that commit)" + (f" and took {run['wall_s'] / 60:.1f} min as one command"
                                             if run.get("wall_s") else "") + ".")
    for ds in datasets:
        rows = {r["policy"]: r for r in res["sets"][own_set(ds)]["summary"]}
        comp = res["comparisons"][ds][own_set(ds)]
        ladder = None
        path = _ladder_path(cfg, ds, source)
        if path.exists():
            ladder = {r["player"]: r for r in json.loads(path.read_text())["ratings"]}
        elo = lambda name: (f"{ladder[name]['rating']:.0f} ({ladder[name]['lo']:.0f} to "  # noqa: E731
                            f"{ladder[name]['hi']:.0f})" if ladder and name in ladder else "—")
        n = res["sets"][own_set(ds)]
        lines += ["", f"**Dataset {ds} ({DATASET_ROLES.get(ds, '')})**, {n['n_states']:,} test states "
                  f"from {n['n_games']} of its held-out games:", "",
                  "| policy | reward | minus best expert | recovery | Elo |", "|---|---|---|---|---|"]
        best = comp["best_expert"]
        for name in ["random", "engine", vote_name(ds)] + [e.name for e in cfg.experts[ds]]:
            r = rows[name]
            mark = " (best)" if name == best else ""
            gap = _fmt(comp["vote_minus_best_expert"], 4, True) if name == vote_name(ds) else ""
            lines.append(f"| {name}{mark} | {_fmt(r)} | {gap} | {'1 (by definition)' if gap else ''} "
                         f"| {elo(name) if name != vote_name(ds) else '—'} |")
        for e in cfg.experts[ds][:1] if ds == "B" else cfg.experts[ds]:
            name = f"{e.name}-noslip"
            lines.append(f"| {name} | {_fmt(rows[name])} |  |  | — |")
        for sd in comp["seeds"]:
            lines.append(f"| {sd['model']} (seed {sd['seed']}) | {_fmt(sd['reward'])} | "
                         f"{_fmt(sd['model_minus_best_expert'], 4, True)} | "
                         f"{_recovery(comp, sd)} | {elo(sd['model'])} |")
    lines += ["", "**Verdicts on every state set** (model at its chosen τ minus the dataset's best "
              "expert on those states; seeds whose 95% interval is above / below zero; mean "
              "and range over seeds; the vote's gap):", "",
              "| model of | states | seeds above / below | gain, mean [min, max] | recovery, mean [min, max] | vote minus best expert |",
              "|---|---|---|---|---|---|"]
    comparisons = {ds: dict(res["comparisons"][ds]) for ds in datasets}
    if own:
        for ds, c in own["comparisons"].items():
            comparisons.setdefault(ds, {}).update(c)
    for ds in datasets:
        for name, c in comparisons[ds].items():
            sp, k = c["spread"], len(c["seeds"])
            lines.append(f"| {ds} | {name} ({c['n_states']:,}) | {c['seeds_above_best_expert']} / "
                         f"{c['seeds_below_best_expert']} of {k} | {sp['gain_mean']:+.4f} "
                         f"[{sp['gain_min']:+.4f}, {sp['gain_max']:+.4f}] | "
                         + (f"{sp['recovery_mean']:.2f} [{sp['recovery_min']:.2f}, {sp['recovery_max']:.2f}]"
                            if recovery_defined(c) else "— (vote ≈ best expert)")
                         + f" | {_fmt(c['vote_minus_best_expert'], 4, True)} |")
    div_path = (source or experiment_dir(cfg)) / "diversity.json"
    if div_path.exists():
        div = json.loads(div_path.read_text())
        lines += ["", "- Diversity (the paper's measure: normalized next-move entropy over opening "
                  f"states seen more than {div['min_count']} times): " + "; ".join(
                      f"{ds} {d['diversity']:.3f} over {d['n_states']} states"
                      for ds, d in div["datasets"].items()) + "."]
    for ds in LADDER_DATASETS:
        path = _ladder_path(cfg, ds, source)
        if ds in datasets and path.exists():
            v = ladder_verdict(json.loads(path.read_text()))
            lines.append(f"- Games, dataset {ds} (seed {cfg.train_seeds[0]}): {v['model']} at "
                         f"τ = {v['best_tau']:g}: Elo {v['model_rating']:.0f} ({v['model_lo']:.0f} to "
                         f"{v['model_hi']:.0f}) vs its best expert {v['best_expert']} "
                         f"{v['expert_rating']:.0f} ({v['expert_lo']:.0f} to {v['expert_hi']:.0f}): "
                         f"{'above, intervals apart' if v['transcends'] else 'not above with intervals apart'}.")
    return "\n".join(lines)


def history_markdown(result: dict[str, Any]) -> str:
    """The history models' results (:func:`~minitranscend.experiment.history.history_stage`) as
    a short report: identification (log-loss, habit rates per expert), then each seed's gain
    over the best expert beside the board model of the same seed and the mover-mode policy."""
    h, b = result["history_models"], result["board_models"]
    loss = result["identification"]["log_loss"]
    lines = [f"History models ({result['history_moves']} of the mover's last moves as input), "
             f"dataset {result['dataset']}, {result['n_states']:,} test states; "
             f"ran {result['run']['wall_s'] / 60:.1f} min.", "",
             f"*Plan fixed before the run:* {result['plan']}.", "",
             "| log-loss of the experts' moves (nats) | mean ± s.e. |", "|---|---|"]
    for name, v in loss.items():
        lines.append(f"| {name} | {v['mean']:.3f} ± {v['se']:.3f} |")
    lines += ["", "| mover (habit), states | model | top move = own habit | other expert's habit | engine move |",
              "|---|---|---|---|---|"]
    for name, row in result["identification"]["per_expert"].items():
        for model, v in row.items():
            if isinstance(v, dict):
                lines.append(f"| {name} ({row['habit']}), {row['n_states']} | {model} | "
                             f"{v['own_habit']:.2f} | {v['other_habit']:.2f} | {v['engine']:.2f} |")
    lines += ["", f"Best expert on these states: {h['best_expert']}; vote minus it "
              f"{_fmt(h['vote_minus_best_expert'], 4, True)}; mover-mode minus it "
              f"{_fmt(result['mover_mode_minus_best_expert'], 4, True)}.", "",
              "| seed | history model (τ) minus best expert | board model (τ) minus best expert | "
              "history minus board | history minus mover-mode |", "|---|---|---|---|---|"]
    for hs, bs in zip(h["seeds"], b["seeds"]):
        lines.append(f"| {hs['seed']} | {_fmt(hs['model_minus_best_expert'], 4, True)} (τ {hs['tau']:g}) | "
                     f"{_fmt(bs['model_minus_best_expert'], 4, True)} (τ {bs['tau']:g}) | "
                     f"{_fmt(hs['minus_board_model'], 4, True)} | {_fmt(hs['minus_mover_mode'], 4, True)} |")
    return "\n".join(lines)


def history_figure(result: dict[str, Any]):
    """Chapter 7's history models beside the board models of the same seeds: left, per moving
    expert, how often the top move is that expert's own habit move (bars: mean over seeds,
    whiskers: the seeds' range; the dot: the expert's own probability of it); right, each
    seed's gain over the best expert at its chosen temperature (95% intervals), with the two
    predictions: the panel's exact vote and the mover-mode policy."""
    ident = result["identification"]["per_expert"]
    board = [s["board_model"] for s in result["history_models"]["seeds"]]
    hist = [s["model"].split("-tau")[0] for s in result["history_models"]["seeds"]]
    experts = list(ident)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], subplot_titles=[
        "top move = the mover's own habit move", "reward minus best expert (chosen τ)"])
    for k, (label, names) in enumerate((("board model", board),
                                        (f"history model ({result['history_moves']} moves)", hist))):
        rates = np.array([[ident[e][m]["own_habit"] for m in names] for e in experts])
        mean = rates.mean(axis=1)
        fig.add_trace(go.Bar(
            x=[f"{e} ({ident[e]['habit']})" for e in experts], y=mean, name=label,
            marker_color=PALETTE[k], legendgroup=label,
            error_y=dict(type="data", symmetric=False, array=rates.max(axis=1) - mean,
                         arrayminus=mean - rates.min(axis=1))), row=1, col=1)
    fig.add_trace(go.Scatter(x=[f"{e} ({ident[e]['habit']})" for e in experts],
                             y=[ident[e]["expert_habit_probability"] for e in experts],
                             mode="markers", marker=dict(color="black", symbol="diamond", size=9),
                             name="the expert's own P(habit)"), row=1, col=1)
    rows = [("board", s) for s in result["board_models"]["seeds"]] + \
           [("history", s) for s in result["history_models"]["seeds"]]
    for k, (kind, label) in enumerate((("board", "board model"), ("history", "history model"))):
        pts = [s for kd, s in rows if kd == kind]
        g = [s["model_minus_best_expert"] for s in pts]
        fig.add_trace(go.Scatter(
            x=[s["seed"] + (0.1 if kind == "history" else -0.1) for s in pts],
            y=[x["mean"] for x in g], mode="markers",
            marker=dict(color=PALETTE[k], size=10), name=label, legendgroup=label,
            showlegend=False, error_y=dict(type="data", symmetric=False,
                                           array=[x["hi"] - x["mean"] for x in g],
                                           arrayminus=[x["mean"] - x["lo"] for x in g])),
            row=1, col=2)
    seeds = [s["seed"] for s in result["history_models"]["seeds"]]
    for name, value, color in (("exact vote (board-only theory)",
                                result["history_models"]["vote_minus_best_expert"], "#2ca02c"),
                               ("mover-mode (knows-the-mover theory)",
                                result["mover_mode_minus_best_expert"], "#d62728"),
                               ("best expert", {"mean": 0.0}, "gray")):
        fig.add_trace(go.Scatter(x=[seeds[0] - 0.3, seeds[-1] + 0.3], y=[value["mean"]] * 2, mode="lines",
                                 line=dict(color=color, dash="dash" if name != "best expert" else "solid"),
                                 name=name), row=1, col=2)
    fig.update_xaxes(tickvals=seeds, ticktext=[f"seed {k}" for k in seeds], row=1, col=2)
    fig.update_yaxes(title_text="share of states", range=[0, 1], row=1, col=1)
    fig.update_layout(title="Can the model tell who is playing, and does it still vote?",
                      template="plotly_white", barmode="group", height=460, width=1000,
                      legend=dict(orientation="h", y=-0.3))
    return fig
