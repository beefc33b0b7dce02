#!/usr/bin/env bash
# The main job on the bundled example (stories260K): export, run, and a parity summary
# against PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
out=build/example
mkdir -p "$out"
pte=build/exporter/cli/pte
ex=examples/stories260K
echo "== export (fp32, no quantization) =="
"$pte" export -c $ex/model.pth -p $ex/params.json -o "$out/stories260K.pte" \
  --dtype fp32 -E none --linear_quantize none
echo "== inspect =="
"$pte" inspect "$out/stories260K.pte"
echo "== run =="
"$pte" run -m "$out/stories260K.pte" --prompt "Once upon a time" --tokenizer $ex/tok512.bin --max_new_tokens 60
echo "== parity with PyTorch =="
/usr/bin/python3 $ex/parity_summary.py --pte "$pte" --workdir "$out"
