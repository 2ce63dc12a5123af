#!/usr/bin/env bash
# Build the decision (racing) replay grid: 6 rows x 3 GLUE tasks x 10 seeds = 180 runs, into OUT (default
# ../grid-out, outside the repo), then bench/decision/extract.py makes bench/decision/grid.json.gz from it.
# As run for the committed grid (2-core CPU shared with other work):
#   nohup /usr/bin/time -v nice -n 10 bash bench/decision/build_grid.sh > ../grid-out.log 2>&1 &
# Training budget per row: bench/decision/models.yaml (max_steps, learning_rate); batch 16, max_length 64, the last
# weights (no validation split, no per-epoch evaluation), test sets capped at 500 examples (sst2 500 of 872; mrpc
# 408 and rte 277 are whole), the first 2000 training rows. A rerun skips finished runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-../grid-out}
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/data}
export HF_HUB_OFFLINE=1
COMMON=(--models bench/decision/models.yaml --tasks sst2,mrpc,rte --data-dir "$DATA" --output-dir "$OUT"
        --seeds 1,2,3,4,5,6,7,8,9,10 --max-train-samples 2000 --max-eval-samples 500 --batch-size 16
        --set selection=last --set max_length=64 --keep-checkpoints none --workers 2 --threads-per-job 1 --quiet)
start=$(date +%s)
echo "start $(date -u +%FT%TZ)"
"$PY" -m harness run "${COMMON[@]}" --methods finetune \
    --only-models minilm-lr1e-4,minilm-lr5e-5,bert-random-wp,bert-random-small,ernie-random-small
"$PY" -m harness run "${COMMON[@]}" --methods lora --only-models minilm-lr5e-4
end=$(date +%s)
echo "end $(date -u +%FT%TZ) wall_s $((end - start))"
echo "{\"start\": $start, \"end\": $end, \"wall_s\": $((end - start))}" > "$OUT/build_time.json"
