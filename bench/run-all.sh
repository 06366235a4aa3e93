#!/usr/bin/env bash
# Runs every benchmark built from bench/ (executables named wasimoff-bench-* under
# $BUILD_DIR/bench) with its default, bounded workload and prints the results. `make bench` calls
# it after building the release preset. Everything runs on 127.0.0.1; each benchmark starts its
# own Broker (and providers) on free ports.
#
# Environment: BUILD_DIR (default build/release), BENCH_TIMEOUT per benchmark (default 1800 s).
# Exit status: 0 when every benchmark succeeded, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/release}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}

if [[ ! -d $BUILD_DIR/bench ]]; then
  echo "run-all: $BUILD_DIR/bench does not exist; build first: make release (or cmake --preset release && cmake --build --preset release)" >&2
  exit 1
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)
if [[ $build_type != Release ]]; then
  echo "run-all: warning: $BUILD_DIR is a '${build_type:-unknown}' build; figures are only meaningful for Release" >&2
fi

mapfile -t benches < <(find "$BUILD_DIR/bench" -type f -name 'wasimoff-bench-*' -perm -u+x | sort)
if [[ ${#benches[@]} -eq 0 ]]; then
  echo "run-all: no wasimoff-bench-* executables under $BUILD_DIR/bench" >&2
  exit 1
fi

echo "wasimoff benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg), $BUILD_DIR (${build_type:-?}), revision $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
failed=()
for bench in "${benches[@]}"; do
  name=$(basename "$bench")
  echo
  echo "################ $name"
  timeout --kill-after=30 "$BENCH_TIMEOUT" "$bench"
  status=$?
  if [[ $status -ne 0 ]]; then
    [[ $status -eq 124 ]] && echo "run-all: $name did not finish within $BENCH_TIMEOUT s" >&2
    failed+=("$name (exit $status)")
  fi
done

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-all: FAILED: ${failed[*]}"
  exit 1
fi
echo "run-all: all ${#benches[@]} benchmarks finished; figures are the RESULT lines above"
