#!/usr/bin/env bash
# Installs dependencies if needed, configures and builds.
#   BUILD_DIR (default: build)  JOBS (default: 2)
# Extra arguments go to `cmake --build`, e.g. scripts/build.sh --target token-server
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"

bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j "$JOBS" "$@"
