"""The bundled sample: what the app shows when no results are configured (a fresh Space, `python app.py`).

`SAMPLE_DIR` is a results folder made from the offline demo grid (`python -m harness run --models demo.yaml
--tasks demo`): its records, predictions and leaderboard tables, without checkpoints or job logs (well under 1 MB,
committed). Regenerate it after a record schema change:

    python -m harness run --models demo.yaml --tasks demo --output-dir outputs/demo
    python -m webapp.sample outputs/demo
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Optional

from harness.errors import HarnessError
from harness.record import RecordError, ResultRecord
from harness.results import latency_path

SAMPLE_DIR = Path(__file__).resolve().with_name("sample")
PREDICTIONS = ".predictions.jsonl.gz"

# short: on a phone the board's first rows must still show under it (how to show your own: collapsed, OWN_RESULTS_MD)
NOTICE_MD = ("**This is a bundled sample, not your results**: the offline demo grid's tiny and untrained models (MiniLM-L6 "
             "briefly fine-tuned; ERNIE, ALBERT, T5 randomly initialised) on small demo tasks. Its scores say nothing "
             "about these models, and it has no checkpoints to run.")

OWN_RESULTS_MD = """**Show your own results.** Run a grid, publish it, and point the app (or a Space) at it:

```bash
python -m harness run --models models.yaml --tasks clue --output-dir outputs/clue
python -m harness push --output-dir outputs/clue --results-repo ORG/clue-results
python -m harness space --space ORG/clue-leaderboard --results hf://datasets/ORG/clue-results
python app.py --results outputs/clue        # or --results hf://datasets/ORG/clue-results, or env RESULTS
```
Details: `docs/deploy.md` in the harness's repository (beside this app's code)."""


def is_sample(root: Path | str) -> bool:
    """Is this results folder the bundled sample?"""
    return Path(root).resolve() == SAMPLE_DIR


def checkout(src: Path) -> Path:
    """The harness checkout a demo output folder was written by: the first folder at or above it holding
    harness/ and demo.yaml (outputs/demo sits in it); this checkout otherwise."""
    here = Path(src).resolve()
    return next((p for p in (here, *here.parents) if (p / "harness").is_dir() and (p / "demo.yaml").is_file()),
                SAMPLE_DIR.parents[1])


def _relative_to(value: Any, root: Path) -> Any:
    """``value`` with every string path inside ``root`` made relative to it: the sample travels (the Space, the
    repository) and carries no machine's folders."""
    if isinstance(value, dict):
        return {k: _relative_to(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative_to(v, root) for v in value]
    if isinstance(value, str) and value.startswith(f"{root}{os.sep}"):
        return value[len(str(root)) + 1:]
    return value


def regenerate(src: Path | str, dest: Path | str = SAMPLE_DIR) -> int:
    """Rebuild the sample at ``dest`` from a demo-grid output folder: every record (checkpoint fields cleared: the
    sample ships none), its predictions and its measured latency, then the leaderboard tables. Returns the sample's size in bytes.
    HarnessError when ``src`` has no readable results."""
    from leaderboard.report import write_tables

    src, dest = Path(src), Path(dest)
    files = sorted(p for p in (src / "results").rglob("seed*.json")) if (src / "results").is_dir() else []
    if not files:
        raise HarnessError(f"{src}: no result files under results/ (run the demo grid first)")
    staging = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for path in files:
        try:
            rec = ResultRecord.read(path)
        except RecordError as e:
            raise HarnessError(f"sample: {e}") from None
        rel = path.relative_to(src)
        raw = _relative_to(rec.model_copy(update={"checkpoint": None}).model_dump(mode="json"), checkout(src))
        ResultRecord.model_validate(raw).write(staging / rel)
        for extra in (path.with_name(path.stem + PREDICTIONS), latency_path(path)):  # its evidence, its latency
            if extra.is_file():
                shutil.copyfile(extra, staging / rel.with_name(extra.name))
    write_tables(staging)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.sample", description="regenerate the bundled sample")
    parser.add_argument("output_dir", type=Path, help="a demo-grid output folder (results/)")
    args = parser.parse_args(argv)
    try:
        size = regenerate(args.output_dir)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"sample: {SAMPLE_DIR} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
