"""The Plotly figures of a cell's details (leaderboard.detail holds their data): the training curves and the
kind's count matrix as a heatmap."""
from __future__ import annotations

from typing import Optional

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
