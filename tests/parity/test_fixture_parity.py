#!/usr/bin/python3
"""fp32 parity of `pte run` against the PyTorch reference on every random fixture.

    /usr/bin/python3 tests/parity/test_fixture_parity.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity [--fixtures DIR]

For each fixture: export fp32 unquantized (max_context_len 64, input_len 8), run 13 seeded random
prompt ids + 21 new tokens with --logits_out, and compare every logits row with
llama_reference on prompt + generated[:-1]. Pass: max|diff| <= 1e-4 * max|logit| on every fixture.
Also checked: each generated token is the argmax of pte's own logits row before it. Greedy
token equality with the reference is reported (required only with --require_tokens).
"""
import os
import sys

import numpy as np
import torch

import parity_util as pu
from llama_reference import LlamaReference

PROMPT_LEN, NEW_TOKENS, REL_TOL = 13, 21, 1e-4


def main():
    ap = pu.parser(__doc__.split("\n")[0], fixtures=True)
    ap.add_argument("--require_tokens", action="store_true",
                    help="also fail when the greedy tokens differ from the reference's")
    args = ap.parse_args()
    pu.setup(args)
    fixtures = pu.load_fixtures(args)
    rng = np.random.default_rng(20240601)
    failures = []
    print("%-40s %5s %10s %10s %9s %7s" % ("fixture", "rows", "max|diff|", "max|logit|", "rel", "tokens"))
    for fx in fixtures:
        name = fx["name"]
        out = os.path.join(args.workdir, name + ".pte")
        npy = os.path.join(args.workdir, name + ".logits.npy")
        try:
            pu.export(args.pte, fx["checkpoint"], fx["params"], out,
                      pu.FP32_FLAGS + ["--max_context_len", "64", "--input_len", "8"])
            ref = LlamaReference.load(fx["checkpoint"], fx["params"])
            prompt = rng.integers(0, ref.vocab, PROMPT_LEN).tolist()
            if os.path.exists(npy):
                os.remove(npy)
            r = pu.run([args.pte, "run", "-m", out, "--prompt_ids", pu.ids_arg(prompt),
                        "--max_new_tokens", str(NEW_TOKENS), "--json", "--logits_out", npy])
            js = r.json()
            gen = [int(t) for t in js["tokens"]]
            if len(gen) != NEW_TOKENS:
                raise RuntimeError("pte run generated %d tokens, expected %d" % (len(gen), NEW_TOKENS))
            got = np.load(npy)
            seq = prompt + gen[:-1]
            if got.dtype != np.float32 or got.shape != (len(seq), ref.vocab):
                raise RuntimeError("logits_out has dtype %s shape %s, expected float32 %s"
                                   % (got.dtype, got.shape, (len(seq), ref.vocab)))
            want = ref.logits(seq).numpy()
            diff = float(np.abs(got.astype(np.float64) - want).max())
            scale = float(np.abs(want).max())
            rel = diff / scale
            ref_gen = ref.greedy(prompt, NEW_TOKENS)
            same = sum(a == b for a, b in zip(gen, ref_gen))
            print("%-40s %5d %10.3g %10.3g %9.2e %4d/%d" % (name, len(seq), diff, scale, rel, same, NEW_TOKENS))
            if not np.isfinite(got).all():
                failures.append("%s: non-finite logits" % name)
            elif not rel <= REL_TOL:
                row = int(np.abs(got - want).max(axis=1).argmax())
                failures.append("%s: max|diff| %.3g > %.0e * max|logit| %.3g (worst row %d)"
                                % (name, diff, REL_TOL, scale, row))
            own = got[PROMPT_LEN - 1:].argmax(axis=1).tolist()
            if own != gen[:len(own)]:
                failures.append("%s: generated tokens %s are not the argmax of pte's own logits rows %s"
                                % (name, gen, own))
            if same != NEW_TOKENS:
                first = next(i for i, (a, b) in enumerate(zip(gen, ref_gen)) if a != b)
                msg = ("%s: greedy tokens differ from the reference from position %d: pte %s, ref %s"
                       % (name, first, gen, ref_gen))
                print("  " + msg)
                if args.require_tokens:
                    failures.append(msg)
        except Exception as e:  # report every fixture, then fail
            print("%-40s FAILED: %s" % (name, e))
            failures.append("%s: %s" % (name, e))
    if failures:
        print("\nFAIL (%d):" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    print("\nPASS: %d fixtures within %.0e relative" % (len(fixtures), REL_TOL))
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
