"""Plotly figures: main score against size and CPU latency (Pareto front marked), per-task bars with seed spread,
and the one-line note under each plot saying which rows it leaves out (``plot_scope``).

Made to be read:
- Rows are named by the shared row label (leaderboard.columns.distinct_row_labels: model, method in brackets when
  not plain fine-tuning, '(untrained)'; ' @ revision' only where two rows would share a label), so a model's
  finetune and prompt rows are two points and two bars; the best is picked in the score's direction.
- Task bars: one bar per row in one trace on a category axis (every x distinct; barmode "group", never stacked),
  best first; error bars = sample std over seeds; colour by method, hatched for untrained baselines; the hover
  holds model, revision, method, mean ± std and n.
- Scatters: every point's hover shows everything (row, model, revision, method, score, parameters, latency,
  untrained, on the Pareto front). Text labels are annotations placed by place_labels: Pareto-front points first
  (the rows worth choosing between), then the rest best first, each at the first spot around its point (above
  right, above left, below right, ...) that stays inside the plot area and overlaps no other label or marker, for
  a plot area of PLOT_PX (half a page); a point with no free spot is named in its hover only. Axes are padded a
  little; nothing relies on cliponaxis=False. One trace per method (colour and marker symbol from method_styles,
  the same in every plot, named in the legend); untrained baselines are open markers, and the legend says so.
"""
from __future__ import annotations

import math
from typing import Any, Collection, Optional

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from leaderboard.columns import HIGHER, LOWER, distinct_row_labels, format_cell, is_missing, ranking_ascending
from leaderboard.table import RUN_KEYS, benchmarks, directions, task_direction

PLOTS = {"params": "parameters", "latency": "latency_ms", "bars": None}  # plot -> its x column (bars: none)
X_NAMES = {"parameters": "no parameter count", "latency_ms": "no latency measured: `python -m harness latency`"}
SHOW_NAMES = 6  # rows named in a scope note; the rest are counted
FIG_HEIGHT, MARGIN = 420, {"l": 50, "r": 20, "t": 50, "b": 90}
# the plot area labels are laid out for: a figure about 560 px wide (half a page, beside the other scatter), less
# the margins; a wider figure only adds room. Label text: 12 px font, about 7 px a character.
PLOT_PX = (560 - MARGIN["l"] - MARGIN["r"], FIG_HEIGHT - MARGIN["t"] - MARGIN["b"])
FONT_PX, CHAR_PX, LINE_PX, GAP_PX, MARKER_PX = 12, 7.0, 16.0, 6.0, 7.0
CANDIDATES = (("left", "bottom"), ("right", "bottom"), ("left", "top"), ("right", "top"), ("center", "bottom"),
              ("center", "top"))  # (xanchor, yanchor): above right, above left, below right, below left, ...


def _keep(frame: pd.DataFrame, rows: Optional[Collection[str]]) -> pd.DataFrame:
    """The frame's rows whose row label is among ``rows`` (the table's shown rows); all when rows is None."""
    return frame if rows is None else frame[frame["row"].isin(list(rows))]


def model_points(agg: pd.DataFrame, table: pd.DataFrame, scope: str,
                 rows: Optional[Collection[str]] = None) -> pd.DataFrame:
    """One point per (model, revision, method): row label, score ×100 on ``scope`` (a benchmark's average over
    complete rows, or one task's mean), its direction, parameters and median single-input CPU latency (ms) over
    the scope's tasks. ``rows``: only these row labels (e.g. the rows the filtered table shows)."""
    cols = ["row", "model", "revision", "method", "score", "direction", "parameters", "latency_ms", "latency_p95_ms",
            "latency_setting", "untrained"]
    if agg.empty or table.empty:
        return pd.DataFrame(columns=cols)
    benches = benchmarks(table)
    if scope in benches:
        tasks = benches[scope]
        score = table.set_index(RUN_KEYS)[f"{scope}_avg"]
        direction = directions(table).get(scope, HIGHER)
    else:
        tasks = [scope]
        score = agg[agg.task == scope].set_index(RUN_KEYS)["mean"] * 100
        direction = task_direction(agg, scope)
    sub = _keep(agg[agg.task.isin(tasks)], rows)
    if "latency_p95_ms" not in sub:  # tables built before latency was measured apart from training
        sub = sub.assign(latency_p95_ms=None, latency_setting=None)
    meta = sub.groupby(RUN_KEYS).agg(parameters=("parameters", "first"), latency_ms=("cpu_latency_ms", "median"),
                                     latency_p95_ms=("latency_p95_ms", "median"),
                                     latency_setting=("latency_setting", "first"), untrained=("untrained", "first"))
    pts = meta.join(score.rename("score"), how="inner").reset_index().dropna(subset=["score"])
    pts["row"] = distinct_row_labels(pts)
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
    return list(points["row"]) if "row" in points else distinct_row_labels(points)


def _direction(frame: pd.DataFrame) -> str:
    d = frame["direction"].dropna() if "direction" in frame else pd.Series(dtype=object)
    return str(d.iloc[0]) if len(d) and d.iloc[0] == LOWER else HIGHER


SYMBOLS = ("circle", "diamond", "square", "triangle-up", "cross", "star-triangle-up")
NEUTRAL = "#888888"  # the legend's key for markers and hatching (not a method)


def method_styles(methods: Collection[str]) -> dict[str, tuple[str, str]]:
    """Method -> (colour, marker symbol), the same in every plot of the app: methods in name order, so a method keeps
    its colour whatever the rows shown."""
    return {m: (qualitative.Plotly[i % len(qualitative.Plotly)], SYMBOLS[i % len(SYMBOLS)])
            for i, m in enumerate(sorted({str(m) for m in methods}))}


def _legend_key(name: str, marker: dict[str, Any]) -> go.Scatter:
    """A legend entry that draws nothing (its one point has no coordinates): explains a colour, marker or hatch."""
    return go.Scatter(x=[None], y=[None], mode="markers", name=name, marker={"size": 10, **marker},
                      hoverinfo="skip", legendgroup=f"key-{name}")


def _untrained(frame: pd.DataFrame) -> list[bool]:
    return [False if is_missing(u) else bool(u) for u in (frame["untrained"] if "untrained" in frame
                                                           else [False] * len(frame))]


def padded(lo: float, hi: float, frac: float, empty_pad: float = 1.0) -> list[float]:
    """[lo, hi] widened by ``frac`` of its span on each side (by ``empty_pad`` when lo == hi)."""
    pad = (hi - lo) * frac if hi > lo else empty_pad
    return [lo - pad, hi + pad]


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the plot area, y up


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points: list[tuple[float, float]], labels: list[str], order: list[int],
                 size: tuple[float, float] = PLOT_PX) -> list[Optional[tuple[str, str, Box]]]:
    """Where each point's label goes, in pixels of a plot area of ``size`` (points in pixels, y up): labels are
    placed in ``order`` at the first of CANDIDATES (plotly xanchor, yanchor) whose box stays inside the area and
    overlaps no placed label and no marker; None where none fits (that point is named in its hover only)."""
    w_area, h_area = size
    markers = [(x - MARKER_PX, y - MARKER_PX, x + MARKER_PX, y + MARKER_PX) for x, y in points]
    placed: list[Box] = []
    out: list[Optional[tuple[str, str, Box]]] = [None] * len(points)
    for i in order:
        (x, y), w, h = points[i], len(labels[i]) * CHAR_PX + 2, LINE_PX
        for xa, ya in CANDIDATES:
            x0 = {"left": x + GAP_PX, "right": x - GAP_PX - w, "center": x - w / 2}[xa]
            y0 = y + GAP_PX if ya == "bottom" else y - GAP_PX - h
            box = (x0, y0, x0 + w, y0 + h)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= w_area and box[3] <= h_area
            if inside and not any(_overlap(box, b) for b in placed + markers[:i] + markers[i + 1:]):
                placed.append(box)
                out[i] = (xa, ya, box)
                break
    return out


def _label_annotations(xs: list[float], ys: list[float], labels: list[str], order: list[int],
                       x_range: list[float], y_range: list[float]) -> list[dict]:
    """Plotly annotations naming the points that place_labels fits (xs already log10 on a log axis)."""
    w, h = PLOT_PX
    px = [((x - x_range[0]) / (x_range[1] - x_range[0]) * w, (y - y_range[0]) / (y_range[1] - y_range[0]) * h)
          for x, y in zip(xs, ys)]
    out = []
    for x, y, lab, spot in zip(xs, ys, labels, place_labels(px, labels, order)):
        if spot is None:
            continue
        xa, ya, _ = spot
        out.append({"x": x, "y": y, "text": lab, "showarrow": False, "xanchor": xa, "yanchor": ya,
                    "xshift": {"left": GAP_PX, "right": -GAP_PX, "center": 0}[xa],
                    "yshift": GAP_PX if ya == "bottom" else -GAP_PX, "font": {"size": FONT_PX}})
    return out


def _latency_text(p50: Any, p95: Any) -> str:
    if is_missing(p50):
        return "not measured"
    return f"p50 {float(p50):.1f} ms" + ("" if is_missing(p95) else f", p95 {float(p95):.1f} ms")


def latency_note(points: pd.DataFrame) -> str:
    """What the latency plot's x is and where it was measured (every distinct setting, at most three named)."""
    settings = [s for s in dict.fromkeys(points.get("latency_setting", pd.Series(dtype=object))) if not is_missing(s)]
    if not settings:
        return ""
    where = "; ".join(f"`{s}`" for s in settings[:3]) + (f"; and {len(settings) - 3} more" if len(settings) > 3 else "")
    return (" Latency: median (p50) wall time of one input (tokenize, forward, decode), measured apart from training "
            f"by `python -m harness latency` on the kept checkpoint: {where}.")


def _hover(points: pd.DataFrame, front: pd.Series) -> tuple[list[list], str]:
    n = len(points)
    custom = [[lab, m, rev, meth, format_cell("params", p), _latency_text(lat, p95),
               "yes" if u else "no", "yes" if f else "no"]
              for lab, m, rev, meth, p, lat, p95, u, f in zip(_labels(points), points.get("model", [""] * n),
                                                               points.get("revision", [""] * n),
                                                               points.get("method", [""] * n),
                                                               points.get("parameters", [None] * n),
                                                               points.get("latency_ms", [None] * n),
                                                               points.get("latency_p95_ms", [None] * n),
                                                               _untrained(points), front)]
    template = ("<b>%{customdata[0]}</b><br>model: %{customdata[1]} @ %{customdata[2]}<br>method: %{customdata[3]}"
                "<br>score ×100: %{y:.1f}<br>parameters: %{customdata[4]}<br>CPU latency: %{customdata[5]}"
                "<br>untrained baseline: %{customdata[6]}<br>on the Pareto front: %{customdata[7]}<extra></extra>")
    return custom, template


def score_scatter(points: pd.DataFrame, x: str, title: str, x_title: str, log_x: bool = True) -> go.Figure:
    """Scatter of score against x with the Pareto front (lower x, better score in the points' direction) as a
    marked line; labels where they fit (front first), every point named in its hover (see the module docstring)."""
    fig = go.Figure()
    pts = points.dropna(subset=[x, "score"])
    if log_x:
        pts = pts[pts[x] > 0]
    if pts.empty:
        fig.update_layout(title=f"{title}: no data")
        return fig
    pts = pts.reset_index(drop=True)
    direction = _direction(pts)
    front = pareto_mask(pts, x, direction=direction)
    custom, hover = _hover(pts, front)
    labels = _labels(pts)
    untrained = _untrained(pts)
    methods = [str(m) for m in pts.get("method", pd.Series(["finetune"] * len(pts)))]
    styles = method_styles(methods)
    for meth, (colour, symbol) in styles.items():  # one trace per method: its colour and marker in the legend
        idx = [i for i, m in enumerate(methods) if m == meth]
        fig.add_trace(go.Scatter(x=pts[x].iloc[idx], y=pts["score"].iloc[idx], mode="markers", name=meth,
                                 text=[labels[i] for i in idx], customdata=[custom[i] for i in idx],
                                 hovertemplate=hover, legendgroup=meth,
                                 marker={"size": 10, "color": colour,
                                         "symbol": [f"{symbol}-open" if untrained[i] else symbol for i in idx]}))
    if any(untrained):
        fig.add_trace(_legend_key("untrained baseline (open marker)", {"symbol": "circle-open", "color": NEUTRAL}))
    fp = pts[front].sort_values(x, kind="stable")
    fig.add_trace(go.Scatter(x=fp[x], y=fp["score"], mode="lines", name="Pareto front", text=_labels(fp),
                             customdata=[custom[i] for i in fp.index], hovertemplate=hover,
                             line={"dash": "dash", "color": NEUTRAL}))
    xs = [math.log10(v) for v in pts[x]] if log_x else [float(v) for v in pts[x]]
    ys = [float(v) for v in pts["score"]]
    x_range = padded(min(xs), max(xs), 0.06, 0.5 if log_x else 1.0)
    y_range = padded(min(ys), max(ys), 0.12, 5.0)
    best = pts["score"].sort_values(ascending=ranking_ascending(direction), kind="stable").index
    order = list(fp.index) + [i for i in best if not front[i]]
    y_title = "main score ×100" + (" (lower is better)" if direction == LOWER else "")
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=FIG_HEIGHT,
                      margin=MARGIN, legend={"orientation": "h", "y": -0.2},
                      annotations=_label_annotations(xs, ys, labels, order, x_range, y_range))
    fig.update_xaxes(type="log" if log_x else "linear", range=x_range)
    fig.update_yaxes(range=y_range)
    return fig


def score_vs_params(points: pd.DataFrame, scope: str = "") -> go.Figure:
    return score_scatter(points, "parameters", f"{scope} score vs parameter count", "parameters (log)")


def score_vs_latency(points: pd.DataFrame, scope: str = "") -> go.Figure:
    return score_scatter(points, "latency_ms", f"{scope} score vs single-input CPU latency",
                         "p50 latency, ms (log)")


def task_bars(agg: pd.DataFrame, task: Optional[str], rows: Optional[Collection[str]] = None) -> go.Figure:
    """Mean main score ×100 per row (model + method) on a task, one bar each, best first in the task's direction;
    error bars = sample std over seeds (n in the hover). ``rows``: only these row labels."""
    fig = go.Figure()
    sub = _keep(agg[agg.task == task], rows) if task else agg.iloc[0:0]
    sub = sub.sort_values("mean", ascending=ranking_ascending(_direction(sub)), kind="stable")
    if sub.empty:
        fig.update_layout(title="no task selected" if not task else f"{task}: no results")
        return fig
    names = distinct_row_labels(sub)
    methods = [str(m) for m in sub["method"]]
    palette = {m: style[0] for m, style in method_styles(methods).items()}
    folds = sub["folds"] if "folds" in sub else pd.Series(0, index=sub.index)
    custom = [[m, rev, meth, int(n), f", {int(k)} folds" if not is_missing(k) and int(k) > 1 else "",
               "yes" if u else "no"] for m, rev, meth, n, k, u in zip(sub["model"], sub["revision"], methods,
                                                                       sub["n"], folds, _untrained(sub))]
    fig.add_trace(go.Bar(x=names, y=sub["mean"] * 100, name=task, customdata=custom,
                         error_y={"type": "data", "array": (sub["std"] * 100).tolist(), "visible": True},
                         marker={"color": [palette[m] for m in methods],
                                 "pattern": {"shape": ["/" if u else "" for u in _untrained(sub)]}},
                         hovertemplate="<b>%{x}</b><br>model: %{customdata[0]} @ %{customdata[1]}<br>method: "
                                       "%{customdata[2]}<br>%{y:.1f} ± %{error_y.array:.1f} (n=%{customdata[3]}"
                                       "%{customdata[4]})<br>untrained baseline: %{customdata[5]}<extra></extra>"))
    for meth, colour in palette.items():  # the legend: what each colour and the hatching mean
        fig.add_trace(_legend_key(meth, {"symbol": "square", "color": colour}))
    if any(_untrained(sub)):
        fig.add_trace(_legend_key("untrained baseline (hatched)", {"symbol": "square-open", "color": NEUTRAL}))
    lower = " (lower is better)" if _direction(sub) == LOWER else ""
    fig.update_layout(title=f"{task}: mean ± std over seeds, best first", yaxis_title=f"main score ×100{lower}",
                      height=380, barmode="group", showlegend=True, legend={"orientation": "h", "y": 1.02,
                                                                             "x": 1, "xanchor": "right",
                                                                             "yanchor": "bottom"},
                      margin={"l": 50, "r": 20, "t": 50, "b": 80})
    fig.update_xaxes(type="category", tickangle=-30, automargin=True)
    return fig


def _left_out(table: pd.DataFrame, scope: str, x: Optional[str]) -> dict[tuple, str]:
    """(model, revision, method) -> why that table row has no point / bar for this scope (before the x check)."""
    benches = benchmarks(table)
    out = {}
    for _, r in table.iterrows():
        key = tuple(r[k] for k in RUN_KEYS)
        if scope in benches and x is not None:
            if not pd.isna(r.get(f"{scope}_avg")):
                continue
            if directions(table).get(scope) not in (HIGHER, LOWER):
                out[key] = f"{scope} mixes higher- and lower-is-better tasks, so no average"
            elif not is_missing(r.get(f"{scope}_failed")) and int(r[f"{scope}_failed"]) > 0:
                out[key] = f"failed runs in {int(r[f'{scope}_failed'])} {scope} task(s)"
            else:
                out[key] = f"partial, {r.get(f'{scope}_tasks')} {scope} tasks"
        elif pd.isna(r.get(scope)):
            failed = r.get(f"{scope}_failed")
            out[key] = "every run failed" if not is_missing(failed) and int(failed) > 0 else f"no result on {scope}"
    return out


def plot_scope(agg: pd.DataFrame, table: pd.DataFrame, scope: Optional[str], plot: str = "params",
               rows: Optional[Collection[str]] = None) -> str:
    """One Markdown line for under a plot: how many of the table's rows it shows and which it leaves out, and why
    (partial rows without a benchmark average, no result on the task, failed runs, no latency measured, hidden by
    the filters). ``plot``: one of PLOTS ('params', 'latency': the scatters on ``scope``, a benchmark or task;
    'bars': the task bars, ``scope`` their task); ``rows`` as in model_points."""
    if plot not in PLOTS:
        raise ValueError(f"unknown plot '{plot}' (one of {', '.join(PLOTS)})")
    if not scope or table.empty:
        return "_Plot scope: nothing chosen, nothing plotted._" if not scope else "_Plot scope: no results yet._"
    x = PLOTS[plot]
    kept = _keep(table, rows)
    hidden = len(table) - len(kept)
    why = _left_out(kept, scope, x)
    if x is not None:
        pts = model_points(agg, table, scope, rows)
        have = {tuple(p) for p in pts[RUN_KEYS].itertuples(index=False)}
        without_x = {tuple(p[:3]) for p in pts[RUN_KEYS + [x]].itertuples(index=False)
                     if is_missing(p[3]) or not p[3] > 0}  # a log axis: no point at 0
        why.update({k: X_NAMES[x] for k in without_x})
        why.update({tuple(r): "no score" for r in kept[RUN_KEYS].itertuples(index=False)
                    if tuple(r) not in have and tuple(r) not in why})
    labels = dict(zip(map(tuple, kept[RUN_KEYS].itertuples(index=False)), distinct_row_labels(kept)))
    shown = len(kept) - len(why)
    what = (f"the {scope} average, complete rows only" if scope in benchmarks(table) and x is not None
            else f"scores on {scope}")
    text = f"_Plot scope: {shown} of {len(table)} row(s), {what}"
    n_untrained = sum(1 for k, u in zip(labels, _untrained(kept)) if u and k not in why)
    if n_untrained:
        text += f"; untrained baselines included ({n_untrained}" + (", open circles)" if x else ", hatched)")
    gone = [f"`{labels[k]}` ({reason})" for k, reason in why.items()]
    more = f"; and {len(gone) - SHOW_NAMES} more" if len(gone) > SHOW_NAMES else ""
    text += (". Left out: " + "; ".join(gone[:SHOW_NAMES]) + more) if gone else ""
    text += (f". {hidden} row(s) hidden by the table's filters" if hidden else "") + "._"
    return text + (latency_note(model_points(agg, table, scope, rows)) if plot == "latency" else "")
