#!/usr/bin/env bash
# The test command (README, .ci/run): set up .venv, build the plugins, run the whole suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k cross_iou
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
python -m pytest "$@"
