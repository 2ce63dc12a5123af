"""Named wiring: an event's inputs and outputs are mappings name -> component (or name -> a list of components, e.g.
a form's input boxes), and its handler takes the input values as keyword arguments and returns a dict by output
name. Gradio's positional lists are derived here, in the mappings' order, so a public endpoint's argument order is
its inputs mapping's order and nothing else counts positions."""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Optional

from harness.errors import HarnessError
from harness.kinds import InputError

log = logging.getLogger(__name__)
Components = Mapping[str, Any]  # name -> component, or name -> list of components


def flat(components: Components) -> list[Any]:
    """The components in the mapping's order (a list entry expanded in place): Gradio's inputs or outputs list."""
    out: list[Any] = []
    for c in components.values():
        out += list(c) if isinstance(c, (list, tuple)) else [c]
    return out


def by_name(components: Components, values: tuple) -> dict[str, Any]:
    """Positional values (in flat(components) order) back to a dict by name; a list entry gets a list of values (the
    last one also takes any extra values a direct caller passes, e.g. more input boxes than the page has)."""
    out: dict[str, Any] = {}
    i, names = 0, list(components)
    for n, (name, c) in enumerate(components.items()):
        if isinstance(c, (list, tuple)):
            end = len(values) if n == len(names) - 1 else i + len(c)
            out[name], i = list(values[i:end]), end
        else:
            out[name], i = (values[i] if i < len(values) else None), i + 1
    return out


def as_tuple(components: Components, got: Mapping[str, Any]) -> tuple:
    """A handler's dict by output name as Gradio's tuple in flat(components) order (a name it leaves out: None)."""
    out: list[Any] = []
    for name, c in components.items():
        if isinstance(c, (list, tuple)):
            vals = list(got.get(name) or [])
            out += [vals[i] if i < len(vals) else None for i in range(len(c))]
        else:
            out.append(got.get(name))
    return tuple(out)


def bind(fn: Callable[..., Mapping[str, Any]], inputs: Components, outputs: Components,
         msg: Optional[str] = None) -> Callable[..., Any]:
    """A Gradio handler for ``fn(**inputs by name) -> {output name: value}`` (a single output's value bare, as Gradio
    wants it). ``msg``: the output a user error (or any error) is shown in as one line, the other outputs cleared
    (None), so the app keeps serving."""
    single = len(flat(outputs)) == 1

    def handler(*values: Any) -> Any:
        try:
            got = as_tuple(outputs, fn(**by_name(inputs, values)))
            return got[0] if single else got
        except (InputError, HarnessError) as e:
            if msg is None:
                raise
            line = f"⚠ {e}"
        except Exception as e:  # noqa: BLE001 - keep serving whatever happens
            if msg is None:
                raise
            log.exception("handler failed")
            line = f"⚠ internal error: {type(e).__name__}: {str(e)[:200]}"
        got = as_tuple(outputs, {msg: line})
        return got[0] if single else got
    handler.__name__ = getattr(fn, "__name__", "handler")
    return handler


def event(trigger: Callable[..., Any], fn: Callable[..., Mapping[str, Any]], inputs: Components,
          outputs: Components, msg: Optional[str] = None, **kwargs: Any) -> Any:
    """``trigger`` (e.g. a button's .click) wired to ``fn`` by name (see bind); kwargs as Gradio's (api_name, ...)."""
    return trigger(bind(fn, inputs, outputs, msg), flat(inputs), flat(outputs), **kwargs)


def bound(fn: Callable[..., Mapping[str, Any]], inputs: Components, outputs: Components,
          msg: Optional[str] = None) -> tuple[Callable[..., Any], list[Any], list[Any]]:
    """(handler, inputs, outputs) for a Gradio event or a chained .then(*bound(...)), bound by name (see bind)."""
    return bind(fn, inputs, outputs, msg), flat(inputs), flat(outputs)
