#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run the service.
# Idempotent: does nothing (and needs no root) when everything is installed.
#   scripts/install-deps.sh          build, test and run
#   scripts/install-deps.sh --fuzz   also Clang 14 with libFuzzer and the
#                                    sanitizer runtimes (scripts/fuzz.sh, CI)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev libpqxx-dev libcpp-httplib-dev nlohmann-json3-dev prometheus-cpp-dev
  libboost1.81-dev
  libgtest-dev libgmock-dev
  postgresql-15 postgresql-contrib
  python3-grpcio python3-grpc-tools python3-jwt python3-protobuf
  curl ca-certificates openssl util-linux
)
# Kubernetes manifests (scripts/validate-k8s.sh): kubectl renders them, Node.js
# validates them. A kubectl or node/npm already installed from another source
# is kept: Debian's packages would conflict with it over the same commands.
command -v kubectl >/dev/null 2>&1 || PACKAGES+=(kubernetes-client)
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
# Fuzzing (docs/FUZZING.md): clang++-14, libFuzzer and the ASan/UBSan runtimes
# (libclang-rt-14-dev), llvm-symbolizer for readable reports (llvm-14).
if [[ "${1:-}" == "--fuzz" ]]; then
  PACKAGES+=(clang-14 libclang-rt-14-dev llvm-14)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: missing packages and not root (no sudo either): ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null
