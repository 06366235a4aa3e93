#!/usr/bin/env bash
# Installs every Debian package (and npm package) the project needs. Idempotent: packages that are
# already installed are skipped, and apt is only touched when something is missing.
# Usage: scripts/install-deps.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # C++ libraries
  libboost1.81-dev libboost-json1.81-dev libprotobuf-dev protobuf-compiler libspdlog-dev libfmt-dev
  libcli11-dev libssl-dev libgnutls28-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev
  libzip-dev libsqlite3-dev libseccomp-dev
  # native provider: the sandbox of the compilers (docs/security.md)
  bubblewrap
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev curl openssl
  # fuzzing (make fuzz): libFuzzer and sanitizer runtimes of clang-14
  libclang-rt-14-dev
  # WebAssembly: wasm2c runtime (native provider) and the toolchain for examples/
  wabt clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32
  libc++abi-14-dev-wasm32 binaryen
  # web page and browser tests
  nodejs npm chromium
  # differential WASI tests: ZIP handling for the node:wasi reference runner (tests/tools)
  python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm may come from outside apt (e.g. a preinstalled toolchain); accept those.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

# npm packages: the web page and the browser tests, from their lockfiles.
for lock in web/package-lock.json tests/e2e/*/package-lock.json; do
  dir=$(dirname "$lock")
  if [[ -f "$lock" ]]; then
    stamp="$dir/node_modules/.install-stamp"
    if [[ ! -f "$stamp" || "$dir/package-lock.json" -nt "$stamp" ]]; then
      echo "install-deps: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      touch "$stamp"
    fi
  fi
done
