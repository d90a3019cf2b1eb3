#!/usr/bin/env bash
# Installs everything lowbit needs on a fresh Debian 12 machine with Node 20:
# the C++ toolchain and Debian's oneDNN / OpenBLAS for the native engine, the Fashion-MNIST
# dataset package, Chromium (the browser tests), redis-server (the distributed-run tests start their own), clang-16 and lld-16 (the WebAssembly kernels, rebuilt and
# compared byte for byte with the committed binary), then `npm ci` (which builds the native addon and compiles TypeScript).
#   bash scripts/install.sh           # runtime + tests
#   bash scripts/install.sh --bench   # also Debian's python3-torch, the peer of `npm run bench`
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ make python3 libdnnl-dev libopenblas-dev dataset-fashion-mnist chromium clang-16 lld-16 redis-server)
for a in "$@"; do
  case "$a" in
    --bench) packages+=(python3-torch) ;;
    *) echo "install.sh: unknown option '$a' (expected --bench)" >&2; exit 2 ;;
  esac
done

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install.sh: lowbit needs Node.js >= 20 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The native build must succeed here: a silent fallback to plain tfjs would hide a broken setup.
export LOWBIT_REQUIRE_NATIVE=1
# onnxruntime-node (the ONNX peer in tests) ships its CPU binary; its installer would also try to
# download CUDA files, which fails offline.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
node bin/lowbit.js info
