#!/usr/bin/python3
"""Exports stories260K in fp32, generates from "Once upon a time" with pte and with the PyTorch
reference, and prints the text and a short parity summary.

    /usr/bin/python3 examples/stories260K/parity_summary.py --pte build/exporter/cli/pte --workdir /tmp/s260

Exit code 0 when pte's 40 greedy tokens equal the reference's and the teacher-forced logits agree
to 1e-4 of the largest logit; 1 otherwise.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "parity"))
from llama_reference import Llama2cTokenizer, LlamaReference  # noqa: E402
import parity_util as pu  # noqa: E402

PROMPT_TEXT = "Once upon a time"
N = 40


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pte", required=True, help="path to the pte binary")
    ap.add_argument("--workdir", required=True, help="scratch directory (created)")
    ap.add_argument("--max_new_tokens", type=int, default=N)
    args = ap.parse_args()
    pu.setup(args)
    n = args.max_new_tokens
    ckpt, params, tok_path = (os.path.join(HERE, f) for f in ("model.pth", "params.json", "tok512.bin"))
    out = os.path.join(args.workdir, "stories260K_fp32.pte")
    npy = os.path.join(args.workdir, "stories260K_fp32_logits.npy")

    t0 = time.time()
    pu.export(args.pte, ckpt, params, out, pu.FP32_FLAGS)
    t_export = time.time() - t0
    r = pu.run([args.pte, "run", "-m", out, "--prompt", PROMPT_TEXT, "--tokenizer", tok_path,
                "--max_new_tokens", str(n), "--json", "--logits_out", npy])
    js = r.json()
    prompt = [int(t) for t in js["prompt_tokens"]]
    gen = [int(t) for t in js["tokens"]]

    tok = Llama2cTokenizer(tok_path)
    ref = LlamaReference.load(ckpt, params)
    ref_prompt = tok.encode(PROMPT_TEXT)
    ref_gen = ref.greedy(ref_prompt, n)

    print("pte       : %s" % js.get("text", tok.decode(prompt + gen)))
    print("reference : %s" % tok.decode(ref_prompt + ref_gen))
    print()
    print("export fp32 unquantized: %.2f s, %d bytes; run: %.2f s" % (t_export, os.path.getsize(out), r.seconds))
    print("prompt tokens  : pte %s, reference %s -> %s" % (prompt, ref_prompt, "same" if prompt == ref_prompt else "DIFFERENT"))
    same = sum(a == b for a, b in zip(gen, ref_gen))
    first = next((i for i, (a, b) in enumerate(zip(gen, ref_gen)) if a != b), None)
    print("greedy tokens  : %d/%d equal%s" % (same, n, "" if first is None else " (first difference at %d)" % first))

    # teacher-forced: pte's logits rows over its own sequence vs the reference on the same sequence
    got = np.load(npy)
    seq = prompt + gen[:-1] if n else prompt
    want = ref.logits(seq).numpy()
    ok = prompt == ref_prompt and gen == ref_gen
    if got.shape != want.shape:
        print("logits         : shape %s, expected %s" % (got.shape, want.shape))
        ok = False
    else:
        diff = float(np.abs(got.astype(np.float64) - want).max())
        scale = float(np.abs(want).max())
        agree = int((got.argmax(1) == want.argmax(1)).sum())
        print("logits         : %d rows x %d, max |diff| %.3g (max |logit| %.3g, relative %.2e), top-1 %d/%d"
              % (got.shape[0], got.shape[1], diff, scale, diff / scale, agree, got.shape[0]))
        ok = ok and diff <= 1e-4 * scale
    print("parity         : %s" % ("OK" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.SubprocessError) as e:
        print("parity_summary: error: %s" % e, file=sys.stderr)
        sys.exit(1)
