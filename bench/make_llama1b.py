#!/usr/bin/env python3
"""Create a synthetic checkpoint shaped like Llama 3.2 1B or Llama 3 8B (random bf16 weights, seeded).

Writes, into --out (default WORKDIR/llama1b-L<layers>, or WORKDIR/llama8b-L<layers> with --shape 8b;
WORKDIR is --workdir, default /tmp/pte-bench):
  params.json         Meta format (Llama 3.2 1B or Llama 3 8B values, n_layers = --layers)
  model.safetensors   written by hand: 8-byte LE header length + JSON header + raw bytes
  model.pth           written by torch.save (zip format), same tensors, same order
  hf/                 with --formats ...,hf: the same tensors as a Hugging Face folder
                      (config.json, HF names, 2 shards + model.safetensors.index.json)
  gen.json            the generation parameters; files are not regenerated when they match

Memory stays low: tensors are generated one at a time and streamed into model.safetensors;
model.pth is then written by torch.save from a state dict whose tensors are zero-copy views
of the memory-mapped safetensors file (page cache, not anonymous memory).

The hidden size follows from params.json as in Meta's reference code:
  1B: 4*dim=8192 -> int(2*8192/3)=5461 -> *1.5 = 8191 -> round up to multiple_of 256 = 8192.
  8B: 4*dim=16384 -> 10922 -> *1.3 = 14198 -> round up to multiple_of 1024 = 14336.
The 8B shape (32 layers) is 16.06 GB; `--formats safetensors` writes only that file.
"""
import argparse
import json
import mmap
import os
import struct
import sys
import time

import numpy as np
import torch

GEN_VERSION = 1

# Meta params.json values of each shape (n_layers set from --layers) and the hidden size they give.
SHAPES = {
    "1b": {"layers": 16, "hidden": 8192,
           "params": {"dim": 2048, "n_heads": 32, "n_kv_heads": 8, "vocab_size": 128256,
                      "ffn_dim_multiplier": 1.5, "multiple_of": 256, "norm_eps": 1e-5,
                      "rope_theta": 500000.0, "use_scaled_rope": True}},
    "8b": {"layers": 32, "hidden": 14336,
           "params": {"dim": 4096, "n_heads": 32, "n_kv_heads": 8, "vocab_size": 128256,
                      "ffn_dim_multiplier": 1.3, "multiple_of": 1024, "norm_eps": 1e-5,
                      "rope_theta": 500000.0}},
}


def hidden_dim(p):
    h = 4 * p["dim"]
    h = int(2 * h / 3)
    if p.get("ffn_dim_multiplier") is not None:
        h = int(p["ffn_dim_multiplier"] * h)
    m = p["multiple_of"]
    return m * ((h + m - 1) // m)


def tensor_specs(p):
    """(name, shape, kind) in Meta's state-dict order; kind is 'w' (std 0.02) or 'norm' (~1)."""
    dim, vocab = p["dim"], p["vocab_size"]
    head_dim = dim // p["n_heads"]
    kv = p["n_kv_heads"] * head_dim
    hid = hidden_dim(p)
    specs = [("tok_embeddings.weight", (vocab, dim), "w")]
    for i in range(p["n_layers"]):
        L = f"layers.{i}."
        specs += [
            (L + "attention.wq.weight", (dim, dim), "w"),
            (L + "attention.wk.weight", (kv, dim), "w"),
            (L + "attention.wv.weight", (kv, dim), "w"),
            (L + "attention.wo.weight", (dim, dim), "w"),
            (L + "feed_forward.w1.weight", (hid, dim), "w"),
            (L + "feed_forward.w2.weight", (dim, hid), "w"),
            (L + "feed_forward.w3.weight", (hid, dim), "w"),
            (L + "attention_norm.weight", (dim,), "norm"),
            (L + "ffn_norm.weight", (dim,), "norm"),
        ]
    specs += [("norm.weight", (dim,), "norm"), ("output.weight", (vocab, dim), "w")]
    return specs


CHUNK = 1 << 24  # elements generated at a time (64 MB of fp32)


def tensor_chunks(shape, kind, seed):
    """The tensor's bf16 bytes, row-major, in chunks (keeps peak memory near 100 MB)."""
    g = torch.Generator().manual_seed(seed)
    left = int(np.prod(shape))
    while left:
        n = min(left, CHUNK)
        t = torch.randn(n, generator=g, dtype=torch.float32)
        t = 1.0 + 0.05 * t if kind == "norm" else t.mul_(0.02)
        yield t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        left -= n


def write_safetensors(path, specs, seed):
    header, off = {}, 0
    for name, shape, _ in specs:
        n = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((-len(hj)) % 8)  # pad so the data starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for i, (name, shape, kind) in enumerate(specs):
            for chunk in tensor_chunks(shape, kind, seed * 1000003 + i):
                f.write(chunk)
    os.replace(tmp, path)
    return 8 + len(hj)


def write_pth(path, st_path, specs):
    """torch.save a state dict of zero-copy views into the mmapped safetensors file."""
    with open(st_path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    (hlen,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8 : 8 + hlen])
    base = 8 + hlen
    # np.frombuffer gives a read-only view; torch.frombuffer wants a writable buffer, so go
    # through a numpy memmap opened copy-on-write (nothing is written, nothing is copied).
    arr = np.memmap(st_path, dtype=np.uint8, mode="c")
    sd = {}
    for name, shape, _ in specs:
        b, e = header[name]["data_offsets"]
        sd[name] = torch.frombuffer(arr, dtype=torch.bfloat16, count=(e - b) // 2,
                                    offset=base + b).view(shape)
    tmp = path + ".tmp"
    torch.save(sd, tmp)
    os.replace(tmp, path)
    del sd, arr
    mm.close()


HF_NAMES = {"tok_embeddings": "model.embed_tokens", "norm": "model.norm", "output": "lm_head",
            "attention.wq": "self_attn.q_proj", "attention.wk": "self_attn.k_proj",
            "attention.wv": "self_attn.v_proj", "attention.wo": "self_attn.o_proj",
            "feed_forward.w1": "mlp.gate_proj", "feed_forward.w2": "mlp.down_proj",
            "feed_forward.w3": "mlp.up_proj", "attention_norm": "input_layernorm",
            "ffn_norm": "post_attention_layernorm"}


def hf_name(meta):
    stem = meta[: -len(".weight")]
    if stem.startswith("layers."):
        _, i, rest = stem.split(".", 2)
        return f"model.layers.{i}.{HF_NAMES[rest]}.weight"
    return HF_NAMES[stem] + ".weight"


def write_hf_folder(out, st_path, specs, params):
    """The safetensors tensors renamed to HF names, in 2 shards, bytes copied in 64 MB chunks."""
    os.makedirs(out, exist_ok=True)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": params["dim"],
              "num_hidden_layers": params["n_layers"], "num_attention_heads": params["n_heads"],
              "num_key_value_heads": params["n_kv_heads"], "intermediate_size": hidden_dim(params),
              "vocab_size": params["vocab_size"], "rms_norm_eps": params["norm_eps"],
              "rope_theta": params["rope_theta"], "hidden_act": "silu", "tie_word_embeddings": False,
              "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                               "original_max_position_embeddings": 8192, "rope_type": "llama3"},
              "torch_dtype": "bfloat16", "max_position_embeddings": 131072}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(st_path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
    base = 8 + hlen
    half = (len(specs) + 1) // 2
    weight_map = {}
    with open(st_path, "rb") as src:
        for k, part in enumerate((specs[:half], specs[half:])):
            fname = f"model-{k + 1:05d}-of-00002.safetensors"
            h, off = {}, 0
            for name, shape, _ in part:
                b, e = header[name]["data_offsets"]
                h[hf_name(name)] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + e - b]}
                weight_map[hf_name(name)] = fname
                off += e - b
            hj = json.dumps(h, separators=(",", ":")).encode()
            hj += b" " * ((-len(hj)) % 8)
            with open(os.path.join(out, fname), "wb") as dst:
                dst.write(struct.pack("<Q", len(hj)))
                dst.write(hj)
                for name, _, _ in part:
                    b, e = header[name]["data_offsets"]
                    src.seek(base + b)
                    left = e - b
                    while left:
                        chunk = src.read(min(left, 1 << 26))
                        dst.write(chunk)
                        left -= len(chunk)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="1b")
    ap.add_argument("--layers", type=int, help="default: 16 for 1b, 32 for 8b")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default="/tmp/pte-bench", help="parent of the default --out")
    ap.add_argument("--out", help="output folder (default WORKDIR/llama<shape>-L<layers>)")
    ap.add_argument("--formats", default="pth,safetensors",
                    help="which to keep (safetensors is always written first; pth is built from it)")
    a = ap.parse_args()
    shape = SHAPES[a.shape]
    if a.layers is None:
        a.layers = shape["layers"]
    out = a.out or os.path.join(a.workdir, f"llama{a.shape}-L{a.layers}")
    os.makedirs(out, exist_ok=True)

    params = dict(shape["params"], n_layers=a.layers)
    assert hidden_dim(params) == shape["hidden"], hidden_dim(params)
    specs = tensor_specs(params)
    n_params = sum(int(np.prod(s)) for _, s, _ in specs)
    gen = {"version": GEN_VERSION, "seed": a.seed, "params": params, "tensors": len(specs),
           "n_params": n_params}

    st, pth, pj, gj = (os.path.join(out, n) for n in
                       ("model.safetensors", "model.pth", "params.json", "gen.json"))
    want = set(a.formats.split(","))
    try:
        with open(gj) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = None
    hf = os.path.join(out, "hf")
    have = all(os.path.exists(p) for p in [pj] + [{"pth": pth, "safetensors": st, "hf": hf}[w] for w in want])
    if old == gen and have:
        print(f"{out}: up to date ({n_params / 1e9:.3f} B params), not regenerated")
        return
    if os.path.exists(gj):
        os.remove(gj)

    with open(pj, "w") as f:
        json.dump(params, f, indent=1)
    t0 = time.time()
    if not os.path.exists(st) or old != gen:
        write_safetensors(st, specs, a.seed)
    t1 = time.time()
    if "pth" in want:
        write_pth(pth, st, specs)
    if "hf" in want:
        write_hf_folder(hf, st, specs, params)
    t2 = time.time()
    if "safetensors" not in want:
        os.remove(st)
    with open(gj, "w") as f:
        json.dump(gen, f, indent=1)
    sizes = {os.path.basename(p): os.path.getsize(p) / 1e9 for p in (st, pth) if os.path.exists(p)}
    print(f"{out}: {n_params / 1e9:.3f} B params, {len(specs)} tensors; "
          + ", ".join(f"{k} {v:.2f} GB" for k, v in sizes.items())
          + f"; safetensors {t1 - t0:.1f} s, pth {t2 - t1:.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
