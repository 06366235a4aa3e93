#!/usr/bin/env bash
# `make run`: starts a Broker with its defaults and one local native provider, uploads the example
# programs, runs one task, and prints what to open and try. Ctrl-C stops both.
#
# Environment: BUILD_DIR (default build/release), RUN_DIR for the logs and the provider's cache
# (default run/), WASIMOFF_HTTP_LISTEN etc. are passed to the Broker unchanged (defaults: HTTP
# :4080, QUIC :4443), WORKERS for the provider. SIGINT (Ctrl-C) or SIGTERM stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build/release}
BROKER=$BUILD_DIR/src/broker/wasimoff-broker
PROVIDER=$BUILD_DIR/src/provider/wasimoff-provider
EXAMPLES=$BUILD_DIR/examples
RUN_DIR=${RUN_DIR:-run}
PORT=${WASIMOFF_HTTP_LISTEN:-:4080}
PORT=${PORT##*:}
BASE=http://localhost:$PORT

for bin in "$BROKER" "$PROVIDER"; do
  [[ -x $bin ]] || { echo "run: $bin is missing; run 'make build PRESET=release' first" >&2; exit 1; }
done
if curl -fsS -m 1 "$BASE/healthz" >/dev/null 2>&1; then
  echo "run: something already answers on $BASE (another broker?); stop it or set WASIMOFF_HTTP_LISTEN" >&2
  exit 1
fi

mkdir -p "$RUN_DIR"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

"$BROKER" >"$RUN_DIR/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS -m 1 "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "run: the broker exited:"; cat "$RUN_DIR/broker.log"; exit 1; }
  sleep 0.1
done

"$PROVIDER" --broker "$BASE" --name local-provider --storage "$RUN_DIR/provider-cache" \
  ${WORKERS:+--workers "$WORKERS"} >"$RUN_DIR/provider.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS -m 1 "$BASE/metrics" 2>/dev/null | grep -q '^wasimoff_connected_providers 1' && break
  kill -0 "${pids[1]}" 2>/dev/null || { echo "run: the provider exited:"; cat "$RUN_DIR/provider.log"; exit 1; }
  sleep 0.1
done

echo "uploading the examples:"
for name in hello fib tsp wasi-selftest; do
  if [[ -f $EXAMPLES/$name.wasm ]]; then
    ref=$(curl -fsS --data-binary "@$EXAMPLES/$name.wasm" "$BASE/api/storage/upload?name=$name.wasm")
    printf '  %-20s %s\n' "$name.wasm" "$ref"
  fi
done

cat <<EOF

wasimoff is running:
  broker         $BASE   (logs: $RUN_DIR/broker.log)
  provider page  $BASE/   open it in a browser and your tab computes too
  native provider local-provider (logs: $RUN_DIR/provider.log)
  metrics        $BASE/metrics

Try a task (the first run compiles the module, a few seconds):

  echo 'hello from stdin' | curl -sS --data-binary @- -H 'X-Args: one "two words"' $BASE/api/client/run/hello.wasm

EOF
echo "output:"
echo 'hello from stdin' | curl -sS -m 120 --data-binary @- -H 'X-Args: one "two words"' \
  "$BASE/api/client/run/hello.wasm" | sed 's/^/  /'
cat <<EOF

More:
  curl -sS -H 'X-Args: rand 9' --data-binary '' $BASE/api/client/run/tsp.wasm
  curl -sS -H 'Content-Type: application/json' \\
    -d '{"params":{"binary":{"ref":"fib.wasm"},"args":["fib.wasm","30"]}}' \\
    $BASE/api/client/wasimoff.v1.Tasks/RunWasip1
  curl -sS -H 'Content-Type: application/json' -d @examples/jobs/hello-3.json \\
    $BASE/api/client/wasimoff.v1.Tasks/RunWasip1Job

Press Ctrl-C to stop.
EOF
wait "${pids[0]}"
