#!/usr/bin/python3
"""--quant_search mse, --calibration and --quant PATTERN=MODE, checked from the file's bytes.

    /usr/bin/python3 tests/parity/test_quant_search.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_qsearch [--example examples/stories260K]

1. Per-block error: stories260K (fp16 and fp32) and the adversarial fixture of
   test_quantization_bitexact (fp16 untied, fp32 tied) exported with --quant_search mse in c4w,
   b4w, -E 8,0, -E 4,32 and c8w (--quant output=c8w). For every block of every quantized blob
   the squared error sum((x - T(q * s))^2) of the file's codes and scales (x: the checkpoint
   tensor cast to T, computed here in numpy float64) must not exceed the error of
   quantization_reference's scale; the codes must be the reference coding for the file's scale,
   clamp(rint(T(x * T(1/s)))); and some blocks must be strictly better.
2. --quant_search mse (with and without --calibration) gives byte-identical files with
   --threads 1 and 2.
3. c8w: --quant '*=c8w' on the fixture (fp16 and fp32): codes and scales byte-identical to
   quantization_reference at 8 bits; an fp32 c8w export of a random (non-adversarial) Llama run
   by both executors (fast and reference) matches llama_reference on the weights dequantized by
   quantization_reference within 1e-4 * max|logit|.
4. stories260K --quant output=c8w --quant 'layers.0.*=none': read back with `pte inspect --json`,
   the head is int8 per row, the layer-0 linears are float and the others int4 per row; the
   quantization.plan metadata says the same; a pattern matching no linear fails and writes nothing.
"""
import json
import os
import sys

import numpy as np
import torch

import parity_util as pu
import quantization_reference as qr
from llama_reference import LlamaReference, Params, load_state_dict
from make_fixtures import make_state_dict
from pte_file import PteFile, parse_key
from test_quantization_bitexact import PARAMS, write_fixture
from test_quantized_logits import dequantized_state_dict

TORCH_T = {"fp16": torch.float16, "fp32": torch.float32}
NP_T = {"fp16": np.float16, "fp32": np.float32}
REL_SLACK = 1e-9  # summation order differs between numpy and the exporter


def block_errors(x, q, s, T, group):
    """x [n, k] float64 values of T, codes q [n, k], scales s [n] or [n, G] -> errors [n, G]."""
    n, k = x.shape
    g = k if group == 0 else group
    d = (q.astype(np.float64).reshape(n, k // g, g) * s.astype(np.float64).reshape(n, -1, 1))
    d = d.astype(NP_T[T]).astype(np.float64)
    return ((x.reshape(n, k // g, g) - d) ** 2).sum(-1)


def reference_coding(x, s, T, bits, group):
    """clamp(rint(T(x * T(1 / s)))) for the given scales, in numpy."""
    n, k = x.shape
    g = k if group == 0 else group
    nT = NP_T[T]
    recip = (1.0 / s.astype(np.float64)).astype(nT).astype(np.float64).reshape(n, -1, 1)
    y = (x.reshape(n, k // g, g) * recip).astype(nT).astype(np.float64)
    lo, hi = qr.QRANGE[bits]
    return np.clip(np.rint(y), lo, hi).reshape(n, k).astype(np.int8)


def check_blocks(pf, sd, T, tag, failures, totals):
    """Every quantized blob of pf against the reference scale, block by block."""
    tdt = TORCH_T[T]
    blobs = 0
    for key in pf.weight_keys():
        p = parse_key(key)
        if p is None or p["bits"] is None or p["scales"]:
            continue
        if p["search"] is None:
            failures.append("%s: %s was not searched (no mse in its key)" % (tag, key))
            continue
        w = sd[p["name"]]
        if p["rows"] is not None:
            w = w[p["rows"][0]:p["rows"][1]]
        n, k = w.shape
        bits, group = p["bits"], p["group"]
        G = 1 if group == 0 else k // group
        x = w.to(tdt).to(torch.float64).numpy()
        q = pf.codes(key, (n, k), bits).numpy()
        s = pf.floats(key + ":scales", T, (n,) if group == 0 else (n, G)).numpy()
        q_ref, s_ref = qr.quantize(w, tdt, bits, group)
        e_got = block_errors(x, q, s, T, group)
        e_ref = block_errors(x, q_ref.numpy(), s_ref.numpy(), T, group)
        worse = e_got > e_ref * (1 + REL_SLACK)
        if worse.any():
            r, b = [int(v) for v in np.argwhere(worse)[0]]
            failures.append("%s: %s: %d of %d blocks have a larger error than the reference scale, first row %d "
                            "block %d: %.6g > %.6g" % (tag, key, int(worse.sum()), worse.size, r, b,
                                                       e_got[r, b], e_ref[r, b]))
        coded = reference_coding(x, s, T, bits, group)
        if not np.array_equal(coded, q):
            failures.append("%s: %s: %d codes are not the reference coding of the file's scales"
                            % (tag, key, int((coded != q).sum())))
        totals["blocks"] += worse.size
        totals["better"] += int((e_got < e_ref * (1 - REL_SLACK)).sum())
        totals["err"] += float(e_got.sum())
        totals["err_ref"] += float(e_ref.sum())
        blobs += 1
    if blobs == 0:
        failures.append("%s: no quantized blob found" % tag)


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    ap.add_argument("--example", default=pu.EXAMPLE_DIR, help="examples/stories260K directory")
    args = ap.parse_args()
    pu.setup(args)
    failures = []
    wd = args.workdir
    s_ckpt = os.path.join(args.example, "model.pth")
    s_params = os.path.join(args.example, "params.json")
    s_tok = os.path.join(args.example, "tok512.bin")
    s_cal = os.path.join(args.example, "calibration.txt")
    s_sd = load_state_dict(s_ckpt)
    fx = {"fp16": write_fixture(os.path.join(wd, "fx_fp16"), "fp16", False, 5151),
          "fp32": write_fixture(os.path.join(wd, "fx_fp32_tied"), "fp32", True, 5252)}
    small = ["--max_context_len", "32", "--input_len", "4"]

    # 1. every block no worse than the reference scale
    modes = [("c4w+E8,0", ["--linear_quantize", "c4w", "-E", "8,0"]),
             ("b4w+E4,32", ["--linear_quantize", "b4w", "-E", "4,32"]),
             ("c8w head", ["--linear_quantize", "c4w", "-E", "none", "--quant", "output=c8w"])]
    models = [("stories260K", "fp16", s_ckpt, s_params, s_sd), ("stories260K", "fp32", s_ckpt, s_params, s_sd),
              ("fixture", "fp16") + fx["fp16"][:2] + (fx["fp16"][2],),
              ("fixture tied", "fp32") + fx["fp32"][:2] + (fx["fp32"][2],)]
    print("%-34s %8s %8s %12s %12s" % ("export (--quant_search mse)", "blocks", "better", "sum err", "ref sum err"))
    for model, T, ckpt, pj, sd in models:
        for mode, flags in modes:
            tag = "%s %s %s" % (model, T, mode)
            out = os.path.join(wd, tag.replace(" ", "_").replace(",", "_").replace("+", "_") + ".pte")
            totals = dict(blocks=0, better=0, err=0.0, err_ref=0.0)
            try:
                pu.export(args.pte, ckpt, pj, out, ["--dtype", T, "--quant_search", "mse"] + flags + small)
                check_blocks(PteFile(out, args.pte), sd, T, tag, failures, totals)
            except Exception as e:
                failures.append("%s: %s" % (tag, e))
                continue
            print("%-34s %8d %8d %12.6g %12.6g" % (tag, totals["blocks"], totals["better"], totals["err"],
                                                   totals["err_ref"]))
            if totals["better"] == 0:
                failures.append("%s: the search improved no block" % tag)

    # 2. thread-count independence
    for tag, flags in (("mse", ["--quant_search", "mse"]),
                       ("mse+calibration", ["--quant_search", "mse", "--calibration", s_cal, "--tokenizer", s_tok])):
        digests = []
        for threads in (1, 2):
            out = os.path.join(wd, "threads_%s_%d.pte" % (tag.replace("+", "_"), threads))
            pu.export(args.pte, s_ckpt, s_params, out, flags + ["--threads", str(threads)])
            digests.append(pu.sha256_file(out))
        print("%s: --threads 1 %s, --threads 2 %s" % (tag, digests[0][:16], digests[1][:16]))
        if digests[0] != digests[1]:
            failures.append("%s: the file differs between --threads 1 and 2" % tag)
    pf = PteFile(os.path.join(wd, "threads_mse_calibration_1.pte"), args.pte)
    tokens = pf.metadata.get("quantization.calibration.tokens")
    digest = pf.metadata.get("quantization.calibration.sha256")
    if digest != pu.sha256_file(s_cal) or not isinstance(tokens, int) or tokens < 300:
        failures.append("calibration metadata: sha256 %r (file %s), tokens %r" % (digest, pu.sha256_file(s_cal), tokens))
    if not any((parse_key(k) or {}).get("search") == "mse_w" for k in pf.weight_keys()):
        failures.append("mse+calibration: no weighted (mse_w) blob in the file")

    # 3. c8w bit-exact, and both executors run it
    for T in ("fp16", "fp32"):
        ckpt, pj, sd, _ = fx[T]
        out = os.path.join(wd, "c8w_all_%s.pte" % T)
        tag = "c8w %s" % T
        try:
            pu.export(args.pte, ckpt, pj, out, ["--dtype", T, "--linear_quantize", "none", "-E", "none",
                                                 "--quant", "*=c8w"] + small)
            pf = PteFile(out, args.pte)
            n_blobs = 0
            for key in pf.weight_keys():
                p = parse_key(key)
                if p["bits"] is None or p["scales"]:
                    continue
                w = sd[p["name"]] if p["rows"] is None else sd[p["name"]][p["rows"][0]:p["rows"][1]]
                q_ref, s_ref = qr.selfcheck(w, TORCH_T[T], 8, 0)
                if (p["bits"], p["group"]) != (8, 0):
                    failures.append("%s: %s is not int8 per row" % (tag, key))
                elif pf.raw(key) != qr.code_bytes(q_ref, 8) or pf.raw(key + ":scales") != qr.float_bytes(s_ref):
                    failures.append("%s: %s: codes or scales differ from the PyTorch formula at 8 bits" % (tag, key))
                n_blobs += 1
            if n_blobs != 2 * 7 + 1:
                failures.append("%s: %d int8 linear blobs, expected 15" % (tag, n_blobs))
            print("%s: %d int8 blobs compared with quantization_reference" % (tag, n_blobs))
        except Exception as e:
            failures.append("%s: %s" % (tag, e))
    prm = Params(PARAMS)
    ckpt, pj, sd, _ = write_fixture(os.path.join(wd, "fx_run"), "fp32", False, 0,
                                    sd=make_state_dict(prm, 9300, with_output=True))
    run_file = os.path.join(wd, "c8w_run_fp32.pte")
    pu.export(args.pte, ckpt, pj, run_file, ["--dtype", "fp32", "--linear_quantize", "none", "-E", "none",
                                             "--quant", "*=c8w", "--max_context_len", "64", "--input_len", "8"])
    prompt = np.random.default_rng(8).integers(0, prm.vocab_size, 11).tolist()
    want = LlamaReference(dequantized_state_dict(sd, prm.n_layers, (8, 0), None), prm).logits(prompt).numpy()
    for executor in ("fast", "reference"):
        npy = os.path.join(wd, "c8w_%s.npy" % executor)
        try:
            pu.run([args.pte, "run", "-m", run_file, "--executor", executor,
                    "--prompt_ids", pu.ids_arg(prompt), "--max_new_tokens", "0", "--json", "--logits_out", npy])
            got = np.load(npy)
            diff = float(np.abs(got.astype(np.float64) - want).max()) if got.shape == want.shape else float("inf")
            scale = float(np.abs(want).max())
            print("c8w fp32 %s executor: max|diff| %.3g vs PyTorch (max|logit| %.3g)" % (executor, diff, scale))
            if not diff <= 1e-4 * scale:
                failures.append("c8w fp32 %s executor: logits differ from PyTorch by %.3g" % (executor, diff))
        except Exception as e:
            failures.append("c8w %s executor: %s" % (executor, e))

    # 4. overrides read back from the file
    out = os.path.join(wd, "overrides.pte")
    try:
        pu.export(args.pte, s_ckpt, s_params, out, ["-E", "none", "--quant", "output=c8w", "--quant", "layers.0.*=none"])
        pf = PteFile(out, args.pte)
        kinds = {}
        for key in pf.weight_keys():
            p = parse_key(key)
            if not p["scales"]:
                kinds.setdefault(p["name"], set()).add((p["bits"], p["group"]))
        head = kinds.get("tok_embeddings.weight", set())
        if (8, 0) not in head:
            failures.append("overrides: the tied head is not int8 per row: %s" % sorted(head, key=str))
        for name, k in sorted(kinds.items()):
            if not name.startswith("layers.") or not name.endswith(".weight") or "norm" in name:
                continue
            want_kind = {(None, None)} if name.startswith("layers.0.") else {(4, 0)}
            if k != want_kind:
                failures.append("overrides: %s is %s, expected %s" % (name, sorted(k, key=str), want_kind))
        plan = json.loads(pf.metadata.get("quantization.plan", "{}"))
        if plan.get("output", {}).get("mode") != "c8w" or plan.get("layers.0.feed_forward.w2", {}).get("mode") != "none" \
                or plan.get("layers.1.attention.wq", {}).get("mode") != "c4w" \
                or abs(plan.get("output", {}).get("bits_per_weight", 0) - (8 + 16 / 64)) > 1e-9:
            failures.append("overrides: quantization.plan is %s" % json.dumps(plan)[:300])
        print("overrides: head %s, layers.0 float, plan of %d linears" % (sorted(head, key=str), len(plan)))
    except Exception as e:
        failures.append("overrides: %s" % e)
    bad = os.path.join(wd, "no_match.pte")
    r = pu.run([args.pte, "export", "-c", s_ckpt, "-p", s_params, "-o", bad, "--quant", "layers.9.*=c8w"], check=False)
    if r.rc in (0, None) or "layers.9.*" not in r.stderr or os.path.exists(bad):
        failures.append("--quant layers.9.*=c8w (no such layer): rc %s, stderr %r" % (r.rc, r.stderr[-300:]))
    return pu.finish(failures)


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
