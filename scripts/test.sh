#!/usr/bin/env bash
# The test command (README, .ci/run): set up .venv, build the plugins, run the whole suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k cross_iou
# On a GPU machine setup_env.sh also installs pycuda and cuda-python and builds the kernels for the
# GPU, so the GPU tests run; with TensorRT installed and its headers found (TensorRT_ROOT, JetPack)
# the plugin library is built and the TensorRT tests run too. Elsewhere they skip with the reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LSNET_BUILD_PLUGINS=1
# shellcheck disable=SC1091
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export LSNET_REQUIRE_TWINS=1  # built just above: a missing twin module must fail, not skip
python -m pytest "$@"
