#!/usr/bin/python3
"""PEFT-format LoRA adapters (seeded) for the parity suite, and the PyTorch merged-weights reference.

    /usr/bin/python3 tests/parity/make_adapters.py --out DIR [--example examples/stories260K]

Writes DIR/<name>/adapter_model.safetensors + DIR/<name>/adapter_config.json for stories260K
(dim 64, 5 layers, 8/4 heads, hidden 172), as PEFT saves them from a Hugging Face Llama:
  a: q_proj, k_proj, v_proj; r 8, lora_alpha 16, use_rslora true  (scale 16/sqrt(8))
  b: o_proj, gate_proj, up_proj, down_proj; r 4, lora_alpha 8     (scale 2)
Keys `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight` ([r, in]) and `...lora_B.weight`
([out, r]). PEFT adapters are trained on HF models, whose q/k rows are in rotate-half order, so the
merged Meta-layout reference is W + scale · P(B) · A for q and k (P: per head of size d, Meta row
2i = HF row i, Meta row 2i+1 = HF row i + d/2) and W + scale · B · A for the others.
B is random (PEFT initialises it to zero; a trained adapter is not), sized so that each delta has
about ADAPTER_STRENGTH times the RMS of the base weight it modifies.
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import Params, load_state_dict, read_safetensors, write_safetensors  # noqa: E402

# PEFT module name → (Meta module under layers.N., kind of permutation of B's rows)
PEFT_TO_META = OrderedDict([
    ("q_proj", ("attention.wq", "q")), ("k_proj", ("attention.wk", "k")),
    ("v_proj", ("attention.wv", None)), ("o_proj", ("attention.wo", None)),
    ("gate_proj", ("feed_forward.w1", None)), ("up_proj", ("feed_forward.w3", None)),
    ("down_proj", ("feed_forward.w2", None)),
])
PEFT_PARENT = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
               "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}

ADAPTER_STRENGTH = 0.3

# the stories260K adapters of the brief
ADAPTERS = [
    dict(name="a", target_modules=["q_proj", "k_proj", "v_proj"], r=8, lora_alpha=16, use_rslora=True, seed=7001),
    dict(name="b", target_modules=["o_proj", "gate_proj", "up_proj", "down_proj"], r=4, lora_alpha=8,
         use_rslora=False, seed=7002),
]


def peft_key(layer, module, ab):
    return "base_model.model.model.layers.%d.%s.%s.lora_%s.weight" % (layer, PEFT_PARENT[module], module, ab)


def lora_scale(cfg):
    r, alpha = cfg["r"], cfg["lora_alpha"]
    return alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r


def hf_to_meta_rows(n_heads, head_dim):
    """Row index list: meta[j] = hf[perm[j]] (per head: Meta 2i ← HF i, Meta 2i+1 ← HF i + d/2)."""
    perm = []
    for h in range(n_heads):
        for i in range(head_dim // 2):
            perm += [h * head_dim + i, h * head_dim + i + head_dim // 2]
    return torch.tensor(perm, dtype=torch.long)


def peft_config(spec):
    """adapter_config.json as PEFT writes it (fields the exporter must read or tolerate)."""
    return OrderedDict([
        ("base_model_name_or_path", "stories260K"), ("peft_type", "LORA"), ("task_type", "CAUSAL_LM"),
        ("inference_mode", True), ("r", spec["r"]), ("lora_alpha", spec["lora_alpha"]),
        ("lora_dropout", 0.0), ("target_modules", list(spec["target_modules"])),
        ("bias", "none"), ("fan_in_fan_out", False), ("use_rslora", spec["use_rslora"]),
        ("use_dora", False), ("modules_to_save", None), ("init_lora_weights", True),
        ("layers_to_transform", None), ("rank_pattern", {}), ("alpha_pattern", {}),
    ])


def make_adapter_tensors(base_sd, params, spec):
    """PEFT-named A/B tensors (float32) for every layer and target module."""
    p = params
    g = torch.Generator().manual_seed(spec["seed"])
    r = spec["r"]
    scale = lora_scale(spec)
    out = OrderedDict()
    for layer in range(p.n_layers):
        for module in spec["target_modules"]:
            meta, _ = PEFT_TO_META[module]
            w = base_sd["layers.%d.%s.weight" % (layer, meta)].float()
            n_out, n_in = w.shape
            a = torch.randn(r, n_in, generator=g) / math.sqrt(n_in)      # A x has RMS ~ RMS(x)
            b = torch.randn(n_out, r, generator=g) / math.sqrt(r)        # B A has entries ~ 1/sqrt(in)
            rms_w = float(w.pow(2).mean().sqrt())
            b = b * (ADAPTER_STRENGTH * rms_w * math.sqrt(n_in) / scale)  # scale·B·A ~ strength·RMS(W)
            out[peft_key(layer, module, "A")] = a.contiguous()
            out[peft_key(layer, module, "B")] = b.contiguous()
    return out


def write_adapter(out_dir, spec, tensors):
    d = os.path.join(out_dir, spec["name"])
    os.makedirs(d, exist_ok=True)
    ckpt = os.path.join(d, "adapter_model.safetensors")
    cfg = os.path.join(d, "adapter_config.json")
    write_safetensors(ckpt, tensors, metadata={"format": "pt"})
    with open(cfg, "w") as f:
        json.dump(peft_config(spec), f, indent=2)
        f.write("\n")
    return ckpt, cfg


def meta_deltas(tensors, cfg, params):
    """{Meta weight name: scale · P(B) · A (float32, Meta row order)} for a PEFT adapter."""
    p = params
    scale = lora_scale(cfg)
    out = OrderedDict()
    for layer in range(p.n_layers):
        for module in cfg["target_modules"]:
            meta, kind = PEFT_TO_META[module]
            a = tensors[peft_key(layer, module, "A")].float()
            b = tensors[peft_key(layer, module, "B")].float()
            if kind == "q":
                b = b[hf_to_meta_rows(p.n_heads, p.head_dim)]
            elif kind == "k":
                b = b[hf_to_meta_rows(p.n_kv_heads, p.head_dim)]
            out["layers.%d.%s.weight" % (layer, meta)] = scale * (b @ a)
    return out


def meta_b(tensors, cfg, params, layer, module):
    """lora_B of one module in Meta row order (what the exporter should store)."""
    _, kind = PEFT_TO_META[module]
    b = tensors[peft_key(layer, module, "B")]
    if kind == "q":
        return b[hf_to_meta_rows(params.n_heads, params.head_dim)]
    if kind == "k":
        return b[hf_to_meta_rows(params.n_kv_heads, params.head_dim)]
    return b


def merged_state_dict(base_sd, params, tensors, cfg, permute=True):
    """Base state dict (float32) with every targeted weight replaced by W + delta.
    permute=False gives the wrong (unpermuted) merge, to show the test would see the difference."""
    sd = OrderedDict((k, v.float().clone()) for k, v in base_sd.items())
    if permute:
        deltas = meta_deltas(tensors, cfg, params)
    else:
        scale = lora_scale(cfg)
        deltas = OrderedDict(("layers.%d.%s.weight" % (l, PEFT_TO_META[m][0]),
                              scale * (tensors[peft_key(l, m, "B")].float() @ tensors[peft_key(l, m, "A")].float()))
                             for l in range(params.n_layers) for m in cfg["target_modules"])
    for k, dlt in deltas.items():
        sd[k] = sd[k] + dlt
    return sd


def make_adapters(out_dir, checkpoint, params_path, specs=ADAPTERS):
    """Writes the adapters; returns [{name, checkpoint, config, tensors, cfg}] in spec order."""
    base = load_state_dict(checkpoint)
    p = Params.load(params_path)
    res = []
    for spec in specs:
        tensors = make_adapter_tensors(base, p, spec)
        ckpt, cfg_path = write_adapter(out_dir, spec, tensors)
        back = read_safetensors(ckpt)
        assert list(back) == list(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors), spec["name"]
        with open(cfg_path) as f:
            cfg = json.load(f)
        res.append(dict(name=spec["name"], checkpoint=ckpt, config=cfg_path, tensors=back, cfg=cfg))
    return res


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--example", default=os.path.join(here, "..", "..", "examples", "stories260K"))
    args = ap.parse_args()
    ckpt = os.path.join(args.example, "model.pth")
    params = os.path.join(args.example, "params.json")
    ads = make_adapters(args.out, ckpt, params)
    base = load_state_dict(ckpt)
    p = Params.load(params)
    for ad in ads:
        d = meta_deltas(ad["tensors"], ad["cfg"], p)
        rel = max(float(v.norm() / base[k].float().norm()) for k, v in d.items())
        print("%s: %d tensors, r %d, alpha %s, scale %.4f, max |delta|/|W| %.3f -> %s"
              % (ad["name"], len(ad["tensors"]), ad["cfg"]["r"], ad["cfg"]["lora_alpha"], lora_scale(ad["cfg"]),
                 rel, os.path.dirname(ad["checkpoint"])))


if __name__ == "__main__":
    main()
