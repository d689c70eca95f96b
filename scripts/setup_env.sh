#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: a virtual environment in .venv with lsnet-trt installed
# (editable, with the train/export/test extras); with LSNET_BUILD_PLUGINS=1 also the plugin CPU
# twins (and, where nvcc is present, the CUDA kernels) built with CMake.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LSNET_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
if ! python -c "import lsnet, torch, onnxruntime, pybind11" 2>/dev/null; then
  echo "== installing lsnet-trt and its dependencies (torch comes from the local wheel cache where there is one)"
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e "$ROOT[dev]"
fi

[ "${LSNET_BUILD_PLUGINS:-0}" = "1" ] || return 0

# CPU twins of the TensorRT plugins (and, where nvcc is present, the CUDA kernels).
BUILD="$ROOT/build"
CMAKE_ARGS=(-S "$ROOT" -B "$BUILD" -DPython_EXECUTABLE="$(command -v python)")
if [ -n "${LSNET_CUDA_ARCHS:-}" ]; then CMAKE_ARGS+=(-DCMAKE_CUDA_ARCHITECTURES="$LSNET_CUDA_ARCHS"); fi
if [ "${LSNET_BUILD_CUDA:-}" = "OFF" ]; then CMAKE_ARGS+=(-DLSNET_BUILD_CUDA=OFF); fi
mkdir -p "$BUILD"
quietly() { "$@" > "$BUILD/last-step.log" 2>&1 || { tail -n 40 "$BUILD/last-step.log"; echo "failed: $*"; exit 1; }; }
if [ ! -f "$BUILD/CMakeCache.txt" ] || [ "${LSNET_REBUILD:-0}" = "1" ]; then
  echo "== configuring the plugin build in $BUILD"
  quietly cmake "${CMAKE_ARGS[@]}"
fi
echo "== building the plugin CPU twins$(command -v nvcc >/dev/null && [ "${LSNET_BUILD_CUDA:-ON}" != OFF ] && echo ' and CUDA kernels')"
quietly cmake --build "$BUILD" -j"$(nproc)"
