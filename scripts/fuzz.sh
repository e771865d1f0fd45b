#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, Clang 14, ASan + UBSan) in build-fuzz
# and fuzzes every target for a bounded time. The checked-in corpus is only
# read: new inputs go to a temporary working corpus, which is removed unless
# KEEP_CORPUS is set. docs/FUZZING.md explains longer campaigns and triage.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#     SECONDS   per target (default 20)
#     TARGET    e.g. jwt_verify (default: every fuzz/*_fuzzer.cc)
#
# Environment:
#   BUILD_DIR      (default build-fuzz)      CXX  (default clang++-14)
#   JOBS           targets fuzzed at once, and build parallelism (default 2)
#   RSS_LIMIT_MB   per fuzzing process (default 2048)
#   FUZZ_ARGS      extra libFuzzer flags for every target, e.g. "-jobs=4"
#   KEEP_CORPUS=1  keep the working corpora (path printed at the end)
#
# Exit status: 0 when no target found anything; 1 when one crashed, leaked,
# timed out or ran out of memory (the reproducer's path is printed, and the
# input is kept in $BUILD_DIR/artifacts/<target>/); 2 on a usage or build error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"

SECONDS_PER_TARGET="${1:-20}"
if [[ ! "$SECONDS_PER_TARGET" =~ ^[0-9]+$ || "$SECONDS_PER_TARGET" -eq 0 ]]; then
  echo "usage: $0 [SECONDS] [TARGET...]" >&2
  exit 2
fi
shift $(($# > 0 ? 1 : 0))

BUILD_DIR="${BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-2}"
RSS_LIMIT_MB="${RSS_LIMIT_MB:-2048}"
CXX_COMPILER="${CXX:-clang++-14}"
read -r -a EXTRA_ARGS <<<"${FUZZ_ARGS:-}"

if [[ $# -gt 0 ]]; then
  TARGETS=("$@")
else
  TARGETS=()
  for source in fuzz/*_fuzzer.cc; do
    name="$(basename "$source" _fuzzer.cc)"
    TARGETS+=("$name")
  done
fi
for target in "${TARGETS[@]}"; do
  if [[ ! -f "fuzz/${target}_fuzzer.cc" ]]; then
    echo "fuzz: unknown target $target (no fuzz/${target}_fuzzer.cc)" >&2
    exit 2
  fi
done

bash scripts/install-deps.sh --fuzz || exit 2
if ! command -v "$CXX_COMPILER" >/dev/null 2>&1; then
  echo "fuzz: $CXX_COMPILER not found" >&2
  exit 2
fi

echo "== fuzz: building ${TARGETS[*]} in $BUILD_DIR"
mkdir -p "$BUILD_DIR"
if ! cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX_COMPILER" -DTOKEN_FUZZ=ON >"$BUILD_DIR/configure.log" 2>&1; then
  cat "$BUILD_DIR/configure.log" >&2
  exit 2
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]/%/_fuzzer}" || exit 2

WORK="$(mktemp -d "${TMPDIR:-/tmp}/token-fuzz.XXXXXX")"
if [[ -z "${KEEP_CORPUS:-}" ]]; then
  trap 'rm -rf "$WORK"' EXIT
fi

# Symbolized reports; leaks count; any sanitizer report aborts the input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
SYMBOLIZER="$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)"
[[ -n "$SYMBOLIZER" ]] && export ASAN_SYMBOLIZER_PATH="$SYMBOLIZER"

# run_target NAME: fuzzes one target; output in $WORK/NAME.log.
run_target() {
  local name="$1"
  local binary="$ROOT/$BUILD_DIR/fuzz/${name}_fuzzer"
  local artifacts="$ROOT/$BUILD_DIR/artifacts/$name"
  local args=(
    -max_total_time="$SECONDS_PER_TARGET"
    -rss_limit_mb="$RSS_LIMIT_MB"
    -timeout=25
    -print_final_stats=1
    -artifact_prefix="$artifacts/"
  )
  [[ -f "fuzz/dict/$name.dict" ]] && args+=(-dict="$ROOT/fuzz/dict/$name.dict")
  case "$name" in
    jwt_verify | jwt_claims) args+=(-max_len=9000) ;;  # past kMaxAccessTokenBytes
    pem_load | jwks_parse) args+=(-max_len=8192) ;;
  esac
  mkdir -p "$artifacts" "$WORK/corpus/$name"
  # libFuzzer adds new inputs to the first directory only; the checked-in
  # corpus (second) is read, never written.
  "$binary" "${args[@]}" "${EXTRA_ARGS[@]}" "$WORK/corpus/$name" "$ROOT/fuzz/corpus/$name" \
    >"$WORK/$name.log" 2>&1
}

echo "== fuzz: ${#TARGETS[@]} targets x ${SECONDS_PER_TARGET}s, $JOBS at a time"
declare -A PIDS=()
failed=()
# wait_one: waits for any running target and records its result.
wait_one() {
  local done_pid name
  wait -n -p done_pid "${!PIDS[@]}" && status=0 || status=$?
  name="${PIDS[$done_pid]}"
  unset "PIDS[$done_pid]"
  report "$name" "$status"
}
report() {
  local name="$1" status="$2" log="$WORK/$1.log"
  local execs cov units
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  units="$(find "$WORK/corpus/$name" -type f | wc -l)"
  if [[ "$status" -eq 0 ]]; then
    printf 'fuzz: %-20s ok      %9s runs  cov %5s  %4s new inputs\n' \
      "$name" "${execs:-?}" "${cov:-?}" "$units"
  else
    failed+=("$name")
    printf 'fuzz: %-20s FAILED  (exit %s)\n' "$name" "$status"
    # The report: from the first sanitizer, libFuzzer or invariant message on.
    local first
    first="$(grep -n -m 1 -E '==[0-9]+==ERROR|ERROR: libFuzzer|runtime error:|fuzz invariant failed|^INFO: a leak' \
      "$log" | cut -d: -f1 || true)"
    echo "---- $name report:"
    if [[ -n "$first" ]]; then
      tail -n "+$first" "$log" | head -n 80
    else
      grep -v -e '^#[0-9]' -e '^INFO:' -e 'NEW_FUNC' "$log" | tail -n 40 || true
    fi
    echo "----"
    local reproducer
    reproducer="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    if [[ -n "$reproducer" ]]; then
      echo "fuzz: $name reproducer: $reproducer"
      echo "fuzz:   replay: $BUILD_DIR/fuzz/${name}_fuzzer $reproducer"
    fi
  fi
}

for target in "${TARGETS[@]}"; do
  while [[ ${#PIDS[@]} -ge $JOBS ]]; do wait_one; done
  run_target "$target" &
  PIDS[$!]="$target"
done
while [[ ${#PIDS[@]} -gt 0 ]]; do wait_one; done

if [[ -n "${KEEP_CORPUS:-}" ]]; then
  echo "fuzz: working corpora kept in $WORK/corpus (merge: docs/FUZZING.md)"
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET}s without a finding"
