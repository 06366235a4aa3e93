#!/usr/bin/env bash
# Before/after comparison of two builds of wasimoff on the same machine, in one run.
#
#   bench/compare-revisions.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [PAIRS]
#
# Each build dir is a Release build (cmake --preset release) with these targets built:
#   wasimoff-bench-load wasimoff-bench-provider wasimoff-bench-transport
#   wasimoff-broker wasimoff-provider
# (the provider benchmark's kit also builds the examples and tsp-native).
#
# For every benchmark below, PAIRS pairs (default 3) of runs: one run of each build with the same
# arguments, the order alternating from pair to pair (AB, BA, AB, ...), the pairs of the different
# benchmarks interleaved. Each benchmark starts its own Broker and providers on 127.0.0.1 (free
# ports) and checks every answer. Every run is bounded (RUN_TIMEOUT, default 240 s). At the end a
# table: the figure of every run, the median per build and the ratio AFTER / BEFORE of the medians.
#
# Environment:
#   PAUSE_SCRIPT  optional; called as "$PAUSE_SCRIPT stop" before each pair and "$PAUSE_SCRIPT
#                 cont" after it (and on any exit), e.g. to pause other builds on the machine
#   REST_SECONDS  pause between pairs when PAUSE_SCRIPT is set (default 15)
#   RUN_TIMEOUT   seconds per benchmark run (default 240)
#   OUT_DIR       where the raw output of every run goes (default: a new directory under /tmp)
#   ONLY          optional regex: run only the benchmarks whose id matches (ids: see BENCHES)
#   TABLE_ONLY    set: run nothing, print the table of the runs already in OUT_DIR
set -uo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR [PAIRS]" >&2
  exit 2
fi
BEFORE=$(realpath "$1") AFTER=$(realpath "$2")
PAIRS=${3:-3}
RUN_TIMEOUT=${RUN_TIMEOUT:-240}
REST_SECONDS=${REST_SECONDS:-15}
PAUSE_SCRIPT=${PAUSE_SCRIPT:-}
ONLY=${ONLY:-.}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/compare-revisions.XXXXXX)}
mkdir -p "$OUT_DIR"
# The test harness would otherwise run another build's broker.
unset WASIMOFF_TEST_BROKER_BIN WASIMOFF_TEST_PROVIDER_BIN

[[ $PAIRS =~ ^[1-9][0-9]?$ ]] || { echo "PAIRS must be 1..99" >&2; exit 2; }
for dir in "$BEFORE" "$AFTER"; do
  for exe in bench/wasimoff-bench-load bench/provider/wasimoff-bench-provider \
             bench/transport/wasimoff-bench-transport src/broker/wasimoff-broker \
             src/provider/wasimoff-provider; do
    [[ -x $dir/$exe ]] || { echo "missing $dir/$exe (build it first)" >&2; exit 1; }
  done
  grep -q '^CMAKE_BUILD_TYPE:[A-Z]*=Release$' "$dir/CMakeCache.txt" ||
    echo "warning: $dir is not a Release build" >&2
done

revision() {  # short commit of the source tree a build dir was configured from
  local src
  src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt")
  git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown
}

paused=0
resume() { if [[ $paused == 1 && -n $PAUSE_SCRIPT ]]; then "$PAUSE_SCRIPT" cont; paused=0; fi; }
trap resume EXIT
trap 'resume; exit 130' INT TERM

# id | executable (relative to the build dir) | arguments
BENCHES=(
  "load-connect|bench/wasimoff-bench-load|-n 20000 -c 64 -a connect"
  "load-ws|bench/wasimoff-bench-load|-n 20000 -c 64 -a ws"
  "load-work5|bench/wasimoff-bench-load|-n 5000 -c 64 -w 5"
  "provider|bench/provider/wasimoff-bench-provider|--rounds 3 --noop-inflight 32 --noop-tasks 6000"
  "provider-ws|bench/provider/wasimoff-bench-provider|--rounds 1 --tsp-tasks 2 --noop-inflight 32 --noop-tasks 6000 --transport websocket"
  "transport|bench/transport/wasimoff-bench-transport|--rounds 2"
)

echo "compare-revisions: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  BEFORE $BEFORE (revision $(revision "$BEFORE"))"
echo "  AFTER  $AFTER (revision $(revision "$AFTER"))"
echo "  $PAIRS pairs per benchmark, raw output in $OUT_DIR"

failures=0
run_one() {  # side pair id exe args
  local side=$1 pair=$2 id=$3 exe=$4 args=$5 dir log status
  [[ $side == before ]] && dir=$BEFORE || dir=$AFTER
  log=$OUT_DIR/$id.$side.$pair.log
  # shellcheck disable=SC2086  # the arguments are split on purpose
  timeout --kill-after=15 "$RUN_TIMEOUT" "$dir/$exe" $args >"$log" 2>&1
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "  FAILED (exit $status): $side $id pair $pair, see $log" >&2
    failures=$((failures + 1))
  fi
  printf '  %s %-12s %-6s %s\n' "$(date -u +%H:%M:%S)" "$id" "$side" \
    "$(grep -E 'elapsed .* tasks/s|RESULT' "$log" | tail -1 | sed 's/^ *//')"
}

[[ -n ${TABLE_ONLY:-} ]] && PAIRS_TO_RUN=0 || PAIRS_TO_RUN=$PAIRS
for ((pair = 1; pair <= PAIRS_TO_RUN; pair++)); do
  for spec in "${BENCHES[@]}"; do
    IFS='|' read -r id exe args <<<"$spec"
    [[ $id =~ $ONLY ]] || continue
    if [[ -n $PAUSE_SCRIPT ]]; then "$PAUSE_SCRIPT" stop; paused=1; fi
    if ((pair % 2 == 1)); then order=(before after); else order=(after before); fi
    for side in "${order[@]}"; do run_one "$side" "$pair" "$id" "$exe" "$args"; done
    resume
    [[ -n $PAUSE_SCRIPT ]] && sleep "$REST_SECONDS"
  done
done
echo "finished $(date -u '+%H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$OUT_DIR" "$PAIRS" <<'EOF'
import re, statistics, sys, pathlib
out, pairs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
num = r'([0-9.]+)'
# figure name, benchmark id, regex (first group = value), better: higher / lower
FIGURES = [
  ("Connect JSON, instant echo: tasks/s", "load-connect", r'elapsed [0-9.]+ s, ' + num + ' tasks/s', "higher"),
  ("Connect JSON, instant echo: p50 ms", "load-connect", r'latency ms: mean [0-9.]+  p50 ' + num, "lower"),
  ("client WebSocket, instant echo: tasks/s", "load-ws", r'elapsed [0-9.]+ s, ' + num + ' tasks/s', "higher"),
  ("client WebSocket, instant echo: p50 ms", "load-ws", r'latency ms: mean [0-9.]+  p50 ' + num, "lower"),
  ("Connect JSON, 5 ms per task: tasks/s", "load-work5", r'elapsed [0-9.]+ s, ' + num + ' tasks/s', "higher"),
  ("native provider (WT) no-op tasks/s", "provider", r'RESULT noop_tasks_per_second ' + num, "higher"),
  ("native provider (WT) no-op CPU ms/task", "provider", r'CPU per task: ' + num + r' ms \(broker \+ provider \+ workers\), client', "lower"),
  ("tsp n=10 ratio wasimoff / native", "provider", r'RESULT tsp10_wasimoff_vs_native_ratio ' + num, "higher"),
  ("native provider (WS) no-op tasks/s", "provider-ws", r'RESULT noop_tasks_per_second ' + num, "higher"),
  ("native provider (WS) no-op CPU ms/task", "provider-ws", r'CPU per task: ' + num + r' ms \(broker \+ provider \+ workers\), client', "lower"),
  ("link WS: ping p50 ms", "transport", r'ping round trip\s+websocket\s+p50 ' + num, "lower"),
  ("link WT: ping p50 ms", "transport", r'\n\s+webtransport p50 ' + num + r'[^\n]*\necho task', "lower"),
  ("link WS: echo task p50 ms", "transport", r'echo task round trip\s+websocket\s+p50 ' + num, "lower"),
  ("link WT: echo task p50 ms", "transport", r'echo task round trip\s+websocket[^\n]*\n\s+webtransport p50 ' + num, "lower"),
  ("link WS: bulk MiB/s", "transport", r'bulk \([^)]*\)\s+websocket\s+' + num, "higher"),
  ("link WT: bulk MiB/s", "transport", r'bulk \([^)]*\)\s+websocket[^\n]*\n\s+webtransport ' + num, "higher"),
  ("link WS: native no-op p50 ms", "transport", r'native no-op task round trip\s+websocket\s+p50 ' + num, "lower"),
  ("link WT: native no-op p50 ms", "transport", r'native no-op task round trip\s+websocket[^\n]*\n\s+webtransport p50 ' + num, "lower"),
]
def values(bench, side, rx):
  vals = []
  for p in range(1, pairs + 1):
    f = out / f"{bench}.{side}.{p}.log"
    if not f.exists(): continue
    m = re.search(rx, f.read_text(errors="replace"))
    vals.append(float(m.group(1)) if m else None)
  return vals
def fmt(v): return "—" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.3g}")
print()
print("| figure | better | before (runs) | after (runs) | after ÷ before per pair | before median | after median | after ÷ before |")
print("|---|---|---|---|---|---|---|---|")
for name, bench, rx, better in FIGURES:
  b, a = values(bench, "before", rx), values(bench, "after", rx)
  if not b and not a: continue
  bm = statistics.median([v for v in b if v is not None]) if any(v is not None for v in b) else None
  am = statistics.median([v for v in a if v is not None]) if any(v is not None for v in a) else None
  ratio = f"{am / bm:.3f}" if bm and am is not None else "—"
  per_pair = ", ".join(f"{y / x:.2f}" if x and y is not None else "—" for x, y in zip(b, a))
  print(f"| {name} | {better} | {', '.join(map(fmt, b))} | {', '.join(map(fmt, a))} | {per_pair} | {fmt(bm)} | {fmt(am)} | {ratio} |")
EOF
if ((failures > 0)); then echo "compare-revisions: $failures run(s) failed" >&2; exit 1; fi
