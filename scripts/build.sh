#!/usr/bin/env bash
# Configures and builds pte into build/ (Release). Used by the other scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
# With --with-fuzz (scripts/test.sh), also the fuzz targets (fuzz/), with clang's libFuzzer and
# sanitizers: the test suite smoke-runs them.
[ "${1:-}" = "--with-fuzz" ] || exit 0
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DPTE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)"
