#!/usr/bin/python3
"""Bit-exact quantization: every code and scale in the .pte equals the PyTorch formula (SPEC §6).

    /usr/bin/python3 tests/parity/test_quantization_bitexact.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_qbits

Fixtures (written here with torch.save, fp32 storage): a Llama with dim 64, 2 layers, 4/2 heads,
hidden 128, vocab 96, untied (output.weight) and tied, one pair per export dtype. Random rows
plus adversarial rows spread over every matrix (so they land in every split chunk too): all-zero,
exact .5 ties for int4 and int8, largest magnitude negative, +a and -a together, constant rows,
a single non-zero, values near fp16 subnormals (1e-5, 6e-8) and around the scale clamp
(7.5·2^-14, 127.5·2^-14), very large values (fp16: 6e4 and 65504; fp32: 1e30 and 3.4e38), fp32
subnormals, and fp32 values that are ties or near-ties of the fp32→fp16 cast.

For c4w, b4w, -E 8,0, -E 4,32, -E 8,64, -E 4,0 in fp16 and fp32 (plus split exports with
--target_split_size 32, the defaults with no flags, and b4w on a hidden size that is not a
multiple of 32): the set of weight blob keys must be exactly the expected one (SPEC §5 split
rule), and for every quantized blob the packed codes and the scales must be byte-identical to
quantization_reference.quantize() on the checkpoint tensor (row chunk) cast to T. Float blobs
must equal the checkpoint cast to T. An embedding group that does not divide dim must fail.
"""
import json
import math
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

import parity_util as pu
import quantization_reference as qr
from llama_reference import Params
from pte_file import PteFile, parse_key

TORCH_T = {"fp16": torch.float16, "fp32": torch.float32}

# mode name -> (flags, linear (bits, group) or None, embedding (bits, group) or None)
MODES = OrderedDict([
    ("c4w",     (["--linear_quantize", "c4w", "-E", "none"], (4, 0), None)),
    ("b4w",     (["--linear_quantize", "b4w", "-E", "none"], (4, 32), None)),
    ("E8,0",    (["--linear_quantize", "none", "-E", "8,0"], None, (8, 0))),
    ("E4,32",   (["--linear_quantize", "none", "-E", "4,32"], None, (4, 32))),
    ("E8,64",   (["--linear_quantize", "none", "-E", "8,64"], None, (8, 64))),
    ("E4,0",    (["--linear_quantize", "none", "-E", "4,0"], None, (4, 0))),
])
DEFAULTS = ([], (4, 0), (8, 0))  # pte export with no flags: fp16, -E 8,0, c4w

PARAMS = dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=128, vocab_size=96,
              multiple_of=32, norm_eps=1e-5, rope_theta=10000.0)
# a wider model so that -E 8,64 / -E 4,32 / b4w have more than one group per row everywhere
PARAMS_WIDE = dict(PARAMS, dim=128, hidden_dim=256)
LINEARS = ["attention.wq", "attention.wk", "attention.wv", "attention.wo",
           "feed_forward.w1", "feed_forward.w2", "feed_forward.w3"]


# ----------------------------------------------------------------------------------------------
# adversarial rows


def _tile(seg, k):
    seg = np.asarray(seg, dtype=np.float64)
    return np.tile(seg, (k + len(seg) - 1) // len(seg))[:k]


def adversarial_rows(k, dtype, rng):
    """[(label, float64 row of length k)]; each 32-element segment has the property, so it
    holds per row (c4w, -E b,0) and per group of 32 or 64 alike."""
    u = lambda n, a=1.0: rng.uniform(-a, a, n)
    rows = []
    rows.append(("all_zero", np.zeros(k)))
    # int4 ties: amax 7.5·2^-3 → scale 2^-3, recip 8, y = j + 0.5 exactly
    half = np.array([7.5, -7.5] + [j + 0.5 for j in range(-7, 7)])
    rows.append(("int4_ties", _tile(np.concatenate([half, rng.permutation(half)]) * 2.0 ** -3, k)))
    # int8 ties: amax 127.5·2^-6 → scale 2^-6, y = j + 0.5 exactly
    h8 = np.concatenate([[127.5, -127.5], rng.integers(-128, 127, 30) + 0.5])
    rows.append(("int8_ties", _tile(h8 * 2.0 ** -6, k)))
    seg = u(32, 0.5); seg[5] = -0.9137
    rows.append(("largest_negative", _tile(seg, k)))
    seg = u(32, 0.1); seg[3] = -7.5 * 2.0 ** -4
    rows.append(("largest_negative_tie", _tile(seg, k)))
    seg = u(32, 0.3); seg[0], seg[17] = 0.6, -0.6
    rows.append(("plus_minus_amax", _tile(seg, k)))
    rows.append(("constant_pos", np.full(k, 0.3)))
    rows.append(("constant_neg", np.full(k, -0.3)))
    seg = np.zeros(32); seg[11] = 0.77
    rows.append(("single_nonzero", _tile(seg, k)))
    seg = u(32, 1e-5); seg[[1, 2, 3, 4]] = [6e-8, -6e-8, 1e-7, 3e-6]
    rows.append(("tiny_1e-5", _tile(seg, k)))
    for name, amax in (("clamp_int4_at", 7.5 * 2.0 ** -14), ("clamp_int4_below", 4.5e-4),
                       ("clamp_int4_above", 4.7e-4), ("clamp_int8_below", 7.7e-3),
                       ("clamp_int8_above", 7.9e-3)):
        seg = u(32, amax); seg[7] = amax; seg[8] = 3e-5; seg[9] = -5e-5
        rows.append((name, _tile(seg, k)))
    # fp32 values at / next to fp16 rounding ties (fp16 spacing in [1,2) is 2^-10, in [4,8) 2^-8)
    seg = np.array([7.4997, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -22,
                    -(1 + 5 * 2.0 ** -11), 2.5 + 2.0 ** -20, -2.5 - 2.0 ** -20, 2 - 2.0 ** -12,
                    0.1, -0.1, 1.0 / 3, -2.0 / 3, 5.5 + 2.0 ** -10, 4 + 2.0 ** -9, -(6 + 3 * 2.0 ** -9),
                    3.1415927] + list(u(16, 7.0)))
    rows.append(("fp16_cast_ties", _tile(seg, k)))
    if dtype == "fp16":
        seg = u(32, 6e4); seg[2] = 65504.0
        rows.append(("large_fp16_max", _tile(seg, k)))
        seg = u(32, 6e4); seg[9] = -6e4
        rows.append(("large_6e4_negative", _tile(seg, k)))
    else:
        seg = u(32, 1e30); seg[4] = -1e30
        rows.append(("large_1e30", _tile(seg, k)))
        seg = u(32, 3e38); seg[6] = 3.4e38
        rows.append(("large_fp32_max", _tile(seg, k)))
        seg = u(32, 5e-38); seg[0], seg[1], seg[2], seg[3] = 5e-38, 8e-39, -3e-39, 1.4e-45
        rows.append(("fp32_subnormals", _tile(seg, k)))
    return rows


def make_state_dict(dtype, tied, seed, params=PARAMS):
    p = Params(params)
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    rnd = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float32)
    D, Hq, Hkv, dim, hid, V = p.head_dim, p.n_heads, p.n_kv_heads, p.dim, p.hidden_dim, p.vocab_size
    sd = OrderedDict()
    sd["tok_embeddings.weight"] = rnd(V, dim) * (2.0 / math.sqrt(dim) if tied else 1.0)
    shapes = {"attention.wq": (Hq * D, dim), "attention.wk": (Hkv * D, dim),
              "attention.wv": (Hkv * D, dim), "attention.wo": (dim, Hq * D),
              "feed_forward.w1": (hid, dim), "feed_forward.w2": (dim, hid),
              "feed_forward.w3": (hid, dim)}
    for l in range(p.n_layers):
        pre = "layers.%d." % l
        for lin in LINEARS:
            n, k = shapes[lin]
            sd[pre + lin + ".weight"] = rnd(n, k) / math.sqrt(k)
        sd[pre + "attention_norm.weight"] = 1.0 + 0.1 * rnd(dim)
        sd[pre + "ffn_norm.weight"] = 1.0 + 0.1 * rnd(dim)
    sd["norm.weight"] = 1.0 + 0.1 * rnd(dim)
    if not tied:
        sd["output.weight"] = rnd(V, dim) * (2.0 / math.sqrt(dim))
    labels = {}
    for name, w in sd.items():
        if w.dim() != 2:
            continue
        n, k = w.shape
        adv = adversarial_rows(k, dtype, rng)
        # spread over the rows so every split chunk gets some; rotate so tensors differ
        off = len(labels) % 3
        for i, (label, row) in enumerate(adv):
            r = ((i * n) // len(adv) + off) % n
            w[r] = torch.from_numpy(row).to(torch.float32)
            labels[(name, r)] = label
    return sd, labels


def write_fixture(d, dtype, tied, seed, params=None, sd=None):
    os.makedirs(d, exist_ok=True)
    labels = {}
    if sd is None:
        sd, labels = make_state_dict(dtype, tied, seed, params or PARAMS)
    ckpt, pj = os.path.join(d, "model.pth"), os.path.join(d, "params.json")
    torch.save(sd, ckpt)
    with open(pj, "w") as f:
        json.dump(params or PARAMS, f)
    return ckpt, pj, sd, labels


# ----------------------------------------------------------------------------------------------
# expected keys (SPEC §5/§6)


def split_ranges(n, target, max_splits):
    num = min(max(n // target, 1), max_splits)
    if num == 1:
        return [None]
    assert n % num == 0, "fixture dims must split evenly"
    c = n // num
    return [(i * c, (i + 1) * c) for i in range(num)]


def expected_weights(sd, n_layers, T, lin, emb, target=1024, max_splits=8):
    """key -> (tensor name, rows or None, bits or None, group, is_scales)."""
    exp = {}

    def add(name, rows, q):
        base = "%s:%s" % (name, T) + ("" if rows is None else ":rows%d-%d" % rows)
        if q is None:
            exp[base] = (name, rows, None, None, False)
        else:
            key = base + ":q%dg%d" % q
            exp[key] = (name, rows, q[0], q[1], False)
            exp[key + ":scales"] = (name, rows, q[0], q[1], True)

    linears = ["layers.%d.%s.weight" % (l, x) for l in range(n_layers) for x in LINEARS]
    linears.append("output.weight" if "output.weight" in sd else "tok_embeddings.weight")
    for name in linears:
        n, k = sd[name].shape
        q = lin if (lin is not None and (lin[1] == 0 or k % lin[1] == 0)) else None
        for rows in split_ranges(n, target, max_splits):
            add(name, rows, q)
    add("tok_embeddings.weight", None, emb)
    for name, w in sd.items():
        if w.dim() == 1:
            add(name, None, None)
    return exp


# ----------------------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.weights = self.codes = self.scales = self.floats = 0


def compare_file(pf, sd, labels, T, exp, tag, failures, st):
    tdt = TORCH_T[T]
    got = set(pf.weight_keys())
    missing, extra = sorted(set(exp) - got), sorted(got - set(exp))
    if missing or extra:
        failures.append("%s: weight blob keys differ from the expected set: missing %s, unexpected %s"
                        % (tag, missing[:8], extra[:8]))
    for key in sorted(set(exp) & got):
        name, rows, bits, group, is_scales = exp[key]
        if is_scales:
            continue
        w = sd[name]
        if rows is not None:
            w = w[rows[0]:rows[1]]
        if bits is None:
            want = qr.float_bytes(w.to(tdt))
            if pf.raw(key) != want:
                failures.append("%s: float blob %s differs from the checkpoint cast to %s" % (tag, key, T))
            st.floats += 1
            continue
        q_ref, s_ref = qr.selfcheck(w, tdt, bits, group)
        n, k = w.shape
        sshape = (n,) if group == 0 else (n, k // group)
        q_got = pf.codes(key, (n, k), bits)
        s_got = pf.floats(key + ":scales", T, sshape)
        st.weights += 1
        st.codes += n * k
        st.scales += int(np.prod(sshape))
        ok_bytes = pf.raw(key) == qr.code_bytes(q_ref, bits)
        ok_scales = pf.raw(key + ":scales") == qr.float_bytes(s_ref)
        if ok_bytes and ok_scales:
            continue
        r0 = rows[0] if rows else 0
        x = w.to(tdt)
        if not ok_scales:
            bad = (s_got.reshape(n, -1).float() != s_ref.reshape(n, -1).float()).nonzero().tolist()
            det = ["row %d%s block %d: ours %r, pytorch %r" % (
                r0 + r, " (%s)" % labels.get((name, r0 + r), "random"), b,
                float(s_got.reshape(n, -1)[r, b]), float(s_ref.reshape(n, -1)[r, b])) for r, b in bad[:4]]
            failures.append("%s: %s: %d scales differ: %s" % (tag, key, len(bad), "; ".join(det)))
        if not torch.equal(q_got, q_ref):
            bad = (q_got != q_ref).nonzero().tolist()
            g = k if group == 0 else group
            det = []
            for r, c in bad[:4]:
                s = s_ref.reshape(n, -1)[r, c // g]
                recip = torch.ones_like(s) / s
                det.append("row %d%s col %d: x=%r scale=%r recip=%r y=x*recip=%r: ours %d, pytorch %d" % (
                    r0 + r, " (%s)" % labels.get((name, r0 + r), "random"), c, float(x[r, c]), float(s),
                    float(recip), float(x[r, c] * recip), int(q_got[r, c]), int(q_ref[r, c])))
            failures.append("%s: %s: %d of %d codes differ: %s" % (tag, key, len(bad), n * k, "; ".join(det)))
        elif not ok_bytes:
            failures.append("%s: %s: codes decode equal but the packed bytes differ (padding/nibble order)"
                            % (tag, key))


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    args = ap.parse_args()
    pu.setup(args)
    failures = []
    fixtures = {}
    for i, T in enumerate(("fp16", "fp32")):
        for tied in (False, True):
            d = os.path.join(args.workdir, "fx_%s_%s" % (T, "tied" if tied else "untied"))
            fixtures[(T, tied)] = write_fixture(d, T, tied, 777 + 10 * i + tied)
        fixtures[(T, "wide")] = write_fixture(os.path.join(args.workdir, "fx_%s_wide" % T), T, False,
                                              999 + i, params=PARAMS_WIDE)
    n_layers = PARAMS["n_layers"]
    rows_out = []

    def check(tag, T, tied, flags, lin, emb, target=1024, max_splits=8, extra=(), dtype_flag=True):
        ckpt, pj, sd, labels = fixtures[(T, tied)]
        out = os.path.join(args.workdir, tag.replace(" ", "_").replace(",", "_") + ".pte")
        st = Stats()
        try:
            pu.export(args.pte, ckpt, pj, out, (["--dtype", T] if dtype_flag else []) + list(flags) + list(extra)
                      + ["--max_context_len", "32", "--input_len", "4"])
            pf = PteFile(out, args.pte)
            exp = expected_weights(sd, n_layers, T, lin, emb, target, max_splits)
            compare_file(pf, sd, labels, T, exp, tag, failures, st)
        except Exception as e:
            failures.append("%s: %s" % (tag, e))
        rows_out.append((tag, st))
        return st

    for T in ("fp16", "fp32"):
        for mode, (flags, lin, emb) in MODES.items():
            for tied in (False, True):
                check("%s %s %s" % (mode, T, "tied" if tied else "untied"), T, tied, flags, lin, emb)
        for mode in ("b4w", "E4,32", "E8,64"):
            flags, lin, emb = MODES[mode]
            check("%s %s wide (dim 128)" % (mode, T), T, "wide", flags, lin, emb)
        # split chunks: every linear and the head cut in chunks of 32 rows, quantized per chunk
        for mode in ("c4w", "b4w"):
            lin = MODES[mode][1]
            for tied in (False, True):
                check("%s+E8,0 %s %s split32" % (mode, T, "tied" if tied else "untied"), T, tied,
                      ["--linear_quantize", mode, "-E", "8,0", "--target_split_size", "32"], lin, (8, 0),
                      target=32)
        check("none %s untied split32x2" % T, T, False, pu.FP32_FLAGS[2:], None, None, target=32,
              max_splits=2, extra=["--target_split_size", "32", "--max_splits", "2"])
    # the defaults (fp16, -E 8,0, c4w): on the tied fixture the same tensor is both
    check("defaults (no flags) fp16 tied", "fp16", True, [], DEFAULTS[1], DEFAULTS[2], dtype_flag=False)

    # b4w with a hidden size that is not a multiple of 32: w2 (input 80) stays float, logged
    p80 = dict(PARAMS, hidden_dim=80)
    sd80, _ = make_state_dict("fp16", False, 4242)
    for l in range(n_layers):
        pre = "layers.%d.feed_forward." % l
        sd80[pre + "w1.weight"] = sd80[pre + "w1.weight"][:80].contiguous()
        sd80[pre + "w3.weight"] = sd80[pre + "w3.weight"][:80].contiguous()
        sd80[pre + "w2.weight"] = sd80[pre + "w2.weight"][:, :80].contiguous()
    d80 = os.path.join(args.workdir, "fx_hidden80")
    fixtures[("fp16", "h80")] = write_fixture(d80, "fp16", False, 0, params=p80, sd=sd80)
    st = check("b4w fp16 hidden80", "fp16", "h80", MODES["b4w"][0], (4, 32), None)
    r = pu.run([args.pte, "export", "-c", fixtures[("fp16", "h80")][0], "-p", fixtures[("fp16", "h80")][1],
                "-o", os.path.join(args.workdir, "h80_log.pte"), "--linear_quantize", "b4w", "-E", "none",
                "-v"], check=False)
    log = r.stdout + r.stderr
    if r.rc != 0 or "layers.0.feed_forward.w2" not in log or "layers.1.feed_forward.w2" not in log:
        failures.append("b4w hidden80: the export log does not list the w2 linears left in float "
                        "(rc %s): %s" % (r.rc, log.strip()[-600:]))

    # an embedding group that does not divide dim is an error
    ckpt, pj = fixtures[("fp16", False)][:2]
    r = pu.run([args.pte, "export", "-c", ckpt, "-p", pj, "-o", os.path.join(args.workdir, "bad.pte"),
                "-E", "4,48"], check=False)
    if r.rc == 0 or r.timed_out:
        failures.append("-E 4,48 on dim 64: expected an error, export %s" % (
            "timed out" if r.timed_out else "succeeded"))
    else:
        print("-E 4,48 on dim 64 fails as expected: %s" % r.stderr.strip().splitlines()[-1:])

    print("\n%-32s %8s %9s %8s %7s" % ("export", "weights", "codes", "scales", "floats"))
    tot = Stats()
    for tag, st in rows_out:
        print("%-32s %8d %9d %8d %7d" % (tag, st.weights, st.codes, st.scales, st.floats))
        tot.weights += st.weights; tot.codes += st.codes; tot.scales += st.scales; tot.floats += st.floats
    print("%-32s %8d %9d %8d %7d" % ("total", tot.weights, tot.codes, tot.scales, tot.floats))
    per_mode = OrderedDict()
    for tag, st in rows_out:
        m = per_mode.setdefault(tag.split(" ")[0] + " " + ("fp16" if "fp16" in tag else "fp32"), Stats())
        m.weights += st.weights; m.codes += st.codes; m.scales += st.scales
    print("\nper mode (all fixtures and exports of that mode):")
    for k, v in per_mode.items():
        print("  %-16s %4d weights %8d codes %6d scales compared" % (k, v.weights, v.codes, v.scales))
    if tot.codes == 0:
        failures.append("no codes were compared")
    if failures:
        print("\nFAIL (%d):" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    print("\nPASS: every code and scale byte-identical to the PyTorch formula")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
