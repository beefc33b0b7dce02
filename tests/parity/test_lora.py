#!/usr/bin/python3
"""LoRA adapter methods compute the merged-weights model; base weights are shared, A/B stay float.

    /usr/bin/python3 tests/parity/test_lora.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_lora [--example examples/stories260K]

Adapters from make_adapters.py on stories260K: "a" (q,k,v; r 8, alpha 16, use_rslora) and
"b" (o, gate, up, down; r 4, alpha 8).
1. fp32 unquantized export with both adapters (--input_len 8, 20-token prompt, so 3 calls): methods
   forward, a, b with adapters null/"a"/"b". Teacher-forced logits of method NAME equal PyTorch on
   W + scale·P(B)·A (q/k lora_B rows permuted from HF rotate-half to Meta order) to
   1e-4 · max|logit|; each differs from the base logits by > 1e-2 · max|logit|. The wrong merges
   (no q/k permutation; lora_alpha/r instead of rslora) are printed to show they would be caught.
   Method forward equals the no-adapter export's logits exactly.
2. Default export (fp16, -E 8,0, c4w) with both adapters vs without: no key is listed twice, the
   base weight blobs are the same keys with the same bytes (sha256), each adapter method uses
   exactly forward's constants plus its own blobs; these are the lora_a/lora_b blobs of every
   targeted linear, keys naming the adapter, stored fp16 (no q<bits>g<group>/scales tag; recipe tags
   such as ':interleave8' allowed), holding fp16(A), and fp16(P(B)) for q/k, fp16(B) otherwise.
"""
import collections
import os
import re
import sys

import numpy as np
import torch

import parity_util as pu
from llama_reference import LlamaReference, Params, load_state_dict
from make_adapters import PEFT_TO_META, lora_scale, make_adapters, merged_state_dict, meta_b, peft_key
from pte_file import PteFile

PROMPT = [1, 403, 407, 261, 378]
N_TOKENS = 20            # teacher-forced sequence length (> 2 * input_len)
INPUT_LEN, CTX = 8, 64
REL_TOL = 1e-4
MIN_EFFECT = 1e-2


def run_logits(pte, model, method, seq, npy):
    if os.path.exists(npy):
        os.remove(npy)
    pu.run([pte, "run", "-m", model, "--method", method, "--prompt_ids", pu.ids_arg(seq),
            "--max_new_tokens", "0", "--json", "--logits_out", npy])
    return np.load(npy)


def rel(a, b, scale):
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max()) / scale


def names_adapter(key, name):
    """The key contains `name` as a whole word (not inside e.g. 'attention' or 'lora_a')."""
    return re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(name), key) is not None


def plain_float_key(key, dtype):
    """name:DTYPE[:tag...] with no quantization tag (q<bits>g<group>, scales); other tags, such as
    the recipe step ':interleave8' of permuted q/k lora_B, are allowed."""
    parts = key.split(":")
    return len(parts) >= 2 and parts[1] == dtype and not any(
        re.fullmatch(r"q\d+g\d+|scales", t) for t in parts[2:])


def method_constants(info):
    return {m["name"]: set(c for pc in m.get("pieces", []) for c in pc.get("constants", []))
            for m in info["methods"]}


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    ap.add_argument("--example", default=pu.EXAMPLE_DIR)
    args = ap.parse_args()
    pu.setup(args)
    ckpt = os.path.join(args.example, "model.pth")
    params = os.path.join(args.example, "params.json")
    p = Params.load(params)
    base_sd = load_state_dict(ckpt)
    ads = make_adapters(os.path.join(args.workdir, "adapters"), ckpt, params)
    adapter_flags = [x for ad in ads for x in ("--adapter", ad["name"], ad["checkpoint"], ad["config"])]
    failures = []

    def check(cond, msg):
        print(("ok    " if cond else "FAIL  ") + msg)
        if not cond:
            failures.append(msg)

    base_ref = LlamaReference(base_sd, p)
    seq = PROMPT + base_ref.greedy(PROMPT, N_TOKENS - len(PROMPT))
    base_logits = base_ref.logits(seq).numpy()

    # 1. fp32 logits
    flags = pu.FP32_FLAGS + ["--input_len", str(INPUT_LEN), "--max_context_len", str(CTX)]
    plain = os.path.join(args.workdir, "fp32_plain.pte")
    withad = os.path.join(args.workdir, "fp32_adapters.pte")
    try:
        pu.export(args.pte, ckpt, params, plain, flags)
        r = pu.export(args.pte, ckpt, params, withad, flags + adapter_flags)
        print("fp32 export with adapters: %.2f s, %d bytes (without: %d)"
              % (r.seconds, os.path.getsize(withad), os.path.getsize(plain)))
        info = PteFile(withad, args.pte).info
        methods = {m["name"]: m.get("adapter") for m in info["methods"]}
        adapter_of = {k: (v.get("name") if isinstance(v, dict) else v) for k, v in methods.items()}
        check(adapter_of == {"forward": None, "a": "a", "b": "b"},
              "methods %s (expected forward, a, b with adapters null, a, b)" % adapter_of)

        got_base = run_logits(args.pte, withad, "forward", seq, withad + ".forward.npy")
        plain_base = run_logits(args.pte, plain, "forward", seq, plain + ".npy")
        check(np.array_equal(got_base, plain_base),
              "method forward of the adapter file equals the no-adapter export exactly (max|diff| %.3g)"
              % float(np.abs(got_base.astype(np.float64) - plain_base).max()))
        scale = float(np.abs(base_logits).max())
        check(rel(got_base, base_logits, scale) <= REL_TOL,
              "method forward vs PyTorch base: rel %.2e" % rel(got_base, base_logits, scale))

        print("%-8s %12s %12s %14s %14s" % ("method", "rel vs ref", "rel vs base", "rel vs no-perm",
                                           "rel vs alpha/r"))
        for ad in ads:
            name = ad["name"]
            want = LlamaReference(merged_state_dict(base_sd, p, ad["tensors"], ad["cfg"]), p).logits(seq).numpy()
            noperm = LlamaReference(merged_state_dict(base_sd, p, ad["tensors"], ad["cfg"], permute=False),
                                    p).logits(seq).numpy()
            cfg_plain = dict(ad["cfg"], use_rslora=False)
            alpha_r = LlamaReference(merged_state_dict(base_sd, p, ad["tensors"], cfg_plain), p).logits(seq).numpy()
            got = run_logits(args.pte, withad, name, seq, withad + ".%s.npy" % name)
            if got.shape != want.shape:
                check(False, "method %s: logits shape %s, expected %s" % (name, got.shape, want.shape))
                continue
            s = float(np.abs(want).max())
            d_ref, d_base = rel(got, want, s), rel(got, base_logits, s)
            print("%-8s %12.2e %12.2e %14.2e %14.2e" % (name, d_ref, d_base, rel(got, noperm, s),
                                                        rel(got, alpha_r, s)))
            check(np.isfinite(got).all() and d_ref <= REL_TOL,
                  "method %s equals PyTorch merged weights (scale %.4f%s): rel %.2e <= %.0e"
                  % (name, lora_scale(ad["cfg"]), ", rslora" if ad["cfg"].get("use_rslora") else "",
                     d_ref, REL_TOL))
            check(d_base > MIN_EFFECT, "method %s changes the logits vs base: rel %.2e > %.0e"
                  % (name, d_base, MIN_EFFECT))
    except Exception as e:
        check(False, "fp32 adapter export/run: %s" % e)

    # 2. default export: sharing and float A/B blobs
    dplain = os.path.join(args.workdir, "default_plain.pte")
    dad = os.path.join(args.workdir, "default_adapters.pte")
    try:
        pu.export(args.pte, ckpt, params, dplain, [])
        pu.export(args.pte, ckpt, params, dad, adapter_flags)
        fp, fa = PteFile(dplain, args.pte), PteFile(dad, args.pte)
        print("default export: %d bytes without adapters, %d with" % (len(fp.data), len(fa.data)))
        listed = [b["key"] for b in fa.info["blobs"]]
        dups = [k for k, n in collections.Counter(listed).items() if n > 1]
        check(not dups, "no blob key listed twice%s" % (": %s" % dups if dups else ""))
        base_keys = [k for k in fp.weight_keys()]
        missing = [k for k in base_keys if k not in fa.blobs]
        changed = [k for k in base_keys if k in fa.blobs and fa.blobs[k]["sha256"] != fp.blobs[k]["sha256"]]
        check(not missing and not changed, "all %d base weight blobs present once with the same bytes%s"
              % (len(base_keys), (" (missing %s, changed %s)" % (missing[:4], changed[:4])) if missing or changed else ""))
        # no base weight stored a second time under another key
        base_hashes = {fp.blobs[k]["sha256"] for k in base_keys}
        copies = [k for k in fa.blobs if k not in fp.blobs and fa.blobs[k]["sha256"] in base_hashes]
        check(not copies, "no copy of a base weight under another key%s" % (": %s" % copies[:4] if copies else ""))

        consts = method_constants(fa.info)
        check(set(consts) == {"forward", "a", "b"}, "default file methods %s" % sorted(consts))
        base_consts = consts.get("forward", set())
        for ad in ads:
            name = ad["name"]
            own = consts.get(name, set()) - base_consts
            check(base_consts <= consts.get(name, set()),
                  "method %s uses every base constant of forward" % name)
            bad_names = [k for k in own if not (names_adapter(k, name) and ("lora_a" in k or "lora_b" in k))]
            check(not bad_names, "method %s's own blobs all name the adapter and lora_a/lora_b%s"
                  % (name, ": %s" % bad_names[:4] if bad_names else ""))
            # map each expected (layer, module, A/B) to its blob(s)
            expected, problems = 0, []
            for layer in range(p.n_layers):
                for module in ad["cfg"]["target_modules"]:
                    meta = PEFT_TO_META[module][0]
                    for ab in ("a", "b"):
                        expected += 1
                        stem = "layers.%d.%s.lora_%s" % (layer, meta, ab)
                        ks = [k for k in own if stem in k]
                        if len(ks) != 1:
                            problems.append("%s: blobs %s" % (stem, ks))
                            continue
                        if not plain_float_key(ks[0], "fp16"):
                            problems.append("%s is not a plain fp16 blob" % ks[0])
                            continue
                        t = ad["tensors"][peft_key(layer, module, ab.upper())]
                        if ab == "b":
                            t = meta_b(ad["tensors"], ad["cfg"], p, layer, module)
                        try:
                            stored = fa.floats(ks[0], "fp16", tuple(t.shape))
                        except ValueError as e:
                            problems.append(str(e))
                            continue
                        if not torch.equal(stored, t.half()):
                            what = " (rows not permuted HF->Meta?)" if ab == "b" and module in ("q_proj", "k_proj") \
                                and torch.equal(stored, ad["tensors"][peft_key(layer, module, "B")].half()) else ""
                            problems.append("%s holds other values than fp16(%s)%s" % (ks[0], "P(B)" if
                                            ab == "b" and module in ("q_proj", "k_proj") else ab.upper(), what))
            check(not problems and len(own) == expected,
                  "adapter %s: %d lora_a/lora_b blobs, fp16, values fp16(A) / fp16(P(B)) (found %d own blobs)%s"
                  % (name, expected, len(own), "; " + "; ".join(problems[:4]) if problems else ""))
        ab_bytes = sum(fa.blobs[k]["size"] for k in fa.blobs if k not in fp.blobs and ("lora_a" in k or "lora_b" in k))
        print("default file growth %d bytes, of which A/B blobs %d"
              % (len(fa.data) - len(fp.data), ab_bytes))
    except Exception as e:
        check(False, "default adapter export: %s" % e)

    return pu.finish(failures)


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
