#!/usr/bin/env bash
# README command 1, the demo: from a fresh clone, on a CPU, with the committed trained model:
# synthetic data and video → ONNX export → COCO AP on ONNX Runtime → annotated video + frame
# sheet → benchmark table (ONNX Runtime beside PyTorch). Outputs go to demo_out/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
OUT="${LSNET_DEMO_OUT:-demo_out}"
MODEL="models/lsnet_bbox_r10_synth.pt"
mkdir -p "$OUT"
START=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - START )) s)"; }

step "synthetic val set (the split the committed model was evaluated on) and a synthetic video"
lsnet data synth --task bbox --out "$OUT/data" --train 0 --val 200
lsnet data video --task bbox --out "$OUT/video.mp4" --frames 300 --size 320 256 --seed 1

step "export the committed checkpoint to a portable ONNX model"
lsnet export onnx "$MODEL" --out "$OUT/model.onnx"

step "COCO box AP on ONNX Runtime (CPU)"
lsnet eval "$OUT/model.onnx" --data "$OUT/data" --json "$OUT/eval.json"

step "detect on the video with ONNX Runtime"
lsnet infer "$OUT/model.onnx" "$OUT/video.mp4" --out "$OUT/annotated.mp4" --sheet "$OUT/frames.png"

# 100 interleaved rounds and the pipeline on 60 frames, one CPU thread per backend: seconds on a quiet
# 2-core machine. With two threads each, PyTorch's threads wait for each other whenever another process
# holds a core, and on a shared 2-core machine the spread is too wide to trust (README, "Results").
# On a busy machine the time limit keeps the step short (and bench warns that its figures are not to be trusted).
step "benchmark: ONNX Runtime beside PyTorch"
lsnet bench "$OUT/model.onnx" --checkpoint "$MODEL" --video "$OUT/video.mp4" --runs 100 --warmup 5 --frames 60 \
  --threads 1 --time-limit 30 --json "$OUT/bench.json"

step "done"
echo "wrote $OUT/annotated.mp4 (annotated video), $OUT/frames.png (frame sheet), $OUT/eval.json, $OUT/bench.json"
echo "next: scripts/test.sh (the tests) | lsnet export patch $OUT/model.onnx --out $OUT/model.trt.onnx | README: TensorRT"
