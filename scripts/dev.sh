#!/usr/bin/env bash
# Builds the server and runs it in the foreground against the development
# database of this checkout (see scripts/dev-db.sh), with keys in
# $TOKEN_DATA_DIR/keys (default .data/keys; --generate-keys writes a dev key
# and refresh-secret there on first start). Arguments are passed to token-server and win over the defaults here.
# Ctrl-C or SIGTERM stops the server, then the PostgreSQL this run started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR="${BUILD_DIR:-build}"
export BUILD_DIR
bash scripts/build.sh --target token-server

# shellcheck source=scripts/dev-db.sh
source scripts/dev-db.sh

server_pid=""
server_rc=""

# shellcheck disable=SC2317  # Invoked through trap.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    if wait "$server_pid"; then rc=0; else rc=$?; fi
  elif [[ -n "$server_rc" ]]; then
    rc="$server_rc"
  fi
  if [[ "$DEVDB_STARTED" == 1 ]]; then
    devdb_stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
# The handlers exit, which runs cleanup: it forwards SIGTERM to the server,
# waits for it to drain and exits with its status.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

devdb_start

"$BUILD_DIR/server/token-server" \
  --key-dir "$DEVDB_DATA_DIR/keys" \
  --generate-keys \
  --database-url "$(devdb_url)" \
  "$@" &
server_pid=$!
if wait "$server_pid"; then server_rc=0; else server_rc=$?; fi
# wait returns early (>128) when a trapped signal arrives; then the trap runs.
exit "$server_rc"
