"""The Plotly figures of a cell's details (leaderboard.detail holds their data): the training curves, the kind's count
matrix as a heatmap, and the decision's spread of the row's rank and of its gap to the leader (leaderboard.decision)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from leaderboard.detail import CellDetail, CurveData


def curve_figure(curves: CurveData) -> Optional[go.Figure]:
    """Loss per logging step above the validation main score per evaluation, one trace per run and quantity (a
    colour per run, in run order); None when no run has either."""
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    if not any(curves.values()):
        return None
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("training loss", "validation main score"))
    for i, (name, series) in enumerate(curves.items()):
        color = qualitative.Plotly[i % len(qualitative.Plotly)]
        for row, label in ((1, "loss"), (2, "validation")):
            if label in series:
                steps, values = series[label]
                fig.add_trace(go.Scatter(x=steps, y=values, mode="lines+markers", name=f"{name} {label}",
                                         legendgroup=name, line={"color": color}), row=row, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(height=460, margin={"l": 50, "r": 20, "t": 40, "b": 40}, legend={"orientation": "h"})
    return fig


def matrix_figure(matrix: pd.DataFrame, title: str) -> go.Figure:
    """A count matrix as a heatmap with the counts written in its cells."""
    fig = go.Figure(go.Heatmap(z=matrix.values, x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index],
                               colorscale="Blues", text=matrix.values, texttemplate="%{text}",
                               hovertemplate="gold %{y}<br>prediction %{x}<br>%{z}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title=matrix.columns.name or "prediction",
                      yaxis_title=matrix.index.name or "gold", yaxis_autorange="reversed",
                      height=max(300, 40 * len(matrix) + 160), margin={"l": 80, "r": 20, "t": 50, "b": 60})
    return fig


def detail_matrix_figure(detail: CellDetail) -> Optional[go.Figure]:
    """The shown run's count matrix as a heatmap titled with the run; None when its kind shows none."""
    if detail.matrix is None:
        return None
    return matrix_figure(detail.matrix, f"{detail.matrix_title} · {detail.run}")


# (scope name, the row's rank on each resample, its gap on each resample in points, what the gap is)
Spread = tuple[str, np.ndarray, np.ndarray, str]


def decision_figure(label: str, spreads: Sequence[Spread]) -> Optional[go.Figure]:
    """Per scope (a row of panels): the share of resamples giving the row each rank, and the histogram of its gap
    to the leader (or, for the leader, its lead over the runner-up) in points; None when there is no scope."""
    from plotly.subplots import make_subplots

    if not spreads:
        return None
    titles = [t for name, _, _, what in spreads for t in (f"{name}: rank of {label}", f"{name}: {what} (pt)")]
    fig = make_subplots(rows=len(spreads), cols=2, subplot_titles=titles, vertical_spacing=0.3 / len(spreads),
                        horizontal_spacing=0.12)
    for i, (name, ranks, gaps, what) in enumerate(spreads, start=1):
        values, counts = np.unique(np.asarray(ranks, dtype=int), return_counts=True)
        fig.add_trace(go.Bar(x=values, y=counts / counts.sum(), name=f"{name} rank", showlegend=False,
                             hovertemplate="rank %{x}: %{y:.1%} of resamples<extra></extra>"), row=i, col=1)
        fig.add_trace(go.Histogram(x=np.asarray(gaps, dtype=float), histnorm="probability", nbinsx=40,
                                   name=f"{name} gap", showlegend=False,
                                   hovertemplate="%{x} pt: %{y:.1%} of resamples<extra></extra>"), row=i, col=2)
        fig.update_xaxes(title_text="rank", dtick=1, row=i, col=1)
        fig.update_xaxes(title_text="points", row=i, col=2)
        fig.update_yaxes(title_text="share of resamples", tickformat=".0%", row=i, col=1)
        fig.update_yaxes(tickformat=".0%", row=i, col=2)
    fig.update_layout(height=260 * len(spreads) + 80, margin={"l": 60, "r": 20, "t": 50, "b": 40}, bargap=0.1)
    return fig
