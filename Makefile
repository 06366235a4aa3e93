# The README's commands. `make run` starts the system, `make test` runs every test.
PRESET ?= dev
JOBS   ?= $(shell nproc)

.PHONY: all deps build release run test test-asan clang fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

release:
	$(MAKE) build PRESET=release

run: deps
	$(MAKE) build PRESET=release
	scripts/run.sh

test: build
	ctest --preset $(PRESET) -j $(JOBS)

test-asan:
	$(MAKE) test PRESET=asan

# The whole tree built with clang-14 next to GCC 12 (preset clang, build/clang), then its unit
# tests. Not part of `make test`: a clang build from scratch costs as much as the GCC one.
clang: deps
	cmake --preset clang >/dev/null
	cmake --build --preset clang -j $(JOBS)
	ctest --preset clang -j $(JOBS)

# Bounded libFuzzer runs of every untrusted-input parser (tests/fuzz; clang-14, build/fuzz).
fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	ctest --preset fuzz -j $(JOBS)

bench: release
	bench/run-all.sh

format:
	find src tests bench examples -name '*.h' -o -name '*.cc' -o -name '*.c' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
