#!/usr/bin/python3
"""Writes small random Hugging Face model folders (seeded, deterministic) for the parity suite.

    /usr/bin/python3 tests/parity/make_hf_fixtures.py --out DIR

Each fixture is DIR/<name>/ with config.json (as transformers writes it, family keys included)
and model.safetensors in HF layout: HF tensor names, q/k rows in HF's rotate-half order (the
reference in hf_reference.py applies rotate-half RoPE to them as is). DIR/hf_fixtures.json lists
them. `shard(folder, out, n)` rewrites a folder as n shards plus model.safetensors.index.json.
"""
import argparse
import json
import math
import os
import shutil
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import HFReference, load_hf_state_dict  # noqa: E402
from llama_reference import write_safetensors  # noqa: E402

# tie: "embed" (tie_word_embeddings true, only model.embed_tokens stored), "head" (true, only
# lm_head stored), "both" (true, both stored and equal), None (false, both stored, different)
FIXTURES = [
    dict(name="llama_gqa_tied_fp32", arch="LlamaForCausalLM", model_type="llama", storage="fp32", tie="embed",
         config=dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
                     intermediate_size=96, vocab_size=97, rms_norm_eps=1e-5, rope_theta=10000.0,
                     attention_bias=False, mlp_bias=False, pretraining_tp=1, rope_scaling=None),
         notes="Llama, GQA 6/2, tied (only model.embed_tokens stored), fp32"),
    dict(name="llama3_rope_scaling_bf16", arch="LlamaForCausalLM", model_type="llama", storage="bf16", tie="both",
         config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                     intermediate_size=128, vocab_size=128, rms_norm_eps=1e-5, rope_theta=500000.0,
                     rope_scaling=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                       original_max_position_embeddings=8192, rope_type="llama3"),
                     attention_bias=False, mlp_bias=False, head_dim=16),
         notes="Llama 3, MQA 4/1, rope_scaling llama3 factor 32, tied with both tensors stored, bf16"),
    dict(name="qwen2_bias_bf16", arch="Qwen2ForCausalLM", model_type="qwen2", storage="bf16", tie="head",
         config=dict(hidden_size=56, num_hidden_layers=2, num_attention_heads=7, num_key_value_heads=1,
                     intermediate_size=112, vocab_size=112, rms_norm_eps=1e-6, rope_theta=1000000.0,
                     use_sliding_window=False, sliding_window=16, max_window_layers=2),
         notes="Qwen2, q/k/v biases, tied (only lm_head stored), sliding window off, bf16"),
    dict(name="qwen3_qknorm_fp32", arch="Qwen3ForCausalLM", model_type="qwen3", storage="fp32", tie=None,
         config=dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                     head_dim=16, intermediate_size=80, vocab_size=100, rms_norm_eps=1e-6,
                     rope_theta=1000000.0, attention_bias=False, use_sliding_window=False,
                     sliding_window=None, max_window_layers=2, rope_scaling=None),
         notes="Qwen3, per-head q/k RMSNorm, head_dim 16 != 48/4, untied, fp32"),
    dict(name="qwen3_qknorm_bf16", arch="Qwen3ForCausalLM", model_type="qwen3", storage="bf16", tie="embed",
         config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                     head_dim=32, intermediate_size=64, vocab_size=90, rms_norm_eps=1e-6,
                     rope_theta=1000000.0, attention_bias=False, use_sliding_window=False,
                     sliding_window=None, max_window_layers=2),
         notes="Qwen3, head_dim 32 != 32/2, tied (only embed stored), bf16"),
    dict(name="mistral_fp32", arch="MistralForCausalLM", model_type="mistral", storage="fp32", tie=None,
         config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                     intermediate_size=64, vocab_size=80, rms_norm_eps=1e-5, rope_theta=10000.0,
                     sliding_window=4096, head_dim=None),
         notes="Mistral, GQA 4/2, sliding_window 4096 (>= the context: full attention), untied, fp32"),
]

STORAGE = {"fp32": torch.float32, "bf16": torch.bfloat16}
TORCH_DTYPE = {"fp32": "float32", "bf16": "bfloat16"}


def full_config(spec):
    c = OrderedDict()
    c["architectures"] = [spec["arch"]]
    c["model_type"] = spec["model_type"]
    c["hidden_act"] = "silu"
    c["bos_token_id"] = 1
    c["eos_token_id"] = [2, 3]
    c["initializer_range"] = 0.02
    c["max_position_embeddings"] = 2048
    c["attention_dropout"] = 0.0
    c["use_cache"] = True
    c["torch_dtype"] = TORCH_DTYPE[spec["storage"]]
    c["transformers_version"] = "4.51.0"
    c["tie_word_embeddings"] = spec["tie"] is not None
    c.update(spec["config"])
    return c


def make_state_dict(c, arch, tie, seed):
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float32)
    dim, L, Hq = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"]
    Hkv, hid, V = c["num_key_value_heads"], c["intermediate_size"], c["vocab_size"]
    D = c.get("head_dim") or dim // Hq
    qkv_bias = arch == "Qwen2ForCausalLM" or c.get("attention_bias", False)
    sd = OrderedDict()
    emb = rnd(V, dim) * (2.0 / math.sqrt(dim) if tie else 1.0)
    if tie != "head":
        sd["model.embed_tokens.weight"] = emb
    for l in range(L):
        p = "model.layers.%d." % l
        a, m = p + "self_attn.", p + "mlp."
        sd[a + "q_proj.weight"] = rnd(Hq * D, dim) * (1.5 / math.sqrt(dim))
        sd[a + "k_proj.weight"] = rnd(Hkv * D, dim) * (1.5 / math.sqrt(dim))
        sd[a + "v_proj.weight"] = rnd(Hkv * D, dim) * (1.0 / math.sqrt(dim))
        sd[a + "o_proj.weight"] = rnd(dim, Hq * D) * (0.7 / math.sqrt(Hq * D))
        if qkv_bias:
            sd[a + "q_proj.bias"] = 0.5 * rnd(Hq * D)
            sd[a + "k_proj.bias"] = 0.5 * rnd(Hkv * D)
            sd[a + "v_proj.bias"] = 0.3 * rnd(Hkv * D)
        if arch == "Qwen3ForCausalLM":
            sd[a + "q_norm.weight"] = 1.0 + 0.3 * rnd(D)
            sd[a + "k_norm.weight"] = 1.0 + 0.3 * rnd(D)
        sd[m + "gate_proj.weight"] = rnd(hid, dim) * (1.0 / math.sqrt(dim))
        sd[m + "up_proj.weight"] = rnd(hid, dim) * (1.0 / math.sqrt(dim))
        sd[m + "down_proj.weight"] = rnd(dim, hid) * (0.7 / math.sqrt(hid))
        sd[p + "input_layernorm.weight"] = 1.0 + 0.1 * rnd(dim)
        sd[p + "post_attention_layernorm.weight"] = 1.0 + 0.1 * rnd(dim)
    sd["model.norm.weight"] = 1.0 + 0.1 * rnd(dim)
    if tie in ("head", "both"):
        sd["lm_head.weight"] = emb.clone()
    elif tie is None:
        sd["lm_head.weight"] = rnd(V, dim) * (2.0 / math.sqrt(dim))
    return sd


def write_folder(d, config, sd):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), sd, metadata={"format": "pt"})
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2, 3]}, f)


def shard(folder, out, n):
    """Copies `folder` to `out` with its weights in n shards (contiguous runs of tensors) and an index."""
    sd = load_hf_state_dict(folder)
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(folder, "config.json"), os.path.join(out, "config.json"))
    names = list(sd.keys())
    per = (len(names) + n - 1) // n
    weight_map, total = OrderedDict(), 0
    for i in range(n):
        part = OrderedDict((k, sd[k]) for k in names[i * per:(i + 1) * per])
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, n)
        write_safetensors(os.path.join(out, fname), part, metadata={"format": "pt"})
        for k, t in part.items():
            weight_map[k] = fname
            total += t.numel() * t.element_size()
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=4321)
    args = ap.parse_args()
    infos = []
    for i, spec in enumerate(FIXTURES):
        config = full_config(spec)
        sd = make_state_dict(config, spec["arch"], spec["tie"], args.seed + 97 * i)
        sd = OrderedDict((k, v.to(STORAGE[spec["storage"]]).contiguous()) for k, v in sd.items())
        d = os.path.join(args.out, spec["name"])
        write_folder(d, config, sd)
        lg = HFReference.load(d).logits(list(range(12)))
        infos.append(dict(name=spec["name"], folder=spec["name"], notes=spec["notes"],
                          max_abs_logit=round(float(lg.abs().max()), 3)))
        print("%-28s max|logit| %6.2f  %s" % (spec["name"], infos[-1]["max_abs_logit"], spec["notes"]))
    with open(os.path.join(args.out, "hf_fixtures.json"), "w") as f:
        json.dump(infos, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
