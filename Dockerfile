# token-server container image.
#   docker build -t token-service:<version> .
# Stage 1 builds the server exactly as scripts/build.sh does (the Debian 12
# build packages of scripts/install-deps.sh, CMake + Ninja, RelWithDebInfo),
# only the token-server target, no tests. Stage 2 is Debian 12 slim with the
# runtime libraries and nothing else, running as an unprivileged user.
# Kubernetes manifests: k8s/ (docs/OPERATIONS.md).

FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
# The build packages of scripts/install-deps.sh (CMake's configure step also
# looks for GoogleTest, so it is here although no test is built).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev libssl-dev libpqxx-dev libcpp-httplib-dev nlohmann-json3-dev prometheus-cpp-dev \
      libboost1.81-dev libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build --target token-server -j"$(nproc)" \
 && strip --strip-debug -o /token-server build/server/token-server

FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
# Shared libraries token-server links against (their own dependencies, such as
# libgrpc29 and libpq5, come with them).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libpqxx-6.4 libssl3 libabsl20220623 \
      libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 token \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin token \
 && install -d -o 65532 -g 65532 -m 0700 /etc/token/keys
COPY --from=build /token-server /usr/local/bin/token-server
# Container defaults; Kubernetes sets the same through its ConfigMap. The key
# directory is a read-only Secret mounted over /etc/token/keys there
# (docs/KEY_ROTATION.md). The server generates no keys and serves no
# plaintext on 0.0.0.0 unless told to: for a throwaway local run,
#   docker run -e TOKEN_GENERATE_KEYS=true -e TOKEN_INSECURE_PLAINTEXT=true ...
# (a development key in the image's own 0700 key directory, no TLS).
ENV TOKEN_GRPC_LISTEN=0.0.0.0:50051 \
    TOKEN_HTTP_LISTEN=0.0.0.0:8080 \
    TOKEN_KEY_DIR=/etc/token/keys
USER 65532:65532
WORKDIR /tmp
EXPOSE 50051 8080
# Kubernetes probes (gRPC health on 50051, /healthz on 8080) decide health.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/token-server"]
CMD ["serve"]
