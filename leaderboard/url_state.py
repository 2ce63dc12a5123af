"""The leaderboard's filter and sort state in the page URL, so a reviewer can share a view.

The page declares its controls' query parameters and types (``Params``, in its controls' order). It
writes them with ``history.replaceState`` on every change (``write_js``, run in the browser, no round trip); on
load ``from_query`` turns the query string back into control values, keeping only values the controls offer (an
unknown value in a shared link is dropped, never an error). No Gradio here.
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping, Optional, Sequence

Params = Sequence[tuple[str, str, str]]  # (query parameter, control, type), in the controls' order; type: "list" =
# comma-separated picks, "num", "text", "bool" (1/0), "choice"

# Runs in the browser with the controls' values (params order); writes the non-default ones to the URL and returns
# nothing (no outputs). Lists are joined with commas (values never hold commas: names and licences are checked in
# from_query).
_JS = """(...values) => {
  const spec = %s, defaults = %s;
  const url = new URL(window.location.href);
  spec.forEach(([param, control, type], i) => {
    let v = values[i];
    const d = defaults[control];
    let s = null;
    if (type === "list") {
      s = (v && v.length) ? v.join(",") : null;
      if (d && JSON.stringify(v) === JSON.stringify(d)) s = null;
    }
    else if (type === "bool") { s = (d !== undefined && !!v === d) ? null : (v ? "1" : "0"); }
    else if (type === "num") {
      s = (v === null || v === undefined || v === "" || Number.isNaN(v) || v === 0) ? null : String(v);
    }
    else { s = v ? String(v) : null; }
    if (s === null) url.searchParams.delete(param); else url.searchParams.set(param, s);
  });
  window.history.replaceState(null, "", url.toString());
  return [];
}"""


def write_js(params: Params, defaults: Mapping[str, Any]) -> str:
    """The browser function that writes the controls' non-default values (``defaults``: control -> its default, for
    lists and booleans) to the page URL."""
    return _JS % (json.dumps([list(p) for p in params]), json.dumps(dict(defaults)))


def _num(text: str) -> Optional[float]:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) and v != 0 else None  # 0: unset (no bound), as the boxes treat it


def from_query(query: Mapping[str, str], options: Mapping[str, Sequence[Any]], params: Params) -> dict[str, Any]:
    """Control values from a query string (``request.query_params``): control -> value, for the parameters present
    (the rest keep their defaults). ``options``: control -> the values it offers (lists and choices are checked
    against them; columns too)."""
    out: dict[str, Any] = {}
    for param, control, typ in params:
        if param not in query:
            continue
        raw = str(query[param])
        if typ == "list":
            allowed = {str(o) for o in options.get(control, [])}
            out[control] = [v for v in raw.split(",") if v in allowed]
        elif typ == "num":
            out[control] = _num(raw)
        elif typ == "bool":
            out[control] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif typ == "choice":
            out[control] = raw if raw in {str(o) for o in options.get(control, [])} else None
        else:
            out[control] = raw[:200]
    return out
