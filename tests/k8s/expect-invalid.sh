#!/usr/bin/env bash
# Runs scripts/validate-k8s.sh on one deliberately broken kustomization and
# passes only if the validator rejects it (exit status 1, not a tooling
# failure) with output matching every given extended regular expression.
#   tests/k8s/expect-invalid.sh FIXTURE_DIR REGEX...
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$1"
shift

out="$(bash "$ROOT/scripts/validate-k8s.sh" "$dir" 2>&1)"
rc=$?
echo "$out"
echo "--"
if [[ $rc -ne 1 ]]; then
  echo "expect-invalid: validate-k8s.sh exited $rc; expected 1 (invalid manifests)"
  exit 1
fi
for re in "$@"; do
  if ! grep -E -q -- "$re" <<<"$out"; then
    echo "expect-invalid: no output line matches: $re"
    exit 1
  fi
done
echo "expect-invalid: rejected as expected"
