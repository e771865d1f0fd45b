#!/usr/bin/env bash
# Renders a kustomization and checks its transport security with
# check-transport.mjs (secure: TLS + mTLS + authorization policy + HTTPS
# probes; plaintext: --insecure-plaintext present).
#   tests/k8s/check-transport.sh secure|plaintext KUSTOMIZATION_DIR
# Needs the validator's npm packages (scripts/validate-k8s.sh --install-only).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export K8S_VALIDATE_CACHE="${K8S_VALIDATE_CACHE:-$ROOT/build/k8s-validate}"
KUBECTL="${KUBECTL:-kubectl}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if ! "$KUBECTL" kustomize "$2" >"$TMP/rendered.yaml" 2>"$TMP/err"; then
  cat "$TMP/err"
  echo "check-transport: kubectl kustomize $2 failed"
  exit 1
fi
node "$HERE/check-transport.mjs" "$1" "$TMP/rendered.yaml"
