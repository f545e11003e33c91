# syntax=docker/dockerfile:1
# The inference worker in two stages: build with the Swift toolchain against librdkafka's headers,
# run on a plain Ubuntu 24.04 carrying librdkafka 2.3.0 (>= 2.2 as the README recommends) and ONNX
# Runtime's C library for `onnx` bundles (taken from the PyPI wheel: no Debian/Ubuntu package has it).
#
#   docker build -t inference-worker:local .
#   docker run --rm inference-worker:local run --help
#
# swift-prometheus declares swift-tools 6.2, so the build image must be Swift >= 6.2.
ARG SWIFT_IMAGE=swift:6.2-noble
ARG RUNTIME_IMAGE=ubuntu:24.04
ARG PYTHON_IMAGE=python:3.12-slim
# The version `make test` measures with (the Makefile's ONNX_PIP_PACKAGES; scripts/check-deploy.py
# checks that they agree).
ARG ONNXRUNTIME_VERSION=1.32.0

# ONNX Runtime: the onnxruntime wheel ships libonnxruntime.so.1.<x> (C API, OrtGetApiBase), built
# for manylinux_2_28 (glibc >= 2.28; needs libstdc++, libgcc_s, libc): only that file is kept, no
# Python reaches the runtime image. pip picks the wheel of the build platform (x86_64 or aarch64).
FROM ${PYTHON_IMAGE} AS onnxruntime
ARG ONNXRUNTIME_VERSION
RUN python3 -m pip install --no-cache-dir --no-deps --only-binary=:all: --target /ort "onnxruntime==${ONNXRUNTIME_VERSION}" \
 && install -D -m 0644 "/ort/onnxruntime/capi/libonnxruntime.so.${ONNXRUNTIME_VERSION}" "/out/libonnxruntime.so.${ONNXRUNTIME_VERSION}"

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
ARG ONNXRUNTIME_VERSION
COPY --from=onnxruntime /out/ /usr/local/lib/onnxruntime/
# libonnxruntime.so.1 on the library search path too (ldconfig), for tools that look there.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka1 libstdc++6 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "onnxruntime/libonnxruntime.so.${ONNXRUNTIME_VERSION}" /usr/local/lib/libonnxruntime.so.1 \
 && ldconfig \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin worker
COPY --from=build /out/inference-worker /usr/local/bin/inference-worker
# The bundled models; in Kubernetes a volume mounted on /models replaces them (hot reload:
# drop a new version directory there).
COPY models /models
USER 10001:10001
# The worker opens ONNX Runtime (dlopen) only when it serves an `onnx` bundle; this names the file.
ENV INFERENCE_WORKER_MODEL_ROOT=/models \
    INFERENCE_WORKER_ONNXRUNTIME_LIBRARY=/usr/local/lib/onnxruntime/libonnxruntime.so.${ONNXRUNTIME_VERSION} \
    INFERENCE_WORKER_LOG_FORMAT=json \
    INFERENCE_WORKER_METRICS_PORT=9090
EXPOSE 9090
# SIGTERM drains in-flight work (within --drain-timeout), commits and leaves the group.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/inference-worker"]
CMD ["run", "--help"]
