# Targets install what a fresh Debian bookworm machine lacks before building.
#   make demo   - run the main job on the embedded broker (no broker to set up)
#   make test   - run the whole test suite (what CI runs)
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
DEMO_ARGS ?=

.PHONY: deps build test demo clean

## deps: librdkafka (Debian's 2.0.2 to build against) and pkg-config.
deps:
	@if ! pkg-config --exists rdkafka 2>/dev/null; then \
	  echo "installing librdkafka-dev and pkg-config"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq librdkafka-dev pkg-config >/dev/null; \
	fi

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

demo: deps
	swift build -c release --product inference-worker
	.build/release/inference-worker demo $(DEMO_ARGS)

clean:
	rm -rf .build
