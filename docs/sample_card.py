"""Render docs/samples/model_card.md: the model card `push` writes for one checkpoint of an output folder,
rendered without the Hub (no base-model licence lookup), from the demo grid:

    python -m harness run --models demo.yaml --tasks demo --output-dir outputs/demo
    python docs/sample_card.py outputs/demo
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "samples" / "model_card.md"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path, help="a harness output folder with kept checkpoints")
    parser.add_argument("--model", default="minilm-l6-h384", help="the checkpoint's model (default %(default)s)")
    parser.add_argument("--task", default="demo_sentiment", help="the checkpoint's task (default %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the card (default %(default)s)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from harness.publish.cards import render_card
    from harness.publish.plan import make_plan
    from harness.publish.push import hub_licence, package_licence

    plan = make_plan(args.output_dir, "ORG/results", "best", None)  # what `push --checkpoints best` would publish
    found = [c for c in plan.checkpoints if (c.record.job.model, c.record.job.task) == (args.model, args.task)]
    if not found:
        parser.error(f"{args.output_dir}: no kept checkpoint of {args.model} on {args.task}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    info = found[0].record.model_info  # the licence as push finds it without the Hub: models file, then package
    licence = hub_licence(info.license) or package_licence(info.id)
    args.out.write_text(render_card(found[0], licence), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
