#!/usr/bin/env bash
# Builds everything and runs the whole test suite. Tests start their own
# throwaway PostgreSQL servers; nothing needs to be running beforehand.
#   BUILD_DIR (default: build)  JOBS (default: 2)
# Extra arguments go to ctest, e.g. scripts/test.sh -R harness
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"
export BUILD_DIR JOBS

bash scripts/build.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600 "$@"
