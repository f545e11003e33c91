# Targets install what a fresh Debian bookworm machine lacks before building.
#   make demo   - run the main job on the embedded broker (no broker to set up)
#   make test   - run the whole test suite (what CI runs)
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
DEMO_ARGS ?=

.PHONY: deps build test demo clean check-deploy

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

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)
	$(MAKE) --no-print-directory check-deploy

## check-deploy: every YAML parses; compose and Kubernetes command lines pass `run --check-config`.
check-deploy: deps
	python3 scripts/check-deploy.py --binary "$$(swift build $(SWIFT_BUILD_FLAGS) --show-bin-path)/inference-worker"

demo: deps
	swift build -c release --product inference-worker
	.build/release/inference-worker demo $(DEMO_ARGS)

clean:
	rm -rf .build
