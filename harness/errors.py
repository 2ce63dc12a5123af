"""User-facing errors: one clear line, exit code 2, no traceback."""
from __future__ import annotations

import difflib
from typing import Iterable


class LeftOut(Exception):
    """A data row the task's own policy leaves out (e.g. `duplicate_choices: drop`): the loader counts it and says
    so; the message is the reason, the same for every such row."""


class HarnessError(Exception):
    """An error the user caused (bad config, unknown name, bad data). The CLI prints it on one line."""

    exit_code = 2


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or a list of valid choices."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f" (did you mean '{close[0]}'?)"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f" (expected one of: {shown})"


class ConnectionLost(HarnessError):
    """The cluster the jobs ran on went away (its head node, or this machine's connection to it): what finished is
    kept, the rest runs on the next `run`. Its own exit code, so a script can tell it from "some jobs failed" (1)."""

    exit_code = 3
