"""The loss curves of a training run, from its ``metrics.jsonl`` (one line per evaluation)."""
from __future__ import annotations

import os
from typing import Any

import plotly.graph_objects as go

from ..store import read_jsonl


def read_metrics(metrics_path: str | os.PathLike) -> list[dict[str, Any]]:
    """The evaluation rows of a run (a torn last line, left by a killed run, is dropped).

    Used in chapter 4."""
    return read_jsonl(metrics_path)


def loss_figure(metrics_path: str | os.PathLike, x: str = "step") -> go.Figure:
    """Train and validation loss curves (plotly) from a ``metrics.jsonl``; ``x`` is
    "step", "tokens" or "elapsed_s".

    Used in chapter 4."""
    rows = read_metrics(metrics_path)
    fig = go.Figure()
    for key, name in (("train_loss", "train"), ("val_loss", "validation")):
        pts = [(r[x], r[key]) for r in rows if r.get(key) is not None]
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=name))
    fig.update_layout(xaxis_title=x, yaxis_title="cross-entropy (nats / token)", template="plotly_white",
                      title="Training loss")
    return fig
