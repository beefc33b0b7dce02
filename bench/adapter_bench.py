#!/usr/bin/python3
"""Export time with --multifunction and two LoRA adapters vs a plain single-method export.

    /usr/bin/python3 bench/adapter_bench.py [--workdir /tmp/pte-bench] [--repeat 3]

Uses the Llama-3.2-1B-shaped checkpoint of export_bench.py (made by make_llama1b.py) and two
PEFT adapters written here (rank 16; one on q/k/v/o, one on gate/up/down; random, seeded).
Prints the median wall time of each export and their ratio. Not a test.
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEFT_MODULES = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
                "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def module_shape(p, module):
    d, hd = p["dim"], p["dim"] // p["n_heads"]
    hidden = 8192
    return {"q_proj": (p["n_heads"] * hd, d), "k_proj": (p["n_kv_heads"] * hd, d),
            "v_proj": (p["n_kv_heads"] * hd, d), "o_proj": (d, p["n_heads"] * hd),
            "gate_proj": (hidden, d), "up_proj": (hidden, d), "down_proj": (d, hidden)}[module]


def write_adapter(out_dir, params, targets, rank, seed):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer in range(params["n_layers"]):
        for m in targets:
            out, inp = module_shape(params, m)
            key = "base_model.model.model.layers.%d.%s.%s" % (layer, PEFT_MODULES[m], m)
            tensors[key + ".lora_A.weight"] = (torch.randn(rank, inp, generator=g) * 0.01).to(torch.bfloat16)
            tensors[key + ".lora_B.weight"] = (torch.randn(out, rank, generator=g) * 0.01).to(torch.bfloat16)
    header, offset, blobs = {}, 0, []
    for k, t in tensors.items():
        b = t.view(torch.int16).numpy().tobytes()
        header[k] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    with open(os.path.join(out_dir, "adapter_model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
    with open(os.path.join(out_dir, "adapter_config.json"), "w") as f:
        json.dump({"r": rank, "lora_alpha": 2 * rank, "target_modules": targets, "peft_type": "LORA"}, f)
    return os.path.join(out_dir, "adapter_model.safetensors"), os.path.join(out_dir, "adapter_config.json")


def timed_export(pte, args, out, repeat):
    walls = []
    for _ in range(repeat):
        if os.path.exists(out):
            os.remove(out)
        t0 = time.monotonic()
        subprocess.run([pte, "export", "-o", out] + args, check=True, capture_output=True)
        walls.append(time.monotonic() - t0)
    return statistics.median(walls), walls, os.path.getsize(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/pte-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pte", default=os.path.join(ROOT, "build/exporter/cli/pte"))
    a = ap.parse_args()
    model = os.path.join(a.workdir, "llama1b-L16")
    if not os.path.exists(os.path.join(model, "model.pth")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_llama1b.py"), "--workdir", a.workdir], check=True)
    with open(os.path.join(model, "params.json")) as f:
        params = json.load(f)
    adapters = [("attn", write_adapter(os.path.join(a.workdir, "adapter_attn"), params,
                                       ["q_proj", "k_proj", "v_proj", "o_proj"], 16, 1)),
                ("mlp", write_adapter(os.path.join(a.workdir, "adapter_mlp"), params,
                                      ["gate_proj", "up_proj", "down_proj"], 16, 2))]
    base = ["-c", os.path.join(model, "model.pth"), "-p", os.path.join(model, "params.json")]
    with open(os.path.join(model, "model.pth"), "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    single, s_runs, s_size = timed_export(a.pte, base, os.path.join(a.workdir, "single.pte"), a.repeat)
    extra = ["--multifunction"]
    for name, (ckpt, cfg) in adapters:
        extra += ["--adapter", name, ckpt, cfg]
    multi, m_runs, m_size = timed_export(a.pte, base + extra, os.path.join(a.workdir, "multi.pte"), a.repeat)
    print("| export | wall s (median; runs) | output MB |")
    print("|---|---:|---:|")
    print("| single method, defaults | %.2f (%s) | %.0f |" % (single, ", ".join("%.2f" % w for w in s_runs), s_size / 1e6))
    print("| --multifunction + 2 adapters (r 16) | %.2f (%s) | %.0f |"
          % (multi, ", ".join("%.2f" % w for w in m_runs), m_size / 1e6))
    print("ratio %.2f (budget 1.5)" % (multi / single))


if __name__ == "__main__":
    main()
