#!/usr/bin/env bash
# Sourced by demo.sh, test.sh and gpu_check.sh: a virtual environment in .venv with lsnet-trt
# installed (editable, with the train/export/test extras); with LSNET_BUILD_PLUGINS=1 also the
# plugin CPU twins and, where nvcc is present, the CUDA kernels (and, where CMake finds TensorRT
# headers — $TensorRT_ROOT or JetPack's — the TensorRT plugin library), built with CMake.
#
# On a GPU machine it also installs what the GPU tests use: pycuda and cuda-python where a GPU
# and the CUDA toolkit (nvcc) are present, for the driver's CUDA release. TensorRT itself comes
# from NVIDIA (docs/tensorrt.md): installed in the system Python (JetPack) it is used through
# the environment's system site packages; installed with pip into .venv it is used as it is.
#
# Environment: PYTHON (interpreter for a new .venv), LSNET_VENV, LSNET_WHEELS (a folder of wheels:
# install from it only, for machines without network), LSNET_BUILD_PLUGINS, LSNET_CUDA_ARCHS
# (override the CUDA architectures), LSNET_BUILD_CUDA=OFF, TensorRT_ROOT, LSNET_REBUILD=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LSNET_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
PIP_SOURCE=()
if [ -n "${LSNET_WHEELS:-}" ]; then PIP_SOURCE=(--no-index --find-links "$LSNET_WHEELS"); fi

if [ ! -x "$VENV/bin/python" ]; then
  # Keep what the system Python already has that pip cannot give as well: a CUDA build of
  # PyTorch, JetPack's TensorRT.
  SYSTEM_SITE=()
  if "$PYTHON" -c "import torch" 2>/dev/null || "$PYTHON" -c "import tensorrt" 2>/dev/null; then
    SYSTEM_SITE=(--system-site-packages)
  fi
  echo "== creating $VENV ${SYSTEM_SITE[*]}"
  "$PYTHON" -m venv "${SYSTEM_SITE[@]}" "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
# Installed when this checkout's pyproject.toml is not the one the environment was installed from
# (new dependencies reach existing environments), or lsnet-trt itself is missing. Imported from /,
# where the checkout's own `lsnet` folder cannot stand in for the installed package.
STAMP="$VENV/.lsnet-installed"
WANT="$ROOT $(python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$ROOT/pyproject.toml")"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ] \
   || ! (cd / && python -c "import lsnet.runtime, lsnet.export, torch, onnxruntime, pybind11" 2>/dev/null); then
  echo "== installing lsnet-trt and its dependencies (torch comes from the local wheel cache where there is one)"
  [ -n "${LSNET_WHEELS:-}" ] || python -m pip install --quiet --upgrade pip
  python -m pip install --quiet "${PIP_SOURCE[@]}" -e "$ROOT[dev]"
  echo "$WANT" > "$STAMP"
fi

# A GPU (nvidia-smi lists one, or a Jetson) and nvcc: the packages the GPU/TensorRT tests use.
gpu_present() { { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q "^GPU "; } || [ -f /etc/nv_tegra_release ]; }
if gpu_present && command -v nvcc >/dev/null; then
  DRIVER_CUDA="$( (nvidia-smi 2>/dev/null || true) | sed -n 's/.*CUDA Version: \([0-9]*\)\..*/\1/p' | head -n1)"
  DRIVER_CUDA="${DRIVER_CUDA:-$(nvcc --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')}"
  if ! python -c "import pycuda, cuda.bindings" 2>/dev/null && ! python -c "import pycuda, cuda.cuda" 2>/dev/null; then
    echo "== GPU and nvcc found: installing pycuda and cuda-python for CUDA $DRIVER_CUDA (TensorRT backend, CUDA graphs)"
    python -m pip install --quiet "${PIP_SOURCE[@]}" "pycuda>=2024.1" "cuda-python==$DRIVER_CUDA.*" \
      || echo "== note: pycuda / cuda-python did not install; the TensorRT tests will skip with that reason"
  fi
fi

[ "${LSNET_BUILD_PLUGINS:-0}" = "1" ] || return 0

# The plugin code: twins (host compiler), CUDA kernels and their module (nvcc), plugin library
# (nvcc + TensorRT headers). Configured every time — quick on an existing build — so that a new
# TensorRT_ROOT or newly installed headers are picked up.
BUILD="$ROOT/build"
CMAKE_ARGS=(-S "$ROOT" -B "$BUILD" -DPython_EXECUTABLE="$(command -v python)")
if [ -n "${LSNET_CUDA_ARCHS:-}" ]; then CMAKE_ARGS+=(-DCMAKE_CUDA_ARCHITECTURES="$LSNET_CUDA_ARCHS"); fi
if [ "${LSNET_BUILD_CUDA:-}" = "OFF" ]; then CMAKE_ARGS+=(-DLSNET_BUILD_CUDA=OFF); fi
if [ -n "${TensorRT_ROOT:-}" ]; then CMAKE_ARGS+=(-DTensorRT_ROOT="$TensorRT_ROOT"); fi
if [ "${LSNET_REBUILD:-0}" = "1" ]; then rm -rf "$BUILD"; fi
mkdir -p "$BUILD"
quietly() { "$@" > "$BUILD/last-step.log" 2>&1 || { tail -n 40 "$BUILD/last-step.log"; echo "failed: $*"; exit 1; }; }
echo "== configuring the plugin build in $BUILD"
quietly cmake "${CMAKE_ARGS[@]}"
sed -n 's/^-- lsnet: /== /p' "$BUILD/last-step.log"
if grep -q "CUDA found, TensorRT headers not found" "$BUILD/last-step.log"; then
  echo "== note: CUDA found, TensorRT headers not found: the TensorRT plugin library is not built"
  echo "   (set TensorRT_ROOT to the headers of your TensorRT release: docs/tensorrt.md, 'TensorRT headers')"
fi
echo "== building the plugin CPU twins$(command -v nvcc >/dev/null && [ "${LSNET_BUILD_CUDA:-ON}" != OFF ] && echo ', CUDA kernels') (log: $BUILD/last-step.log)"
quietly cmake --build "$BUILD" -j"$(nproc)"
