#!/usr/bin/env bash
# What `make run` promises, checked against a build: scripts/run.sh starts a Broker and a local
# native provider (free 127.0.0.1 ports, a scratch RUN_DIR given as a relative path), uploads the examples, runs the first
# task and prints its real output; SIGTERM stops the Broker and the provider.
# Usage: make_run_test.sh <build dir> <source dir>
set -uo pipefail
build=$1
src=$2
for v in $(compgen -e | grep '^WASIMOFF_'); do unset "$v"; done

tmp=$(mktemp -d)
pid=
# On every exit, also a failed check: run.sh's own SIGTERM handler stops the Broker and the
# provider; whatever is still there after 10 s is killed (a SIGKILL of run.sh alone would
# orphan the Broker).
finish() {
  if [[ -n $pid ]]; then
    local children
    children=$(pgrep -P "$pid")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" $children 2>/dev/null
  fi
  pkill -KILL -f "$tmp/run/provider-cache" 2>/dev/null
  rm -rf "$tmp"
}
trap finish EXIT
fail() {
  echo "FAIL: $*"
  echo "--- run.sh output ---"
  cat "$tmp/out"
  for log in "$tmp"/run/*.log; do [[ -f $log ]] && { echo "--- $log ---"; tail -20 "$log"; }; done
  exit 1
}
free_port() {
  python3 -c 'import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
http=$(free_port tcp)
quic=$(free_port udp)

# RUN_DIR relative (to the checkout, where run.sh works), like make run's default `run`.
run_dir=$(realpath --relative-to="$src" "$tmp/run")
BUILD_DIR=$build RUN_DIR=$run_dir WORKERS=1 WASIMOFF_HTTP_LISTEN=127.0.0.1:$http \
  WASIMOFF_QUIC_LISTEN=127.0.0.1:$quic bash "$src/scripts/run.sh" >"$tmp/out" 2>&1 &
pid=$!

# Bounded wait for the end of the demo (the first task compiles hello.wasm).
for _ in $(seq 1 1800); do
  grep -q '^Press Ctrl-C to stop' "$tmp/out" && break
  kill -0 "$pid" 2>/dev/null || fail "run.sh exited early"
  sleep 0.1
done
grep -q '^Press Ctrl-C to stop' "$tmp/out" || fail "run.sh did not finish its demo within 180 s"

for expected in 'hello.wasm +sha256:[0-9a-f]{64}' 'fib.wasm +sha256:[0-9a-f]{64}' \
  '^  hello: done, exit status 0$' '^  argv\[2\]: two words$' '^  stdin: 17 bytes$'; do
  grep -Eq "$expected" "$tmp/out" || fail "output lacks /$expected/"
done
curl -fsS -m 5 "http://127.0.0.1:$http/healthz" >/dev/null || fail "the Broker does not answer"

kill -TERM "$pid"
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "run.sh still running 30 s after SIGTERM"
pid=
curl -fsS -m 2 "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && fail "the Broker still answers after SIGTERM"
pgrep -f "$tmp/run/provider-cache" >/dev/null && fail "the provider still runs after SIGTERM"
echo "make_run_script: 1 passed, 0 failed"
