#!/usr/bin/python3
"""Writes small random Llama checkpoints (seeded, deterministic) for the parity suite.

    /usr/bin/python3 tests/parity/make_fixtures.py --out DIR

Each fixture is a directory DIR/<name>/ with a model file (model.pth or model.safetensors) and
params.json; DIR/fixtures.json lists them ({"name", "checkpoint", "params", "notes"}).
Weights are scaled so the logits are O(1-10) and attention is not uniform.
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import LlamaReference, Params, load_state_dict, write_safetensors  # noqa: E402

# name, params, storage dtype, container, extra options
FIXTURES = [
    dict(name="gqa_fp32",
         params=dict(dim=48, n_layers=2, n_heads=6, n_kv_heads=2, vocab_size=97, multiple_of=32,
                     norm_eps=1e-5, rope_theta=10000.0),
         storage="fp32", container="zip",
         notes="GQA 6/2, torch.save zip, fp32"),
    dict(name="mha_ffnmult_fp16_legacy",
         params=dict(dim=40, n_layers=3, n_heads=5, n_kv_heads=5, vocab_size=61,
                     ffn_dim_multiplier=1.3, multiple_of=16, norm_eps=1e-5, rope_theta=10000.0),
         storage="fp16", container="legacy",
         notes="MHA, ffn_dim_multiplier 1.3 (hidden 144), legacy (non-zip) torch.save, fp16"),
    dict(name="mqa_headdim_scaledrope_bf16_nested",
         params=dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=1, head_dim=32, vocab_size=128,
                     multiple_of=32, norm_eps=1e-5, rope_theta=500000.0, use_scaled_rope=True),
         storage="bf16", container="zip", nested="model",
         notes="MQA 4/1, explicit head_dim 32 (q width 128 != dim), Llama-3 scaled RoPE (factor 8), "
               "bf16, state dict nested under 'model'"),
    dict(name="untied_hidden_scale32_fp32_safetensors",
         params=dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=80, hidden_dim=72,
                     multiple_of=256, norm_eps=1e-3, rope_theta=500000.0, use_scaled_rope=True,
                     rope_scale_factor=32),
         storage="fp32", container="safetensors", output=True,
         notes="output.weight present (untied), explicit hidden_dim 72, rope_scale_factor 32, "
               "norm_eps 1e-3 (large enough to be seen in the logits), hand-written .safetensors with Meta names"),
    dict(name="defaults_1layer_fp16_safetensors",
         params=dict(dim=24, n_layers=1, n_heads=3, vocab_size=50, multiple_of=8),
         storage="fp16", container="safetensors",
         notes="n_kv_heads/norm_eps/rope_theta absent (defaults), 1 layer, fp16 .safetensors"),
    dict(name="untied_bf16_zip",
         params=dict(dim=56, n_layers=2, n_heads=7, n_kv_heads=7, vocab_size=113, multiple_of=24,
                     rope_theta=10000.0),
         storage="bf16", container="zip", output=True,
         notes="output.weight present, bf16, head_dim 8, vocab 113"),
]

STORAGE = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def make_state_dict(p, seed, with_output):
    """Random Meta-named weights: embedding std 1, projections ~1/sqrt(fan_in), residual
    branches damped, norm weights around 1, output head std ~2/sqrt(dim) (logits of a few units)."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float32)
    D, Hq, Hkv, dim, hid, V = p.head_dim, p.n_heads, p.n_kv_heads, p.dim, p.hidden_dim, p.vocab_size
    sd = OrderedDict()
    sd["tok_embeddings.weight"] = rnd(V, dim)
    for l in range(p.n_layers):
        pre = "layers.%d." % l
        sd[pre + "attention.wq.weight"] = rnd(Hq * D, dim) * (1.5 / math.sqrt(dim))
        sd[pre + "attention.wk.weight"] = rnd(Hkv * D, dim) * (1.5 / math.sqrt(dim))
        sd[pre + "attention.wv.weight"] = rnd(Hkv * D, dim) * (1.0 / math.sqrt(dim))
        sd[pre + "attention.wo.weight"] = rnd(dim, Hq * D) * (0.7 / math.sqrt(Hq * D))
        sd[pre + "feed_forward.w1.weight"] = rnd(hid, dim) * (1.0 / math.sqrt(dim))
        sd[pre + "feed_forward.w2.weight"] = rnd(dim, hid) * (0.7 / math.sqrt(hid))
        sd[pre + "feed_forward.w3.weight"] = rnd(hid, dim) * (1.0 / math.sqrt(dim))
        sd[pre + "attention_norm.weight"] = 1.0 + 0.1 * rnd(dim)
        sd[pre + "ffn_norm.weight"] = 1.0 + 0.1 * rnd(dim)
    sd["norm.weight"] = 1.0 + 0.1 * rnd(dim)
    if with_output:
        sd["output.weight"] = rnd(V, dim) * (2.0 / math.sqrt(dim))
    else:
        # tied: the embedding is the classifier; scale it so logits stay O(1-10)
        sd["tok_embeddings.weight"] *= 2.0 / math.sqrt(dim)
    return sd


def write_fixture(out_dir, spec, seed):
    d = os.path.join(out_dir, spec["name"])
    os.makedirs(d, exist_ok=True)
    p = Params(spec["params"])
    sd = make_state_dict(p, seed, spec.get("output", False))
    dt = STORAGE[spec["storage"]]
    sd = OrderedDict((k, v.to(dt).contiguous()) for k, v in sd.items())
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(spec["params"], f, indent=1)
        f.write("\n")
    if spec["container"] == "safetensors":
        ckpt = os.path.join(d, "model.safetensors")
        write_safetensors(ckpt, sd, metadata={"format": "pt"})
    else:
        obj = {spec["nested"]: sd} if spec.get("nested") else sd
        ckpt = os.path.join(d, "model.pth")
        torch.save(obj, ckpt, _use_new_zipfile_serialization=(spec["container"] != "legacy"))
    # round-trip check and a sanity look at the logits
    back = load_state_dict(ckpt)
    assert list(back.keys()) == list(sd.keys()), spec["name"]
    for k in sd:
        assert back[k].dtype == sd[k].dtype and torch.equal(back[k], sd[k]), (spec["name"], k)
    m = LlamaReference(back, p)
    g = torch.Generator().manual_seed(seed + 1)
    toks = torch.randint(0, p.vocab_size, (16,), generator=g).tolist()
    lg = m.logits(toks)
    top = torch.softmax(lg, -1).max(-1).values
    info = dict(name=spec["name"], checkpoint=os.path.relpath(ckpt, out_dir),
                params=os.path.relpath(os.path.join(d, "params.json"), out_dir),
                storage=spec["storage"], container=spec["container"], notes=spec["notes"],
                hidden_dim=p.hidden_dim, head_dim=p.head_dim,
                max_abs_logit=round(float(lg.abs().max()), 3),
                logit_std=round(float(lg.std()), 3),
                mean_top_prob=round(float(top.mean()), 3))
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory to write the fixtures into")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    infos = []
    for i, spec in enumerate(FIXTURES):
        info = write_fixture(args.out, spec, args.seed + 101 * i)
        infos.append(info)
        if not args.quiet:
            print("%-40s %-11s hidden %3d head_dim %2d  max|logit| %6.2f  std %5.2f  mean top-p %.2f"
                  % (info["name"], info["container"], info["hidden_dim"], info["head_dim"],
                     info["max_abs_logit"], info["logit_std"], info["mean_top_prob"]))
    with open(os.path.join(args.out, "fixtures.json"), "w") as f:
        json.dump(infos, f, indent=1)
        f.write("\n")
    print("wrote %d fixtures to %s" % (len(infos), args.out))


if __name__ == "__main__":
    main()
