#!/usr/bin/env bash
# The main job on the bundled example (stories260K): export with the reference's defaults
# (fp16, 8-bit embedding, 4-bit channelwise linears), inspect, generate text, check the file
# against the float checkpoint, and a parity summary of the fp32 export against PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
out=build/example
mkdir -p "$out"
pte=build/exporter/cli/pte
ex=examples/stories260K
echo "== export (defaults: fp16, -E 8,0, c4w) =="
"$pte" export -c $ex/model.pth -p $ex/params.json -o "$out/stories260K.pte"
echo "== inspect =="
"$pte" inspect "$out/stories260K.pte"
echo "== run =="
"$pte" run -m "$out/stories260K.pte" --prompt "Once upon a time" --tokenizer $ex/tok512.bin --max_new_tokens 60
echo "== verify against the float checkpoint =="
"$pte" verify -m "$out/stories260K.pte" -c $ex/model.pth -p $ex/params.json --tokens 256 --min_top1 0.75
echo "== fp32 parity with PyTorch =="
/usr/bin/python3 $ex/parity_summary.py --pte "$pte" --workdir "$out"
