#!/usr/bin/env bash
# Builds pte and runs every test (unit tests and the PyTorch parity suite) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --with-fuzz
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
