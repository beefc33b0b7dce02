#!/usr/bin/python3
"""Quantized fp32 exports run like PyTorch on PyTorch-dequantized weights; splitting is exact.

    /usr/bin/python3 tests/parity/test_quantized_logits.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_qlogits

1. For c4w, b4w, -E 8,0, -E 4,32, -E 8,64, -E 4,0 in fp32, on a random Llama (dim 64, 2 layers,
   4/2 heads, hidden 128, vocab 96), tied and untied, and untied with dim 128 / hidden 256: `pte run` teacher-forced on 19 prompt ids
   (--input_len 8, so three calls) must match llama_reference run on weights replaced by
   quantization_reference's dequantized values (not values read from the file): max|diff| <=
   1e-4 * max|logit|. The same logits must differ from the unquantized reference by more than
   3e-4 * max|logit| (the file really is quantized).
2. Splitting (--target_split_size 32: wq 2, w1/w3 4, wo/w2 2, head 3 chunks; wk/wv stay one):
   the split export's logits equal the unsplit export's exactly (np.array_equal) for fp32
   unquantized, c4w and b4w; the split keys are as SPEC §5 says.
3. --target_split_size 48: wq (64) and wk/wv (32) are not split (no ':rows' keys), w1 is 2 chunks.
   --max_splits 2 with target 8 caps every linear at 2 chunks.
4. hidden 112 with --target_split_size 32 (112 rows into 3 chunks) fails naming
   layers.0.feed_forward.w1.weight.
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

import parity_util as pu
import quantization_reference as qr
from llama_reference import LlamaReference, Params
from make_fixtures import make_state_dict
from pte_file import PteFile, parse_key
from test_quantization_bitexact import LINEARS, MODES, PARAMS, PARAMS_WIDE, split_ranges, write_fixture

REL_TOL = 1e-4
MIN_QUANT_EFFECT = 3e-4  # quantized logits must move at least this much (relative) from float
PROMPT_LEN, INPUT_LEN, CTX = 19, 8, 64


def dequantized_state_dict(sd, n_layers, lin, emb, T=torch.float32):
    """State dict (in T) with every quantized weight replaced by PyTorch's T(q * scale); the head
    is always given explicitly as output.weight (for a tied checkpoint: the embedding quantized
    as a linear). Linears whose input size is not a multiple of the group stay float (b4w)."""
    deq = lambda w, bits, group: qr.dequantize(*qr.selfcheck(w, T, bits, group), T)
    out = OrderedDict((k, v.to(T)) for k, v in sd.items())
    head = sd["output.weight"] if "output.weight" in sd else sd["tok_embeddings.weight"]
    for l in range(n_layers):
        for x in LINEARS:
            name = "layers.%d.%s.weight" % (l, x)
            if lin is not None and (lin[1] == 0 or sd[name].shape[1] % lin[1] == 0):
                out[name] = deq(sd[name], *lin)
    quant_head = lin is not None and (lin[1] == 0 or head.shape[1] % lin[1] == 0)
    out["output.weight"] = deq(head, *lin) if quant_head else head.to(T)
    if emb is not None:
        out["tok_embeddings.weight"] = deq(sd["tok_embeddings.weight"], *emb)
    return out


def run_logits(pte, model, prompt, npy):
    if os.path.exists(npy):
        os.remove(npy)
    pu.run([pte, "run", "-m", model, "--prompt_ids", pu.ids_arg(prompt), "--max_new_tokens", "0",
            "--json", "--logits_out", npy])
    return np.load(npy)


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    args = ap.parse_args()
    pu.setup(args)
    failures = []
    p = Params(PARAMS)
    fx = {}
    for tied in (False, True):
        sd = make_state_dict(p, 9100 + tied, with_output=not tied)
        d = os.path.join(args.workdir, "fx_%s" % ("tied" if tied else "untied"))
        fx[tied] = write_fixture(d, "fp32", tied, 0, sd=sd)
    # dim 128: -E 8,64 / -E 4,32 / b4w with several groups per row
    pw = Params(PARAMS_WIDE)
    fx["wide"] = write_fixture(os.path.join(args.workdir, "fx_wide"), "fp32", False, 0, params=PARAMS_WIDE,
                               sd=make_state_dict(pw, 9200, with_output=True))
    prompt = np.random.default_rng(55).integers(0, p.vocab_size, PROMPT_LEN).tolist()
    base = ["--dtype", "fp32", "--max_context_len", str(CTX), "--input_len", str(INPUT_LEN)]

    # 1. quantized modes against the PyTorch dequantized model
    print("%-16s %10s %10s %9s %12s" % ("mode (fp32)", "max|diff|", "max|logit|", "rel", "rel vs float"))
    for mode, (flags, lin, emb) in MODES.items():
        for tied in (False, True, "wide"):
            tag = "%s %s" % (mode, {False: "untied", True: "tied", "wide": "wide"}[tied])
            ckpt, pj, sd, _ = fx[tied]
            pp = pw if tied == "wide" else p
            out = os.path.join(args.workdir, tag.replace(" ", "_").replace(",", "_") + ".pte")
            try:
                pu.export(args.pte, ckpt, pj, out, base + flags)
                got = run_logits(args.pte, out, prompt, out + ".npy")
                want = LlamaReference(dequantized_state_dict(sd, pp.n_layers, lin, emb), pp).logits(prompt).numpy()
                flt = LlamaReference(sd, pp).logits(prompt).numpy()
                if got.shape != want.shape:
                    raise RuntimeError("logits shape %s, expected %s" % (got.shape, want.shape))
                scale = float(np.abs(want).max())
                diff = float(np.abs(got.astype(np.float64) - want).max())
                dflt = float(np.abs(got.astype(np.float64) - flt).max()) / scale
                print("%-16s %10.3g %10.3g %9.2e %12.2e" % (tag, diff, scale, diff / scale, dflt))
                if not np.isfinite(got).all() or not diff <= REL_TOL * scale:
                    row = int(np.abs(got - want).max(axis=1).argmax())
                    failures.append("%s: max|diff| %.3g > %.0e * max|logit| %.3g (worst row %d)"
                                    % (tag, diff, REL_TOL, scale, row))
                if not dflt > MIN_QUANT_EFFECT:
                    failures.append("%s: logits differ from the float model by only %.2e relative; "
                                    "is the export quantized?" % (tag, dflt))
            except Exception as e:
                failures.append("%s: %s" % (tag, e))
                print("%-16s FAILED: %s" % (tag, e))

    # 2. split vs unsplit, exactly
    ckpt, pj, sd, _ = fx[False]
    print()
    for name, flags in (("none", pu.FP32_FLAGS[2:]), ("c4w", MODES["c4w"][0]), ("b4w", MODES["b4w"][0])):
        tag = "split32 %s" % name
        try:
            f1 = os.path.join(args.workdir, "unsplit_%s.pte" % name)
            f2 = os.path.join(args.workdir, "split32_%s.pte" % name)
            pu.export(args.pte, ckpt, pj, f1, base + flags)
            pu.export(args.pte, ckpt, pj, f2, base + flags + ["--target_split_size", "32"])
            a = run_logits(args.pte, f1, prompt, f1 + ".npy")
            b = run_logits(args.pte, f2, prompt, f2 + ".npy")
            chunks = {}
            for k in PteFile(f2, args.pte).weight_keys():
                pk = parse_key(k)
                if not pk["scales"] and pk["name"] != "tok_embeddings.weight" and "norm" not in pk["name"]:
                    chunks.setdefault(pk["name"], []).append(pk["rows"])
            want_chunks = {n: sorted(split_ranges(sd[n].shape[0], 32, 8), key=lambda r: r or (0,))
                           for n in chunks}
            got_chunks = {n: sorted(v, key=lambda r: r or (0,)) for n, v in chunks.items()}
            n_linears = p.n_layers * len(LINEARS) + 1
            same = np.array_equal(a, b)
            print("%-16s logits equal the unsplit export's: %s (max|diff| %.3g); %d linears -> %d chunks"
                  % (tag, same, float(np.abs(a.astype(np.float64) - b).max()), len(got_chunks),
                     sum(len(v) for v in got_chunks.values())))
            if not same:
                failures.append("%s: split logits differ from unsplit (max|diff| %.3g)"
                                % (tag, float(np.abs(a.astype(np.float64) - b).max())))
            if got_chunks != want_chunks or len(got_chunks) != n_linears:
                failures.append("%s: chunks %s, expected %s" % (tag, got_chunks, want_chunks))
        except Exception as e:
            failures.append("%s: %s" % (tag, e))
            print("%-16s FAILED: %s" % (tag, e))

    # 3. below the target: one chunk; max_splits caps
    for target, max_splits, expect in ((48, 8, {"attention.wq": 1, "attention.wk": 1, "attention.wv": 1,
                                                "attention.wo": 1, "feed_forward.w1": 2,
                                                "feed_forward.w2": 1, "feed_forward.w3": 2}),
                                       (8, 2, {x: 2 for x in LINEARS})):
        tag = "target %d max_splits %d" % (target, max_splits)
        try:
            f = os.path.join(args.workdir, "t%d_m%d.pte" % (target, max_splits))
            pu.export(args.pte, ckpt, pj, f, base + MODES["c4w"][0] +
                      ["--target_split_size", str(target), "--max_splits", str(max_splits)])
            keys = PteFile(f, args.pte).weight_keys()
            for l in range(p.n_layers):
                for x, n in expect.items():
                    name = "layers.%d.%s.weight" % (l, x)
                    ks = [k for k in keys if parse_key(k)["name"] == name and not parse_key(k)["scales"]]
                    rows = [parse_key(k)["rows"] for k in ks]
                    ok = (rows == [None]) if n == 1 else (len(rows) == n and None not in rows)
                    if not ok:
                        failures.append("%s: %s has blobs %s, expected %d chunk(s)%s"
                                        % (tag, name, ks, n, " with no ':rows'" if n == 1 else ""))
            print("%-24s chunk counts as expected: %s" % (tag, "yes" if not any(tag in f_ for f_ in failures)
                                                          else "NO"))
        except Exception as e:
            failures.append("%s: %s" % (tag, e))

    # 4. uneven split is an error naming the layer
    sd112 = OrderedDict((k, v.clone()) for k, v in sd.items())
    for l in range(p.n_layers):
        pre = "layers.%d.feed_forward." % l
        sd112[pre + "w1.weight"] = sd[pre + "w1.weight"][:112].clone()
        sd112[pre + "w3.weight"] = sd[pre + "w3.weight"][:112].clone()
        sd112[pre + "w2.weight"] = sd[pre + "w2.weight"][:, :112].clone()
    c112, p112, _, _ = write_fixture(os.path.join(args.workdir, "fx_h112"), "fp32", False, 0,
                                     params=dict(PARAMS, hidden_dim=112), sd=sd112)
    r = pu.run([args.pte, "export", "-c", c112, "-p", p112, "-o", os.path.join(args.workdir, "h112.pte"),
                "--target_split_size", "32"], check=False)
    msg = r.stderr.strip()
    print("\nuneven split (112 rows / 3): rc %s: %s" % (r.rc, msg.splitlines()[-1:] if msg else ""))
    if r.rc in (0, None) or "layers.0.feed_forward.w1.weight" not in (r.stderr + r.stdout):
        failures.append("uneven split: expected an error naming layers.0.feed_forward.w1.weight, got rc %s: %s"
                        % (r.rc, msg[-400:]))

    return pu.finish(failures)


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
