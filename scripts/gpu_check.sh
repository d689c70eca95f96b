#!/usr/bin/env bash
# One command that proves a GPU machine (docs/tensorrt.md, "One command for a GPU machine"):
#
#   scripts/gpu_check.sh [--out DIR] [--wheels DIR]
#
# On a machine with an NVIDIA GPU, its driver, the CUDA toolkit (nvcc) and PyTorch with CUDA — no
# network needed; wheels for anything else (pycocotools, onnx-graphsurgeon, …) from --wheels DIR:
#   1. environment: .venv (with the system's site packages, so its CUDA PyTorch is used), lsnet-trt
#      installed without touching what is there, missing packages from the wheel folder;
#   2. build: the twins, the CUDA kernels for this GPU (default architectures: `native`), their
#      Python module, and the TensorRT plugin library where TensorRT headers are found;
#   3. `lsnet checks`; every GPU and TensorRT test that can run here;
#   4. measurements: the pyramid-DCN kernel beside torchvision's deform_conv2d at R-50 head sizes,
#      the PyTorch R-50 at 800×1344 (FP32, AMP), its TensorRT engine where TensorRT exists, 50 AMP
#      training iterations;
#   5. DIR/gpu-report.md and DIR/gpu-report.json, saying what could not run and why.
# Without a GPU it writes the same report saying so (exit 0). With one, the exit status is 1 when
# the build, a test or a measurement failed. Budget: 8 minutes on one data-centre GPU.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/gpu_check_out"
WHEELS="${LSNET_WHEELS:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --wheels) WHEELS="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $1 (scripts/gpu_check.sh --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
cd "$ROOT"
START=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - START )) s)"; }
elapsed() { echo $(( $(date +%s) - START )); }

# ---- is there a GPU? ----------------------------------------------------------------------------
NO_GPU=""
if [ -f /etc/nv_tegra_release ]; then
  :  # Jetson: an integrated GPU, no nvidia-smi on JetPack 6
elif ! command -v nvidia-smi >/dev/null; then
  NO_GPU="no NVIDIA driver here (nvidia-smi not found)"
elif ! nvidia-smi -L 2>/dev/null | grep -q "^GPU "; then
  NO_GPU="nvidia-smi lists no GPU"
fi
if [ -n "$NO_GPU" ]; then
  step "no GPU: $NO_GPU — writing the report without GPU parts"
  PY=python3
  if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; fi
  "$PY" scripts/gpu_check.py report --out "$OUT" --no-gpu "$NO_GPU" --seconds "$(elapsed)"
  exit 0
fi
nvidia-smi -L 2>/dev/null || true

# ---- 1. environment -----------------------------------------------------------------------------
step "environment (.venv with the system packages; wheels from: ${WHEELS:-the package index})"
PIP_SOURCE=()
if [ -n "$WHEELS" ]; then PIP_SOURCE=(--no-index --find-links "$WHEELS"); fi
VENV="${LSNET_VENV:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then "${PYTHON:-python3}" -m venv --system-site-packages "$VENV"; fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
python -c "import lsnet" 2>/dev/null \
  || python -m pip install --quiet "${PIP_SOURCE[@]}" --no-deps -e "$ROOT" \
  || echo "== could not install lsnet-trt itself (with --wheels, the folder needs a setuptools>=77 wheel)"
mapfile -t MISSING < <(python scripts/gpu_check.py missing)
for requirement in "${MISSING[@]}"; do  # one at a time: a wheel the folder lacks blocks only its own package
  python -m pip install --quiet "${PIP_SOURCE[@]}" "$requirement" \
    && echo "== installed $requirement" \
    || echo "== $requirement did not install; what needs it is reported as not run"
done
export LSNET_WHEELS="$WHEELS"

# ---- 2. build -------------------------------------------------------------------------------------
step "build: twins, CUDA kernels for this GPU, plugin library where TensorRT headers are"
( LSNET_BUILD_PLUGINS=1 source scripts/setup_env.sh ) > "$OUT/build.log" 2>&1
echo $? > "$OUT/build.rc"
grep "^== " "$OUT/build.log" || true

# ---- 3. checks and tests --------------------------------------------------------------------------
step "lsnet checks"
lsnet checks --json "$OUT/checks.json" | tee "$OUT/checks.txt" || true
step "GPU and TensorRT tests"
LSNET_REQUIRE_TWINS=$([ "$(cat "$OUT/build.rc")" = 0 ] && echo 1 || echo 0) \
  python -m pytest tests/plugins/test_cuda_kernels.py tests/plugins/test_plugin_build.py tests/gpu \
  tests/test_environment.py -rs -p no:cacheprovider --junitxml "$OUT/pytest.xml" 2>&1 | tee "$OUT/pytest.log" | tail -n 30

# ---- 4. measurements -------------------------------------------------------------------------------
step "measurements"
python scripts/gpu_check.py measure --out "$OUT" 2>&1 | tee "$OUT/measure.log" | grep -v "^\s*$" | tail -n 40

# ---- 5. report ---------------------------------------------------------------------------------------
step "report"
python scripts/gpu_check.py report --out "$OUT" --seconds "$(elapsed)"
STATUS=$?
echo "== done in $(elapsed) s: $OUT/gpu-report.md"
exit $STATUS
