#!/usr/bin/env bash
# Fault tests (docs/RELIABILITY.md): builds token-server and the fault test
# binaries, runs them, and prints every scenario's figures.
#
#   scripts/fault-test.sh          short: what CI runs (ctest -L fault), a few
#                                  seconds of load per scenario, ~2 minutes
#   scripts/fault-test.sh long     TOKEN_FAULT_LONG=1: five PostgreSQL crashes
#                                  of 10 s, a minute of killed connections,
#                                  20 s per slow-database phase, a minute of
#                                  lost responses, 30 s of overload, a
#                                  5-minute soak, a minute of replica races;
#                                  about 14 minutes
#
# Each scenario's figures are also written, one JSON line per scenario, to
# $BUILD_DIR/fault-report-<mode>.jsonl, and summarised as a table at the end.
# Each test binary starts its own throwaway PostgreSQL and token-servers.
#   BUILD_DIR (default: build)  JOBS (default: 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODE="${1:-short}"
case "$MODE" in
  short | long) ;;
  *)
    echo "usage: $0 [short|long]" >&2
    exit 2
    ;;
esac

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-2}"
export BUILD_DIR JOBS
BINARIES=(pool_feed_fault_test fault_database_test fault_network_test fault_load_test
          fault_replica_test)

bash scripts/build.sh --target token-server "${BINARIES[@]}"

REPORT="$(pwd)/$BUILD_DIR/fault-report-$MODE.jsonl"
rm -f "$REPORT"
export TOKEN_FAULT_REPORT="$REPORT"

status=0
if [[ "$MODE" == short ]]; then
  ctest --test-dir "$BUILD_DIR" -L fault --output-on-failure || status=$?
else
  # Longer than the CTest timeouts allow: each binary runs directly, bounded
  # by `timeout`, its output kept beside the report.
  export TOKEN_FAULT_LONG=1
  for binary in "${BINARIES[@]}"; do
    log="$BUILD_DIR/fault-$binary-long.log"
    echo "== $binary (output: $log)"
    if ! timeout 3600 "$BUILD_DIR/tests/fault/$binary" 2>&1 | tee "$log"; then
      status=1
    fi
  done
fi

# One line per scenario: the figures docs/RELIABILITY.md records.
if [[ -s "$REPORT" ]]; then
  echo
  echo "== fault scenarios ($MODE): $REPORT"
  /usr/bin/python3 - "$REPORT" <<'EOF'
import json, sys
keys = ["load_calls", "load_ok", "load_deliberate_replays_refused", "load_errors_by_code",
        "faults_injected", "invariant_violations"]
print("| scenario | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 1) + "|")
for line in open(sys.argv[1]):
    row = json.loads(line)
    print("| " + row["scenario"] + " | " + " | ".join(row.get(k, "") for k in keys) + " |")
EOF
fi
exit "$status"
