#!/usr/bin/python3
"""The fast executor against the reference one (the oracle) on every fixture and export mode.

    /usr/bin/python3 tests/parity/test_executor_parity.py --pte build/exporter/cli/pte \
        --workdir /tmp/executor_parity [--fixtures DIR]

Each case exports a file, then runs `pte run --executor fast` and `--executor reference` on the
same seeded prompt (13 ids) for 40 new tokens with --logits_out. Pass: identical greedy tokens,
and for fp32 files every logits row within 1e-5 * max|logit| (fp16 files: the figure is printed;
only the summation order differs, so fp16 rounding may move a logit by an fp16 ulp).
Multifunction files are also run without --logits_out (prompt through prefill) and must give the
same tokens. Cases: every fixture fp32 unquantized and fp16 with the defaults; stories260K in
c4w, b4w, -E 8,0, -E 4,32 (fp32 and fp16), split linears, --no_graph_breaks,
--blocks_per_piece 1, --multifunction, and LoRA adapter methods.
"""
import json
import os
import sys

import numpy as np

import parity_util as pu
from make_adapters import make_adapters

PROMPT_LEN, NEW_TOKENS, REL_TOL = 13, 40, 1e-5
SMALL = ["--max_context_len", "64", "--input_len", "8"]
FP16 = ["--dtype", "fp16"]


def cases(fixtures, workdir, example):
    for fx in fixtures:
        yield fx["name"] + "/fp32", fx, pu.FP32_FLAGS + SMALL, ["forward"]
        yield fx["name"] + "/fp16_defaults", fx, FP16 + SMALL, ["forward"]
    s = dict(name="stories260K", checkpoint=os.path.join(example, "model.pth"),
             params=os.path.join(example, "params.json"))
    fp32 = ["--dtype", "fp32"]
    modes = [
        ("fp32_c4w", fp32 + ["-E", "none", "--linear_quantize", "c4w"]),
        ("fp32_b4w", fp32 + ["-E", "none", "--linear_quantize", "b4w"]),
        ("fp32_E8", fp32 + ["-E", "8,0", "--linear_quantize", "none"]),
        ("fp32_E4g32", fp32 + ["-E", "4,32", "--linear_quantize", "none"]),
        ("fp16_b4w_E4g32", FP16 + ["-E", "4,32", "--linear_quantize", "b4w"]),
        ("fp32_splits", pu.FP32_FLAGS + ["--target_split_size", "32", "--max_splits", "4"]),
        ("fp32_no_graph_breaks", pu.FP32_FLAGS + ["--no_graph_breaks"]),
        ("fp32_blocks_per_piece_1", pu.FP32_FLAGS + ["--blocks_per_piece", "1"]),
        ("fp32_multifunction", pu.FP32_FLAGS + ["--multifunction"]),
        ("fp16_multifunction_defaults", FP16 + ["--multifunction"]),
    ]
    for name, flags in modes:
        yield "stories260K/" + name, s, flags + ["--max_context_len", "128", "--input_len", "16"], ["forward"]
    ads = make_adapters(os.path.join(workdir, "adapters"), s["checkpoint"], s["params"])
    adapter_flags = [x for ad in ads for x in ("--adapter", ad["name"], ad["checkpoint"], ad["config"])]
    small = ["--max_context_len", "128", "--input_len", "16"]
    yield "stories260K/fp32_adapters", s, pu.FP32_FLAGS + small + adapter_flags, ["forward", "a", "b"]
    yield ("stories260K/fp32_adapters_multifunction", s, pu.FP32_FLAGS + small + ["--multifunction"] + adapter_flags,
           ["forward", "a"])


def run(args, model, method, prompt, executor, npy):
    argv = [args.pte, "run", "-m", model, "--method", method, "--prompt_ids", pu.ids_arg(prompt),
            "--max_new_tokens", str(NEW_TOKENS), "--json", "--executor", executor]
    if npy:
        if os.path.exists(npy):
            os.remove(npy)
        argv += ["--logits_out", npy]
    js = pu.run(argv).json()
    return [int(t) for t in js["tokens"]], (np.load(npy) if npy else None)


def main():
    ap = pu.parser(__doc__.split("\n")[0], fixtures=True)
    ap.add_argument("--example", default=pu.EXAMPLE_DIR)
    args = ap.parse_args()
    pu.setup(args)
    fixtures = pu.load_fixtures(args)
    rng = np.random.default_rng(20261201)
    failures = []
    print("%-52s %-8s %5s %10s %9s %s" % ("case", "method", "rows", "max|diff|", "rel", "tokens"))
    for name, fx, flags, methods in cases(fixtures, args.workdir, args.example):
        out = os.path.join(args.workdir, name.replace("/", "_") + ".pte")
        try:
            pu.export(args.pte, fx["checkpoint"], fx["params"], out, flags)
            with open(fx["params"]) as f:
                vocab = int(json.load(f)["vocab_size"])
            prompt = rng.integers(0, vocab, PROMPT_LEN).tolist()
            for method in methods:
                npy = os.path.join(args.workdir, "logits.npy")
                fast_tokens, fast = run(args, out, method, prompt, "fast", npy)
                ref_tokens, ref = run(args, out, method, prompt, "reference", npy)
                diff = float(np.abs(fast.astype(np.float64) - ref).max())
                rel = diff / max(float(np.abs(ref).max()), 1e-30)
                same = sum(a == b for a, b in zip(fast_tokens, ref_tokens))
                print("%-52s %-8s %5d %10.3g %9.2e %d/%d" % (name, method, ref.shape[0], diff, rel, same, NEW_TOKENS))
                if fast.shape != ref.shape or not np.isfinite(fast).all():
                    failures.append("%s %s: fast logits %s (finite %s), reference %s"
                                    % (name, method, fast.shape, np.isfinite(fast).all(), ref.shape))
                if fast_tokens != ref_tokens or len(ref_tokens) != NEW_TOKENS:
                    failures.append("%s %s: tokens differ: fast %s, reference %s" % (name, method, fast_tokens, ref_tokens))
                if flags[flags.index("--dtype") + 1] == "fp32" and not rel <= REL_TOL:
                    failures.append("%s %s: max|diff| %.3g is %.2e of max|logit| (> %.0e)" % (name, method, diff, rel, REL_TOL))
                if "multifunction" in name:  # the prompt through prefill this time
                    f2, _ = run(args, out, method, prompt, "fast", None)
                    r2, _ = run(args, out, method, prompt, "reference", None)
                    if f2 != r2 or f2 != ref_tokens:
                        failures.append("%s %s: prefill path tokens differ: fast %s, reference %s, one-by-one %s"
                                        % (name, method, f2, r2, ref_tokens))
        except Exception as e:  # noqa: BLE001 - reported as a failure of this case
            failures.append("%s: %s" % (name, e))
    return pu.finish(failures)


if __name__ == "__main__":
    sys.exit(main())
