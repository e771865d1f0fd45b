#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (GCC,
# -O1) in build-asan and runs the whole CTest suite there. The token-server
# the end-to-end tests start is the sanitized one from the same tree, and a
# server that does not exit 0 on SIGTERM (a sanitizer report at exit, a
# crash) fails its test. Any report fails the run: leaks included, UBSan
# halts. Leak suppressions, for third-party code only, each with its reason:
# scripts/lsan-suppressions.txt.
#   BUILD_DIR (default: build-asan)  JOBS (default: 2)
#   SANITIZE_DEBUG (default: -g1; -g for inlined frames in reports)
# Extra arguments go to ctest, e.g. scripts/sanitize.sh -R e2e
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

BUILD_DIR="${BUILD_DIR:-build-asan}"
JOBS="${JOBS:-2}"

bash scripts/install-deps.sh
# -O1 -g1: line tables are enough for symbolized reports, and compile about
# a quarter faster than -g (which adds inlined frames to the stacks; set
# SANITIZE_DEBUG=-g for those).
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 ${SANITIZE_DEBUG:--g1} -DNDEBUG" \
  -DTOKEN_SANITIZE=address,undefined
cmake --build "$BUILD_DIR" -j "$JOBS"

# Inherited by every sanitized process, including the servers tests start.
# abort_on_error: a report ends the process with SIGABRT, never a quiet exit.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan-suppressions.txt:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900 "$@"
