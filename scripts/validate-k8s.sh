#!/usr/bin/env bash
# Renders the Kubernetes manifests with `kubectl kustomize` and validates every
# object against the Kubernetes API schemas (k8s/validate/validate.mjs: the
# npm models kubernetes-models, @kubernetes-models/cloudnative-pg,
# @kubernetes-models/prometheus-operator and @kubernetes-models/cert-manager,
# plus unknown-field, cross-object and PromQL checks).
#
#   scripts/validate-k8s.sh                 k8s/overlays/dev, k8s/overlays/prod, k8s/monitoring
#   scripts/validate-k8s.sh DIR...          other kustomization directories
#   scripts/validate-k8s.sh --install-only  only install the validator's npm packages
#
# Environment:
#   KUBECTL             kubectl to render with (default: kubectl on PATH)
#   K8S_VALIDATE_CACHE  where the validator's npm packages are installed
#                       (default: build/k8s-validate); reinstalled only when
#                       k8s/validate/package-lock.json changes
#
# Exit status: 0 everything valid; 1 an object is invalid or a kustomization
# does not render; 2 a tool is missing or the npm install failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBECTL="${KUBECTL:-kubectl}"
CACHE="${K8S_VALIDATE_CACHE:-$ROOT/build/k8s-validate}"
SRC="$ROOT/k8s/validate"

die() {
  echo "validate-k8s: $*" >&2
  exit 2
}

install_validator() {
  command -v node >/dev/null 2>&1 || die "node not found (scripts/install-deps.sh installs nodejs)"
  command -v npm >/dev/null 2>&1 || die "npm not found (scripts/install-deps.sh installs npm)"
  mkdir -p "$CACHE"
  # Several tests may start at once: one installs, the others wait.
  exec 9>"$CACHE/.lock"
  flock 9
  if [[ ! -d "$CACHE/node_modules" ]] || ! cmp -s "$SRC/package-lock.json" "$CACHE/.installed-lock"; then
    echo "validate-k8s: installing the validator's npm packages into $CACHE" >&2
    rm -rf "$CACHE/node_modules" "$CACHE/.installed-lock"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$CACHE/"
    if ! (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error >&2); then
      die "npm ci failed in $CACHE"
    fi
    cp "$SRC/package-lock.json" "$CACHE/.installed-lock"
  fi
  cp "$SRC/validate.mjs" "$CACHE/validate.mjs"
  flock -u 9
  exec 9>&-
}

if [[ "${1:-}" == "--install-only" ]]; then
  install_validator
  exit 0
fi

if [[ $# -gt 0 ]]; then
  DIRS=("$@")
else
  DIRS=("$ROOT/k8s/overlays/dev" "$ROOT/k8s/overlays/prod" "$ROOT/k8s/monitoring")
fi

command -v "$KUBECTL" >/dev/null 2>&1 ||
  die "$KUBECTL not found (scripts/install-deps.sh installs kubernetes-client)"
install_validator

KUBECTL_VERSION="$("$KUBECTL" version --client 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -n 1 || true)"
echo "validate-k8s: rendering with $KUBECTL ${KUBECTL_VERSION:-(version unknown)}"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

status=0
inputs=()
n=0
for dir in "${DIRS[@]}"; do
  n=$((n + 1))
  label="$(cd "$dir" 2>/dev/null && pwd || echo "$dir")"
  label="${label#"$ROOT/"}"
  if ! "$KUBECTL" kustomize "$dir" >"$TMP/$n.yaml" 2>"$TMP/$n.err"; then
    echo "== $label"
    echo "INVALID kubectl kustomize $label failed:"
    sed 's/^/    /' "$TMP/$n.err"
    status=1
    continue
  fi
  # Newer kustomize warns about the old-style fields kept for kubectl 1.20.
  if grep -q -v -e '^$' -e 'is deprecated' "$TMP/$n.err"; then
    sed 's/^/  kustomize: /' "$TMP/$n.err"
  fi
  inputs+=("$label=$TMP/$n.yaml")
done

if [[ ${#inputs[@]} -gt 0 ]]; then
  metrics=()
  # Alerts may only name token_* metrics the server defines.
  if [[ -f "$ROOT/server/metrics/metrics.cc" ]]; then
    metrics=(--metrics "$ROOT/server/metrics/metrics.cc")
  fi
  node_status=0
  node "$CACHE/validate.mjs" "${metrics[@]}" "${inputs[@]}" || node_status=$?
  if [[ $node_status -ge 2 ]]; then
    exit "$node_status"
  fi
  [[ $node_status -eq 0 ]] || status=1
fi

if [[ $status -ne 0 ]]; then
  echo "validate-k8s: FAILED"
else
  echo "validate-k8s: all valid"
fi
exit "$status"
