# syntax=docker/dockerfile:1
# The inference worker in two stages: build with the Swift toolchain against librdkafka's headers,
# run on a plain Ubuntu 24.04 carrying librdkafka 2.3.0 (>= 2.2 as the README recommends).
#
#   docker build -t inference-worker:local .
#   docker run --rm inference-worker:local run --help
#
# swift-prometheus declares swift-tools 6.2, so the build image must be Swift >= 6.2.
ARG SWIFT_IMAGE=swift:6.2-noble
ARG RUNTIME_IMAGE=ubuntu:24.04

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies in their own layer: it is reused until Package.swift changes.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
# Static Swift runtime and Foundation: the binary then needs only libc, libm, libstdc++, libgcc_s and
# librdkafka.so.1 (with its own lz4/zstd/sasl/ssl/zlib, which the librdkafka1 package pulls in): this
# exact command was checked with `ldd` on the development machine (Swift 6.3.1, librdkafka 2.0.2
# headers); the image itself was not built there (no container engine). Stripped: ~65 MB instead of ~96.
RUN swift build -c release --product inference-worker --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/inference-worker" /out/inference-worker \
 && strip /out/inference-worker

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka1 libstdc++6 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin worker
COPY --from=build /out/inference-worker /usr/local/bin/inference-worker
# The bundled models; in Kubernetes a volume mounted on /models replaces them (hot reload:
# drop a new version directory there).
COPY models /models
USER 10001:10001
ENV INFERENCE_WORKER_MODEL_ROOT=/models \
    INFERENCE_WORKER_LOG_FORMAT=json \
    INFERENCE_WORKER_METRICS_PORT=9090
EXPOSE 9090
# SIGTERM drains in-flight work (within --drain-timeout), commits and leaves the group.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/inference-worker"]
CMD ["run", "--help"]
