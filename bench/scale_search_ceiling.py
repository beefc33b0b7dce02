#!/usr/bin/python3
"""How far can a better per-block scale take c4w? The KL of stories260K (fp16, c4w) for scales
chosen by least squared weight error on ever finer grids, computed in PyTorch alone.

    /usr/bin/python3 bench/scale_search_ceiling.py [--example examples/stories260K]

The protocol of tests/parity/test_quant_search_quality.py, in PyTorch: the float model
(llama_reference, fp32) generates 300 greedy tokens from BOS and is teacher-forced over them;
every variant is the same model with each linear (the tied head included) replaced by its
dequantized c4w weights, T(q * s) in fp16 with the reference coding q = clamp(rint(T(x * T(1/s)))),
and is compared by mean KL(P || Q) over the 300 rows. Variants:
  reference   s = T(amax / 7.5) (quantization_reference)
  grid        the least-error scale of amax * p / (100 * 7.5), p = 70, 75, .., 110 plus the
              reference (the coarse grid of --quant_search mse)
  dense       the same over p = 40.0, 40.1, .., 120.0 (801 factors): a bound on what any choice
              of one scale per row under the squared-error objective can reach
It prints each KL and its ratio to the reference. This prints figures; it asserts nothing.
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))
import quantization_reference as qr  # noqa: E402
from llama_reference import LlamaReference, Params, load_state_dict  # noqa: E402

LINEARS = ["attention.wq", "attention.wk", "attention.wv", "attention.wo",
           "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"]


def fp16(t):
    return t.to(torch.float16).to(torch.float32)


def coded(w, s):
    """Dequantized reference coding of fp16 rows w [n, k] with per-row fp16 scales s [n]."""
    recip = fp16(1.0 / s)[:, None]
    q = torch.clamp(torch.round(fp16(w * recip)), -8, 7)
    return fp16(q * s[:, None])


def least_error(w, factors):
    """Per row, the dequantized row of least squared error over the reference scale and
    amax * f / 7.5 for f in factors (the reference first; ties keep the earlier)."""
    amax = w.abs().amax(1)
    s = torch.clamp(fp16(amax / 7.5), min=2 ** -14)
    best = coded(w, s)
    best_err = ((w - best).double() ** 2).sum(1)
    for f in factors:
        s = torch.clamp(fp16((amax.double() * f / 7.5).float()), min=2 ** -14)
        d = coded(w, s)
        err = ((w - d).double() ** 2).sum(1)
        better = err < best_err
        best[better] = d[better]
        best_err[better] = err[better]
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--example", default=os.path.join(HERE, "..", "examples", "stories260K"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    sd = load_state_dict(os.path.join(args.example, "model.pth"))
    params = Params.load(os.path.join(args.example, "params.json"))
    base = LlamaReference(sd, params)
    with torch.no_grad():
        gen = base.greedy([1], 300)
        seq = [1] + gen[:-1]
        logp = torch.log_softmax(base.logits(seq).double(), -1)
    names = ["layers.%d.%s.weight" % (l, n) for l in range(params.n_layers) for n in LINEARS]
    head = "output.weight" if "output.weight" in sd else None

    def kl_of(dequantize):
        sd2 = dict(sd)
        for name in names:
            sd2[name] = dequantize(fp16(sd[name].float()))
        sd2["output.weight"] = dequantize(fp16(sd[head or "tok_embeddings.weight"].float()))
        with torch.no_grad():
            logq = torch.log_softmax(LlamaReference(sd2, params).logits(seq).double(), -1)
        return float((logp.exp() * (logp - logq)).sum(-1).mean())

    def reference(w):
        q, s = qr.quantize(w, torch.float16, 4, 0)
        return qr.dequantize(q, s, torch.float16).to(torch.float32)

    variants = [("reference", reference),
                ("grid", lambda w: least_error(w, [p / 100 for p in range(70, 111, 5)])),
                ("dense", lambda w: least_error(w, [p / 1000 for p in range(400, 1201)]))]
    print("%-10s %10s %10s" % ("c4w fp16", "mean KL", "KL / ref"))
    ref = None
    for name, fn in variants:
        kl = kl_of(fn)
        ref = ref or kl
        print("%-10s %10.4g %10.3f" % (name, kl, kl / ref), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
