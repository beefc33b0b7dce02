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
  python3 python3-torch python3-numpy
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
