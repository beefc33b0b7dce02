"""`pte export --adapter` on bad input: exit code 1, one `pte: error:` line naming the problem, no file left.

Usage: test_adapter_errors.py --pte PATH --workdir DIR --example DIR

Adapters are written by hand in PEFT format (safetensors: u64 LE header length + JSON + raw bytes)
for examples/stories260K (dim 64, 5 layers, 8/4 heads, head_dim 8, hidden 172).
"""
import cli_test
import json
import os
import re
import struct
import subprocess
import sys

check = cli_test.Checks()

DIM, LAYERS, Q_OUT, KV_OUT, HIDDEN, VOCAB = 64, 5, 64, 32, 172, 512
SHAPES = {"q_proj": (Q_OUT, DIM), "k_proj": (KV_OUT, DIM), "v_proj": (KV_OUT, DIM), "o_proj": (DIM, Q_OUT),
          "gate_proj": (HIDDEN, DIM), "up_proj": (HIDDEN, DIM), "down_proj": (DIM, HIDDEN)}
PARENT = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
          "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def write_safetensors(path, tensors):
    """tensors: list of (name, shape); F32 values 0.01 * (i mod 7 - 3)."""
    entries = []
    for name, shape in tensors:
        n = 1
        for s in shape:
            n *= s
        entries.append((name, "F32", shape, struct.pack("<%df" % n, *[0.01 * ((i % 7) - 3) for i in range(n)])))
    cli_test.write_safetensors(path, entries)


def key(layer, module, ab):
    return "base_model.model.model.layers.%d.%s.%s.lora_%s.weight" % (layer, PARENT[module], module, ab)


def lora_tensors(modules, r, layers=range(LAYERS)):
    out = []
    for l in layers:
        for m in modules:
            o, i = SHAPES[m]
            out += [(key(l, m, "A"), (r, i)), (key(l, m, "B"), (o, r))]
    return out


def config(r=8, alpha=16, targets=("q_proj", "v_proj"), **extra):
    c = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha,
         "target_modules": list(targets), "bias": "none", "fan_in_fan_out": False, "use_dora": False,
         "use_rslora": False, "modules_to_save": None}
    c.update(extra)
    return c


class Adapters:
    def __init__(self, root):
        self.root = root

    def make(self, name, tensors, cfg, drop=()):
        d = os.path.join(self.root, name)
        os.makedirs(d)
        st, cj = os.path.join(d, "adapter_model.safetensors"), os.path.join(d, "adapter_config.json")
        write_safetensors(st, tensors)
        for field in drop:
            cfg.pop(field)
        with open(cj, "w") as f:
            json.dump(cfg, f, indent=1)
        return st, cj


META = {"q_proj": "attention.wq", "k_proj": "attention.wk", "v_proj": "attention.wv", "o_proj": "attention.wo",
        "gate_proj": "feed_forward.w1", "up_proj": "feed_forward.w3", "down_proj": "feed_forward.w2"}


def tensor_named(layer, module, ab=None):
    """regex: the PEFT tensor key (or module) or its Meta name (layers.N.attention.wq[.lora_a])."""
    peft = "layers.%d.%s.%s" % (layer, PARENT[module], module) + (".lora_%s" % ab if ab else "")
    meta = "layers.%d.%s" % (layer, META[module]) + (".lora_%s" % ab.lower() if ab else "")
    return re.compile("%s|%s" % (re.escape(peft), re.escape(meta)))


def word(w):
    """regex: w as a whole word (so the field 'r' is not found inside other words)."""
    return re.compile(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(w))


def main():
    a, work = cli_test.arguments()
    outdir = os.path.join(work, "out")
    os.makedirs(outdir)
    out = os.path.join(outdir, "m.pte")
    ckpt = os.path.join(a.example, "model.pth")
    params = os.path.join(a.example, "params.json")
    base = ["-c", ckpt, "-p", params, "--dtype", "fp32", "-E", "none", "--linear_quantize", "none"]
    ad = Adapters(os.path.join(work, "adapters"))

    def expect_error(name, extra, must_contain):
        """must_contain: strings (substring) or compiled regexes (case-insensitive search)."""
        r = subprocess.run([a.pte, "export", "-o", out] + base + extra, capture_output=True, text=True, timeout=120)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        errs = [l for l in lines if l.startswith("pte: error: ")]
        check(name + " exits 1", r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr))
        check(name + " prints one error line", len(errs) == 1 and lines[-1] == errs[0] and
              all(l.startswith("note: ") for l in lines[:-1]), repr(r.stderr))
        text = errs[0] if errs else r.stderr
        missing = [s.pattern if hasattr(s, "pattern") else s for s in must_contain
                   if not (s.search(text) if hasattr(s, "search") else s in text)]
        check(name + " names the problem", not missing, "%r lacks %r" % (text, missing))
        leftovers = os.listdir(outdir)
        check(name + " leaves no file", leftovers == [], repr(leftovers))
        for f in leftovers:
            os.remove(os.path.join(outdir, f))

    good_st, good_cfg = ad.make("good", lora_tensors(["q_proj", "v_proj"], 8), config())
    good2_st, good2_cfg = ad.make("good2", lora_tensors(["gate_proj", "down_proj"], 4),
                                  config(r=4, alpha=8, targets=["gate_proj", "down_proj"]))
    nope_st = os.path.join(work, "nowhere", "adapter_model.safetensors")
    nope_cfg = os.path.join(work, "nowhere", "adapter_config.json")

    # files
    expect_error("adapter checkpoint without config", ["--adapter", "x", good_st, nope_cfg], [nope_cfg])
    expect_error("adapter config without checkpoint", ["--adapter", "x", nope_st, good_cfg], [nope_st])

    # config fields
    for field, pat in (("r", word("r")), ("lora_alpha", "lora_alpha"), ("target_modules", "target_modules")):
        st, cj = ad.make("missing_" + field, lora_tensors(["q_proj", "v_proj"], 8), config(), drop=[field])
        expect_error("config without %s" % field, ["--adapter", "x", st, cj], [pat, cj])

    # names
    expect_error("duplicate adapter names",
                 ["--adapter", "twin", good_st, good_cfg, "--adapter", "twin", good2_st, good2_cfg], ["twin"])
    expect_error("adapter named forward", ["--adapter", "forward", good_st, good_cfg], ["forward"])
    expect_error("adapter named forward (multifunction)",
                 ["--multifunction", "--adapter", "forward", good_st, good_cfg], ["forward"])
    expect_error("adapter named prefill (multifunction)",
                 ["--multifunction", "--adapter", "prefill", good_st, good_cfg], ["prefill"])
    expect_error("adapter named like another adapter's NAME_forward (multifunction)",
                 ["--multifunction", "--adapter", "chat", good_st, good_cfg,
                  "--adapter", "chat_forward", good2_st, good2_cfg], ["chat_forward"])
    expect_error("adapter named like another adapter's NAME_prefill (multifunction)",
                 ["--multifunction", "--adapter", "chat_prefill", good2_st, good2_cfg,
                  "--adapter", "chat", good_st, good_cfg], ["chat_prefill"])
    for bad in ("my-adapter", "9lives", "two words", ""):
        expect_error("non-identifier adapter name %r" % bad, ["--adapter", bad, good_st, good_cfg],
                     [re.compile("name", re.I) if bad == "" else bad])

    # tensors
    t = lora_tensors(["q_proj", "v_proj"], 8) + [
        ("base_model.model.model.layers.0.self_attn.rotary_emb.lora_A.weight", (8, DIM))]
    st, cj = ad.make("stray_tensor", t, config())
    expect_error("tensor mapping to no module", ["--adapter", "x", st, cj], ["self_attn.rotary_emb.lora_A.weight"])
    t = lora_tensors(["q_proj", "v_proj"], 8) + [(key(LAYERS, "q_proj", "A"), (8, DIM)),
                                                 (key(LAYERS, "q_proj", "B"), (Q_OUT, 8))]
    st, cj = ad.make("layer_out_of_range", t, config())
    expect_error("tensor of a layer the model does not have", ["--adapter", "x", st, cj],
                 [tensor_named(LAYERS, "q_proj")])
    st, cj = ad.make("target_without_tensors", lora_tensors(["q_proj", "v_proj"], 8),
                     config(targets=["q_proj", "k_proj", "v_proj"]))
    expect_error("target module with no tensors", ["--adapter", "x", st, cj], ["k_proj"])

    # shapes
    t = lora_tensors(["q_proj", "v_proj"], 8)
    t[0] = (t[0][0], (8, DIM + 1))  # layers.0 q_proj lora_A: wrong input size
    st, cj = ad.make("bad_in", t, config())
    expect_error("lora_A with the wrong input size", ["--adapter", "x", st, cj], [tensor_named(0, "q_proj", "A")])
    t = lora_tensors(["q_proj", "v_proj"], 8)
    t[3] = (t[3][0], (Q_OUT, 8))  # layers.0 v_proj lora_B: q's output size instead of v's
    st, cj = ad.make("bad_out", t, config())
    expect_error("lora_B with the wrong output size", ["--adapter", "x", st, cj], [tensor_named(0, "v_proj", "B")])
    st, cj = ad.make("rank_mismatch", lora_tensors(["q_proj", "v_proj"], 4), config(r=8))
    expect_error("rank of A/B differs from r", ["--adapter", "x", st, cj], ["lora_"])
    t = lora_tensors(["q_proj", "v_proj"], 8)
    t[1] = (t[1][0], (Q_OUT, 4))  # layers.0 q_proj lora_B rank 4, lora_A rank 8
    st, cj = ad.make("ab_rank_mismatch", t, config())
    expect_error("lora_B rank differs from lora_A", ["--adapter", "x", st, cj], [tensor_named(0, "q_proj")])
    st, cj = ad.make("missing_b", [x for x in lora_tensors(["q_proj", "v_proj"], 8)
                                   if x[0] != key(2, "v_proj", "B")], config())
    expect_error("lora_A without its lora_B", ["--adapter", "x", st, cj], [tensor_named(2, "v_proj")])

    # unsupported PEFT features
    st, cj = ad.make("dora_config", lora_tensors(["q_proj", "v_proj"], 8), config(use_dora=True))
    expect_error("DoRA config (use_dora true)", ["--adapter", "x", st, cj], [re.compile("dora", re.I)])
    t = lora_tensors(["q_proj", "v_proj"], 8) + [
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector.weight", (Q_OUT,))]
    st, cj = ad.make("dora_magnitude", t, config())
    expect_error("DoRA magnitude tensor", ["--adapter", "x", st, cj],
                 [re.compile("lora_magnitude_vector|dora", re.I)])
    t = lora_tensors(["q_proj", "v_proj"], 8) + [
        ("base_model.model.model.embed_tokens.lora_embedding_A", (8, VOCAB)),
        ("base_model.model.model.embed_tokens.lora_embedding_B", (DIM, 8))]
    st, cj = ad.make("embedding_delta", t, config(targets=["q_proj", "v_proj", "embed_tokens"]))
    expect_error("embedding LoRA", ["--adapter", "x", st, cj], ["embed_tokens"])
    t = lora_tensors(["q_proj", "v_proj"], 8) + [
        ("base_model.model.lm_head.lora_A.weight", (8, DIM)), ("base_model.model.lm_head.lora_B.weight", (VOCAB, 8))]
    st, cj = ad.make("lm_head_delta", t, config(targets=["q_proj", "v_proj", "lm_head"]))
    expect_error("lm_head LoRA", ["--adapter", "x", st, cj], ["lm_head"])
    t = lora_tensors(["q_proj", "v_proj"], 8) + [
        ("base_model.model.model.embed_tokens.lora_embedding_A", (8, VOCAB)),
        ("base_model.model.model.embed_tokens.lora_embedding_B", (DIM, 8))]
    st, cj = ad.make("embedding_tensors_only", t, config())
    expect_error("embedding LoRA tensors (not in target_modules)", ["--adapter", "x", st, cj], ["embed_tokens"])
    t = lora_tensors(["q_proj", "v_proj"], 8) + [
        ("base_model.model.lm_head.lora_A.weight", (8, DIM)), ("base_model.model.lm_head.lora_B.weight", (VOCAB, 8))]
    st, cj = ad.make("lm_head_tensors_only", t, config())
    expect_error("lm_head LoRA tensors (not in target_modules)", ["--adapter", "x", st, cj], ["lm_head"])
    st, cj = ad.make("fan_in_fan_out", lora_tensors(["q_proj", "v_proj"], 8), config(fan_in_fan_out=True))
    expect_error("fan_in_fan_out true", ["--adapter", "x", st, cj], ["fan_in_fan_out"])

    # controls: the good adapters export
    for label, extra in (("single-method", []), ("multifunction", ["--multifunction"])):
        r = subprocess.run([a.pte, "export", "-o", out] + base + extra +
                           ["--adapter", "chat", good_st, good_cfg, "--adapter", "code", good2_st, good2_cfg],
                           capture_output=True, text=True, timeout=120)
        check("good adapters export (%s) exits 0" % label, r.returncode == 0, r.stderr)
        check("good adapters export (%s) leaves only the output" % label,
              sorted(os.listdir(outdir)) == (["m.pte"] if r.returncode == 0 else []), repr(os.listdir(outdir)))
        if os.path.exists(out):
            os.remove(out)

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
