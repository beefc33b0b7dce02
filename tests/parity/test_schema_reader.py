#!/usr/bin/python3
"""The reader written from the schema alone (readers/python/pte_reader) agrees with pte.

    /usr/bin/python3 tests/parity/test_schema_reader.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_schema_reader --example examples/stories260K

For stories260K files (fp32 unquantized, fp32 c4w/-E 8,0, fp16 c4w/-E 8,0):
  - its listing (methods, blobs with offsets, sizes and SHA-256s, metadata keys) equals
    `pte inspect --json`'s;
  - its dequantized weights are within half a quantization step of the checkpoint's (PyTorch);
  - its numpy run of `forward` under the runner protocol gives the greedy tokens of
    `pte run --logits_out` and logits within 1e-5 · max|logit| per row for the fp32 files. fp16
    files keep fp16 activations, so an fp32 rounding difference in a dot product can move an
    activation by one fp16 step (the fast and reference executors differ by ~1e-3 there too):
    their figure is printed and bounded by 1e-2 · max|logit|.
"""
import json
import os
import sys

import numpy as np
import torch

import parity_util as pu
import schema_path  # noqa: F401
import pte_reader

PROMPT = [1, 403, 407, 261, 1, 2, 3, 4, 5, 6, 7]  # two chunks of T = 8
NEW_TOKENS = 20
FILES = [("fp32", ["--dtype", "fp32", "-E", "none", "--linear_quantize", "none"], 1e-5),
         ("fp32_c4w_e8", ["--dtype", "fp32", "-E", "8,0", "--linear_quantize", "c4w"], 1e-5),
         ("fp16_c4w_e8", ["--dtype", "fp16", "-E", "8,0", "--linear_quantize", "c4w"], 1e-2)]


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    ap.add_argument("--example", required=True)
    args = ap.parse_args()
    pu.setup(args)
    failures = []

    def check(ok, what):
        print(("ok: " if ok else "FAIL: ") + what)
        if not ok:
            failures.append(what)

    ckpt, params = os.path.join(args.example, "model.pth"), os.path.join(args.example, "params.json")
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    state = state.get("model", state)
    for name, flags, tol in FILES:
        path = os.path.join(args.workdir, name + ".pte")
        pu.export(args.pte, ckpt, params, path, flags + ["--input_len", "8", "--max_context_len", "64"])
        f = pte_reader.PteFile(path)

        info = pu.run([args.pte, "inspect", path, "--json"]).json()
        mine = sorted((b["key"], b["offset"], b["size"], b["alignment"], b["sha256"].hex()) for b in f.blobs.values())
        theirs = sorted((b["key"], b["offset"], b["size"], b["alignment"], b["sha256"]) for b in info["blobs"])
        check(mine == theirs, "%s: %d blobs with the offsets, sizes and digests of pte inspect" % (name, len(mine)))
        check(sorted(f.methods) == sorted(m["name"] for m in info["methods"]) and
              sorted(f.metadata) == sorted(info["metadata"]),
              "%s: methods %s and %d metadata keys as pte inspect" % (name, sorted(f.methods), len(f.metadata)))

        if "c4w" in name:
            worst = {}
            for key in f.constants:
                k = pte_reader_key(key)
                if k is None or not k["bits"] or k["scales"] or k["name"] not in state:
                    continue
                w = pte_reader.weight(f, key).astype(np.float32)
                # the exporter quantizes the weight cast to the model dtype, in that dtype (SPEC §6)
                ref = state[k["name"]].to(torch.float16 if k["dtype"] == "fp16" else torch.float32).float().numpy()
                if k["rows"]:
                    ref = ref[k["rows"][0]:k["rows"][1]]
                c = f.constants[key].constant
                scales = pte_reader.weight_scales(f, key)
                step = np.repeat(scales, ref.shape[-1] // scales.shape[-1], axis=-1) if c.group_size else scales[:, None]
                # half a step; with fp16, also the fp16 rounding of x/scale and of q*scale, each up
                # to half an fp16 ulp of a value of up to 2^(bits-1) steps
                bound = 0.5 + (2 * 2 ** (k["bits"] - 1) * 2 ** -11 if k["dtype"] == "fp16" else 1e-4)
                worst[key] = float(np.max(np.abs(w - ref) / step)) / bound
            check(len(worst) > 10 and max(worst.values()) <= 1,
                  "%s: %d dequantized weights within their bound of the checkpoint (worst %.4f of it)"
                  % (name, len(worst), max(worst.values(), default=-1)))

        out = os.path.join(args.workdir, name + ".npy")
        r = pu.run([args.pte, "run", "-m", path, "--prompt_ids", pu.ids_arg(PROMPT), "--max_new_tokens",
                    str(NEW_TOKENS), "--ignore_eos", "--json", "--logits_out", out])
        tokens = json.loads(r.stdout.strip().splitlines()[-1])["tokens"]
        ref = np.load(out)
        got_tokens, got = pte_reader.Runner(f).greedy(PROMPT, NEW_TOKENS)
        check(got_tokens == tokens, "%s: greedy tokens %s equal pte run's" % (name, got_tokens))
        if got.shape != ref.shape:
            check(False, "%s: %s logits rows, pte run wrote %s" % (name, got.shape, ref.shape))
            continue
        rel = float(np.max(np.abs(got - ref).max(axis=1) / np.abs(ref).max(axis=1)))
        check(rel <= tol, "%s: %d logits rows, max |numpy - pte run| / max|logit| = %.3g (<= %g)"
              % (name, got.shape[0], rel, tol))
        if tol > 1e-5:  # the same figure between pte's own two executors, for scale
            ref_out = os.path.join(args.workdir, name + ".reference.npy")
            pu.run([args.pte, "run", "-m", path, "--prompt_ids", pu.ids_arg(PROMPT), "--max_new_tokens",
                    str(NEW_TOKENS), "--ignore_eos", "--executor", "reference", "--logits_out", ref_out])
            oracle = np.load(ref_out)
            scale = np.abs(ref).max(axis=1)
            print("  %s: pte run --executor reference vs fast: %.3g; numpy vs reference: %.3g"
                  % (name, float(np.max(np.abs(oracle - ref).max(axis=1) / scale)),
                     float(np.max(np.abs(got - oracle).max(axis=1) / scale))))
    return pu.finish(failures)


def pte_reader_key(key):
    from pte_file import parse_key
    return parse_key(key)


if __name__ == "__main__":
    sys.exit(main())
