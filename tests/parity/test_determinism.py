#!/usr/bin/python3
"""Exports are reproducible: same inputs give byte-identical .pte files, whatever --threads.

    /usr/bin/python3 tests/parity/test_determinism.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_det [--fixtures DIR]

For a few fixture/flag combinations: export twice with the same flags, and with --threads 1
and --threads 2 (always to the same output path); all files must be identical byte for byte.
"""
import hashlib
import os
import sys

import parity_util as pu

NO_QUANT = ["-E", "none", "--linear_quantize", "none"]
CONFIGS = [
    # (fixture, label, flags)
    ("gqa_fp32", "default (fp16, -E 8,0, c4w)", []),
    ("mqa_headdim_scaledrope_bf16_nested", "fp16 -E 4,32 b4w --blocks_per_piece 1",
     ["-E", "4,32", "--linear_quantize", "b4w", "--blocks_per_piece", "1"]),
    ("gqa_fp32", "fp32 unquantized", pu.FP32_FLAGS),
    ("gqa_fp32", "fp16 unquantized", NO_QUANT),
    ("mha_ffnmult_fp16_legacy", "fp16 unquantized --no_graph_breaks", NO_QUANT + ["--no_graph_breaks"]),
    ("mqa_headdim_scaledrope_bf16_nested", "bf16 source to fp16", NO_QUANT),
    ("untied_hidden_scale32_fp32_safetensors", "fp32 --no_graph_breaks", pu.FP32_FLAGS + ["--no_graph_breaks"]),
]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main():
    ap = pu.parser(__doc__.split("\n")[0], fixtures=True)
    args = ap.parse_args()
    pu.setup(args)
    fixtures = {f["name"]: f for f in pu.load_fixtures(args)}
    failures = []
    for i, (name, label, flags) in enumerate(CONFIGS):
        fx = fixtures[name]
        variants = [("run A", []), ("run B", []), ("--threads 1", ["--threads", "1"]),
                    ("--threads 2", ["--threads", "2"])]
        blobs = []
        try:
            for vlabel, extra in variants:
                # same output path every time: only the flags under test change
                out = os.path.join(args.workdir, "det%d.pte" % i)
                if os.path.exists(out):
                    os.remove(out)
                pu.export(args.pte, fx["checkpoint"], fx["params"], out, flags + extra)
                with open(out, "rb") as f:
                    blobs.append((vlabel, f.read()))
        except RuntimeError as e:
            print("FAIL  %s [%s]: %s" % (name, label, e))
            failures.append(name)
            continue
        base_label, base = blobs[0]
        ok = True
        for vlabel, data in blobs[1:]:
            if data != base:
                ok = False
                print("FAIL  %s [%s]: %s differs from %s (sizes %d vs %d, first difference at byte %d)"
                      % (name, label, vlabel, base_label, len(data), len(base), first_difference(data, base)))
        if ok:
            print("ok    %s [%s]: 4 exports identical, %d bytes, sha256 %s"
                  % (name, label, len(base), hashlib.sha256(base).hexdigest()[:16]))
        else:
            failures.append(name)
    if failures:
        print("\nFAIL (%d of %d configurations)" % (len(failures), len(CONFIGS)))
        return 1
    print("\nPASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
