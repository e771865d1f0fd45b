#!/usr/bin/env bash
# The development PostgreSQL of this checkout.
#
#   scripts/dev-db.sh start    initdb on first use, start unless already running
#   scripts/dev-db.sh stop     fast shutdown (if running)
#   scripts/dev-db.sh status   exit 0 when running
#   scripts/dev-db.sh url      print the libpq connection string
#
# Data lives in $TOKEN_DATA_DIR/pg (default: .data/pg at the repository root)
# and the server listens only on a unix socket in $TOKEN_DATA_DIR/run: no TCP
# port, nothing system-wide. Superuser and database are both "token", with
# trust authentication; the socket directory is private (mode 0700).
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# Debian `postgres` user and its commands run through runuser. If that user
# cannot reach $TOKEN_DATA_DIR (e.g. a checkout under /root), the cluster and
# its socket go to /var/tmp/token-dev-<hash of the data dir> instead, and a
# note says so.
#
# Other scripts can `source` this file and call devdb_start / devdb_stop /
# devdb_url; devdb_start sets DEVDB_STARTED=1 when it started the server.

devdb_init_vars() {
  local repo_root
  repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  DEVDB_DATA_DIR="${TOKEN_DATA_DIR:-$repo_root/.data}"
  mkdir -p "$DEVDB_DATA_DIR"
  DEVDB_DATA_DIR="$(cd "$DEVDB_DATA_DIR" && pwd)"
  DEVDB_USER=token
  DEVDB_NAME=token
  DEVDB_PORT=5432
  DEVDB_STARTED="${DEVDB_STARTED:-0}"

  if [[ -n "${PG_BINDIR:-}" ]]; then
    DEVDB_BINDIR="$PG_BINDIR"
  elif [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    DEVDB_BINDIR=/usr/lib/postgresql/15/bin
  else
    DEVDB_BINDIR="$(pg_config --bindir 2>/dev/null || true)"
  fi
  if [[ ! -x "$DEVDB_BINDIR/initdb" ]]; then
    echo "dev-db: PostgreSQL 15 server binaries not found; run scripts/install-deps.sh" >&2
    return 1
  fi

  DEVDB_AS_PG=()
  local base="$DEVDB_DATA_DIR"
  if [[ "$(id -u)" -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "dev-db: running as root but there is no 'postgres' user; run scripts/install-deps.sh" >&2
      return 1
    fi
    DEVDB_AS_PG=(runuser -u postgres --)
    # .data itself is ours: let postgres pass through it (keys/ keeps its own mode).
    chmod o+x "$DEVDB_DATA_DIR"
    if ! (cd / && runuser -u postgres -- test -x "$DEVDB_DATA_DIR"); then
      base="$(devdb_fallback_dir)"
      echo "dev-db: note: the postgres user cannot reach $DEVDB_DATA_DIR;" \
        "keeping PostgreSQL data in $base instead" >&2
    fi
  fi
  # A unix socket path is limited to 107 bytes.
  if [[ ${#base} -gt 80 ]]; then
    base="$(devdb_fallback_dir)"
    echo "dev-db: note: $DEVDB_DATA_DIR is too long a path for a unix socket;" \
      "keeping PostgreSQL data in $base instead" >&2
  fi
  DEVDB_PGDATA="$base/pg"
  DEVDB_SOCKET_DIR="$base/run"
  DEVDB_LOG="$DEVDB_PGDATA/postgres.log"
}

devdb_fallback_dir() {
  local hash
  hash="$(printf '%s' "$DEVDB_DATA_DIR" | sha256sum | cut -c1-12)"
  echo "/var/tmp/token-dev-$hash"
}

# Runs a PostgreSQL program (as postgres when root) from /, so that an
# unreadable working directory does not matter.
devdb_pg() {
  local program="$1"
  shift
  (cd / && "${DEVDB_AS_PG[@]}" env LC_ALL=C LANG=C "$DEVDB_BINDIR/$program" "$@")
}

devdb_url() {
  echo "host=$DEVDB_SOCKET_DIR dbname=$DEVDB_NAME user=$DEVDB_USER"
}

devdb_running() {
  [[ -f "$DEVDB_PGDATA/PG_VERSION" ]] && devdb_pg pg_ctl status -D "$DEVDB_PGDATA" >/dev/null 2>&1
}

devdb_prepare_dirs() {
  local dir
  mkdir -p "$(dirname "$DEVDB_PGDATA")"
  chmod o+x "$(dirname "$DEVDB_PGDATA")" 2>/dev/null || true
  for dir in "$DEVDB_PGDATA" "$DEVDB_SOCKET_DIR"; do
    mkdir -p "$dir"
    if [[ ${#DEVDB_AS_PG[@]} -gt 0 ]]; then
      chown postgres:postgres "$dir"
    fi
    chmod 0700 "$dir"
  done
}

devdb_start() {
  if devdb_running; then
    echo "dev-db: PostgreSQL already running ($(devdb_url))" >&2
    return 0
  fi
  devdb_prepare_dirs
  if [[ ! -f "$DEVDB_PGDATA/PG_VERSION" ]]; then
    echo "dev-db: creating the development cluster in $DEVDB_PGDATA" >&2
    devdb_pg initdb -D "$DEVDB_PGDATA" -A trust -U "$DEVDB_USER" -E UTF8 --locale=C \
      --no-instructions >/dev/null
  fi
  local quoted_socket_dir
  quoted_socket_dir="'${DEVDB_SOCKET_DIR//\'/\'\\\'\'}'"
  if ! devdb_pg pg_ctl start -D "$DEVDB_PGDATA" -l "$DEVDB_LOG" -w -t 60 \
    -o "-c listen_addresses='' -k $quoted_socket_dir -p $DEVDB_PORT" >/dev/null; then
    echo "dev-db: PostgreSQL did not start; last lines of $DEVDB_LOG:" >&2
    tail -n 20 "$DEVDB_LOG" >&2 || true
    return 1
  fi
  DEVDB_STARTED=1
  local ready=0 _
  for _ in $(seq 1 300); do
    if devdb_pg pg_isready -q -h "$DEVDB_SOCKET_DIR" -p "$DEVDB_PORT" -d postgres; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if [[ $ready -ne 1 ]]; then
    echo "dev-db: PostgreSQL not accepting connections after 30 s; see $DEVDB_LOG" >&2
    return 1
  fi
  local psql=("$DEVDB_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DEVDB_SOCKET_DIR"
    -p "$DEVDB_PORT" -U "$DEVDB_USER")
  if [[ "$("${psql[@]}" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DEVDB_NAME'")" != 1 ]]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE $DEVDB_NAME"
  fi
  echo "dev-db: PostgreSQL started ($(devdb_url))" >&2
}

devdb_stop() {
  if devdb_running; then
    devdb_pg pg_ctl stop -D "$DEVDB_PGDATA" -m fast -w -t 60 >/dev/null
    echo "dev-db: PostgreSQL stopped" >&2
  fi
  DEVDB_STARTED=0
}

devdb_init_vars || { [[ "${BASH_SOURCE[0]}" != "$0" ]] && return 1 || exit 1; }

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    start) devdb_start ;;
    stop) devdb_stop ;;
    status) devdb_running ;;
    url) devdb_url ;;
    *)
      echo "usage: $0 start|stop|status|url" >&2
      exit 2
      ;;
  esac
fi
