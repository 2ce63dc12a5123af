"""Plotly figures: main score against size and CPU latency (Pareto front marked), per-task bars with seed spread.

Points and bars are labelled by the row label (model + method ...), so a model's finetune and prompt rows are two
points / bars; the best is picked in the score's direction (higher or lower is better)."""
from __future__ import annotations

from typing import Optional

import pandas as pd
import plotly.graph_objects as go

from .columns import HIGHER, LOWER, ranking_ascending, row_labels
from .table import benchmarks, directions, task_direction


def model_points(agg: pd.DataFrame, table: pd.DataFrame, scope: str) -> pd.DataFrame:
    """One point per (model, revision, method): row label, score ×100 on ``scope`` (a benchmark's average over
    complete rows, or one task's mean), its direction, parameters and median single-input CPU latency (ms) over
    the scope's tasks."""
    cols = ["row", "model", "revision", "method", "score", "direction", "parameters", "latency_ms", "untrained"]
    if agg.empty:
        return pd.DataFrame(columns=cols)
    benches = benchmarks(table)
    if scope in benches:
        tasks = benches[scope]
        score = table.set_index(["model", "revision", "method"])[f"{scope}_avg"]
        direction = directions(table).get(scope, HIGHER)
    else:
        tasks = [scope]
        score = agg[agg.task == scope].set_index(["model", "revision", "method"])["mean"] * 100
        direction = task_direction(agg, scope)
    sub = agg[agg.task.isin(tasks)]
    meta = sub.groupby(["model", "revision", "method"]).agg(parameters=("parameters", "first"),
                                                             latency_ms=("cpu_latency_ms", "median"),
                                                             untrained=("untrained", "first"))
    pts = meta.join(score.rename("score"), how="inner").reset_index().dropna(subset=["score"])
    pts["row"] = row_labels(pts)
    pts["direction"] = direction
    return pts[cols].reset_index(drop=True)


def pareto_mask(points: pd.DataFrame, x: str, y: str = "score", direction: str = HIGHER) -> pd.Series:
    """True for points no other point dominates: x no larger and y no worse in ``direction`` (no smaller when
    higher is better, no larger when lower is), one of them strictly."""
    ok = points[x].notna() & points[y].notna()
    sign = -1.0 if direction == LOWER else 1.0
    mask = pd.Series(False, index=points.index)
    for i in points.index[ok]:
        xi, yi = points.at[i, x], sign * points.at[i, y]
        others = points[ok & (points.index != i)]
        oy = sign * others[y]
        dominated = ((others[x] <= xi) & (oy >= yi) & ((others[x] < xi) | (oy > yi))).any()
        mask.at[i] = not dominated
    return mask


def _labels(points: pd.DataFrame) -> list[str]:
    return list(points["row"]) if "row" in points else row_labels(points)


def _direction(frame: pd.DataFrame) -> str:
    d = frame["direction"].dropna() if "direction" in frame else pd.Series(dtype=object)
    return str(d.iloc[0]) if len(d) and d.iloc[0] == LOWER else HIGHER


def score_scatter(points: pd.DataFrame, x: str, title: str, x_title: str, log_x: bool = True) -> go.Figure:
    """Scatter of score against x with the Pareto front (lower x, better score in the points' direction) as a
    marked line; points are labelled by their row label."""
    fig = go.Figure()
    pts = points.dropna(subset=[x])
    if pts.empty:
        fig.update_layout(title=f"{title}: no data")
        return fig
    direction = _direction(pts)
    front = pareto_mask(pts, x, direction=direction)
    fig.add_trace(go.Scatter(x=pts[x], y=pts["score"], mode="markers+text", text=_labels(pts),
                             textposition="top center", name="models", marker={"size": 10}))
    fp = pts[front].sort_values(x)
    fig.add_trace(go.Scatter(x=fp[x], y=fp["score"], mode="lines+markers", name="Pareto front",
                             text=_labels(fp), marker={"size": 14, "symbol": "star"}, line={"dash": "dash"}))
    y_title = "main score ×100" + (" (lower is better)" if direction == LOWER else "")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=420,
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
    """Mean main score ×100 per row (model + method) on a task, best first in the task's direction; error bars =
    sample std over seeds (n in the hover)."""
    fig = go.Figure()
    sub = agg[agg.task == task] if task else agg.iloc[0:0]
    sub = sub.sort_values("mean", ascending=ranking_ascending(_direction(sub)), kind="stable")
    if sub.empty:
        fig.update_layout(title="no task selected" if not task else f"{task}: no results")
        return fig
    names = _labels(sub)
    fig.add_trace(go.Bar(x=names, y=sub["mean"] * 100, name=task,
                         error_y={"type": "data", "array": (sub["std"] * 100).tolist(), "visible": True},
                         customdata=sub["n"], hovertemplate="%{x}: %{y:.1f} ± %{error_y.array:.1f} "
                                                            "(n=%{customdata})<extra></extra>"))
    lower = " (lower is better)" if _direction(sub) == LOWER else ""
    fig.update_layout(title=f"{task}: mean ± std over seeds", yaxis_title=f"main score ×100{lower}", height=380,
                      margin={"l": 40, "r": 20, "t": 50, "b": 80})
    return fig
