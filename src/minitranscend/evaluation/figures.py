"""Plotly figures for the evaluation chapters (each returns a ``go.Figure``; nothing is shown)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def rating_vs_temperature(series: Mapping[str, Sequence[Mapping[str, float]]],
                          references: Mapping[str, Mapping[str, float]] | None = None,
                          title: str = "Rating vs sampling temperature",
                          y_title: str = "Elo (ML fit, 95% bootstrap interval)") -> go.Figure:
    """The paper's headline plot, with uncertainty.

    ``series``: ``{model name: [{"tau", "rating", "lo", "hi"}, ...]}`` — one line with a 95% band
    per model. ``references``: ``{expert name: {"rating", "lo", "hi"}}`` — horizontal lines with
    bands (the experts the model must beat). Temperature is on a log axis, as in the paper.
    The same picture serves any per-temperature statistic (e.g. the per-state reward): pass its
    values under "rating" and name it with ``y_title``.

    Used in chapters 6, 7.
    """
    fig = go.Figure()
    for k, (name, rows) in enumerate(series.items()):
        rows = sorted(rows, key=lambda r: r["tau"])
        x = [r["tau"] for r in rows]
        c = PALETTE[k % len(PALETTE)]
        if all("lo" in r and "hi" in r for r in rows):
            fig.add_trace(go.Scatter(x=x + x[::-1], y=[r["hi"] for r in rows] + [r["lo"] for r in rows][::-1],
                                     fill="toself", fillcolor=c, opacity=0.2, line=dict(width=0),
                                     mode="lines",
                                     hoverinfo="skip", showlegend=False, name=f"{name} 95%"))
        fig.add_trace(go.Scatter(x=x, y=[r["rating"] for r in rows], mode="lines+markers", name=name,
                                 line=dict(color=c)))
    for k, (name, ref) in enumerate((references or {}).items()):
        c = "gray" if k == 0 else PALETTE[(k + 3) % len(PALETTE)]
        if "lo" in ref and "hi" in ref:
            fig.add_hrect(y0=ref["lo"], y1=ref["hi"], fillcolor=c, opacity=0.12, line_width=0)
        # a legend entry instead of an on-plot label: several experts of similar strength
        # would otherwise print their names on top of each other
        fig.add_hline(y=ref["rating"], line_dash="dash", line_color=c)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name,
                                 line=dict(color=c, dash="dash")))
    fig.update_xaxes(type="log", title="temperature τ")
    fig.update_yaxes(title=y_title)
    fig.update_layout(title=title, template="plotly_white", margin=dict(l=80))
    return fig


def gain_distribution(gains: Sequence[float], title: str = "Where does low temperature gain?",
                      bins: int = 60) -> go.Figure:
    """Per-state gain r_tau(s) - r_1(s): histogram (left) and the cumulative share of the total gain
    carried by the top states, largest gains first (right). Used in chapter 7."""
    from plotly.subplots import make_subplots

    g = np.asarray(gains, dtype=float)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("per-state gain", "cumulative share of total gain"))
    fig.add_trace(go.Histogram(x=g, nbinsx=bins, name="states", marker_color=PALETTE[0]), row=1, col=1)
    srt = np.sort(g)[::-1]
    total = srt.sum()
    share = np.cumsum(srt) / total if total > 0 else np.full(len(srt), np.nan)
    frac = np.arange(1, len(srt) + 1) / max(len(srt), 1)
    fig.add_trace(go.Scatter(x=frac, y=share, mode="lines", name="share", line=dict(color=PALETTE[1])),
                  row=1, col=2)
    fig.update_xaxes(title_text="r_τ(s) − r_1(s)", row=1, col=1)
    fig.update_xaxes(title_text="fraction of states (largest gain first)", tickformat=".0%", row=1, col=2)
    fig.update_yaxes(title_text="states", row=1, col=1)
    fig.update_yaxes(title_text="share of total gain", tickformat=".0%", row=1, col=2)
    fig.update_layout(title=title, template="plotly_white", showlegend=False)
    return fig


def wdl_bars(rows: Sequence[Mapping[str, float]], label_key: str = "label",
             title: str = "Results by opponent") -> go.Figure:
    """Stacked win/draw/loss shares; ``rows``: ``[{label, wins, draws, losses}, ...]`` (e.g. one per
    opponent or temperature, from :func:`minitranscend.evaluation.match.summarize_match`)."""
    labels = [str(r[label_key]) for r in rows]
    n = np.array([max(1, r["wins"] + r["draws"] + r["losses"]) for r in rows], dtype=float)
    fig = go.Figure()
    for key, colour in (("wins", "#2ca02c"), ("draws", "#bbbbbb"), ("losses", "#d62728")):
        v = np.array([r[key] for r in rows], dtype=float)
        fig.add_trace(go.Bar(x=labels, y=v / n, name=key, marker_color=colour,
                             text=[f"{int(c)}" for c in v], textposition="inside"))
    fig.update_layout(barmode="stack", title=title, template="plotly_white",
                      yaxis=dict(title="share of games", tickformat=".0%"))
    return fig
