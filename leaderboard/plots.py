"""Plotly figures: main score against size and CPU latency (Pareto front marked), per-task bars with seed spread."""
from __future__ import annotations

from typing import Optional

import pandas as pd
import plotly.graph_objects as go

from .table import benchmarks


def model_points(agg: pd.DataFrame, table: pd.DataFrame, scope: str) -> pd.DataFrame:
    """One point per (model, revision, method): score ×100 on ``scope`` (a benchmark's average over complete rows,
    or one task's mean), parameters and median single-input CPU latency (ms) over the scope's tasks."""
    cols = ["model", "revision", "method", "score", "parameters", "latency_ms", "untrained"]
    if agg.empty:
        return pd.DataFrame(columns=cols)
    benches = benchmarks(table)
    if scope in benches:
        tasks = benches[scope]
        score = table.set_index(["model", "revision", "method"])[f"{scope}_avg"]
    else:
        tasks = [scope]
        score = agg[agg.task == scope].set_index(["model", "revision", "method"])["mean"] * 100
    sub = agg[agg.task.isin(tasks)]
    meta = sub.groupby(["model", "revision", "method"]).agg(parameters=("parameters", "first"),
                                                             latency_ms=("cpu_latency_ms", "median"),
                                                             untrained=("untrained", "first"))
    pts = meta.join(score.rename("score"), how="inner").reset_index()
    return pts.dropna(subset=["score"])[cols].reset_index(drop=True)


def pareto_mask(points: pd.DataFrame, x: str, y: str = "score") -> pd.Series:
    """True for points no other point dominates (x no larger and y no smaller, one of them strictly)."""
    ok = points[x].notna() & points[y].notna()
    mask = pd.Series(False, index=points.index)
    for i in points.index[ok]:
        xi, yi = points.at[i, x], points.at[i, y]
        others = points[ok & (points.index != i)]
        dominated = ((others[x] <= xi) & (others[y] >= yi) & ((others[x] < xi) | (others[y] > yi))).any()
        mask.at[i] = not dominated
    return mask


def _label(points: pd.DataFrame) -> list[str]:
    return [m + (" (untrained)" if u else "") for m, u in zip(points["model"], points["untrained"])]


def score_scatter(points: pd.DataFrame, x: str, title: str, x_title: str, log_x: bool = True) -> go.Figure:
    """Scatter of score against x with the Pareto front (lower x, higher score) as a marked line."""
    fig = go.Figure()
    pts = points.dropna(subset=[x])
    if pts.empty:
        fig.update_layout(title=f"{title}: no data")
        return fig
    front = pareto_mask(pts, x)
    fig.add_trace(go.Scatter(x=pts[x], y=pts["score"], mode="markers+text", text=_label(pts),
                             textposition="top center", name="models", marker={"size": 10}))
    fp = pts[front].sort_values(x)
    fig.add_trace(go.Scatter(x=fp[x], y=fp["score"], mode="lines+markers", name="Pareto front",
                             text=_label(fp), marker={"size": 14, "symbol": "star"}, line={"dash": "dash"}))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="main score ×100", height=420,
                      margin={"l": 40, "r": 20, "t": 50, "b": 40})
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def score_vs_params(points: pd.DataFrame, scope: str = "") -> go.Figure:
    return score_scatter(points, "parameters", f"{scope} score vs parameter count", "parameters (log)")


def score_vs_latency(points: pd.DataFrame, scope: str = "") -> go.Figure:
    return score_scatter(points, "latency_ms", f"{scope} score vs single-input CPU latency",
                         "p50 latency, ms (log)")


def task_bars(agg: pd.DataFrame, task: Optional[str]) -> go.Figure:
    """Mean main score ×100 per model on a task, error bars = sample std over seeds (n in the hover)."""
    fig = go.Figure()
    sub = agg[agg.task == task].sort_values("mean", ascending=False) if task else agg.iloc[0:0]
    if sub.empty:
        fig.update_layout(title="no task selected" if not task else f"{task}: no results")
        return fig
    names = [m + (" (untrained)" if u else "") for m, u in zip(sub["model"], sub["untrained"])]
    fig.add_trace(go.Bar(x=names, y=sub["mean"] * 100, name=task,
                         error_y={"type": "data", "array": (sub["std"] * 100).tolist(), "visible": True},
                         customdata=sub["n"], hovertemplate="%{x}: %{y:.1f} ± %{error_y.array:.1f} "
                                                            "(n=%{customdata})<extra></extra>"))
    fig.update_layout(title=f"{task}: mean ± std over seeds", yaxis_title="main score ×100", height=380,
                      margin={"l": 40, "r": 20, "t": 50, "b": 80})
    return fig
