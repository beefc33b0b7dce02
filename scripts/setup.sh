#!/usr/bin/env bash
# Installs the Debian packages pte needs (build, tests, parity suite), only those missing.
set -euo pipefail
packages=(
  cmake g++ make pkg-config
  clang libclang-rt-14-dev
  nlohmann-json3-dev
  libzip-dev zipcmp zipmerge ziptool
  libprotobuf-dev protobuf-compiler
  flatbuffers-compiler libflatbuffers-dev
  libcli11-dev
  libssl-dev
  googletest libgtest-dev libgmock-dev
  libpcre2-dev libsentencepiece-dev libutf8proc-dev
  python3 python3-torch python3-numpy python3-sentencepiece python3-flatbuffers python3-protobuf
)
# Node.js runs the reference tokenizers of the tokenizer parity tests; a machine that already
# has one (e.g. from another repository) keeps it.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm reference tokenizers (test oracles only), exactly as the committed lockfile pins them.
oracles="$(dirname "$0")/../tests/tokenizer_parity"
if [ ! -f "$oracles/node_modules/.package-lock.json" ] || [ "$oracles/package-lock.json" -nt "$oracles/node_modules/.package-lock.json" ]; then
  echo "setup: installing the reference tokenizers (npm ci in tests/tokenizer_parity)"
  (cd "$oracles" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
