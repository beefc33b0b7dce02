#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (one folder per target) from the project's own
fixtures: small checkpoints written by PyTorch (zip and legacy .pth, safetensors), params.json
files, a PEFT adapter, stories260K's tokenizer and .pte files exported by pte itself.

    /usr/bin/python3 fuzz/make_seeds.py --pte build/exporter/cli/pte --example examples/stories260K --out DIR
"""
import argparse
import io
import json
import os
import shutil
import struct
import subprocess

import torch


def safetensors_bytes(tensors):
    header, raw, off = {}, b"", 0
    for name, t in tensors.items():
        data = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        raw += data
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + raw


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pte", required=True)
    ap.add_argument("--example", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    g = torch.Generator().manual_seed(1)
    small = {"tok_embeddings.weight": torch.randn(8, 4, generator=g),
             "layers.0.attention.wq.weight": torch.randn(4, 4, generator=g).half(),
             "norm.weight": torch.ones(4).bfloat16(), "ids": torch.arange(3)}
    view = torch.randn(6, 6, generator=g)
    small["strided"] = view[1:, ::2]
    ck = os.path.join(a.out, "checkpoint")
    for name, kw in (("zip.pth", {}), ("legacy.pth", {"_use_new_zipfile_serialization": False})):
        buf = io.BytesIO()
        torch.save(small, buf, **kw)
        write(ck, name, buf.getvalue())
    buf = io.BytesIO()
    torch.save({"model": {k: v for k, v in small.items() if k != "strided"}}, buf)
    write(ck, "nested.pth", buf.getvalue())
    write(ck, "small.safetensors", safetensors_bytes({k: v for k, v in small.items() if k != "strided"}))

    pa = os.path.join(a.out, "params")
    with open(os.path.join(a.example, "params.json"), "rb") as f:
        write(pa, "stories260K.json", f.read())
    write(pa, "llama32.json", json.dumps({"dim": 2048, "ffn_dim_multiplier": 1.5, "multiple_of": 256, "n_heads": 32,
                                          "n_kv_heads": 8, "n_layers": 16, "norm_eps": 1e-05, "rope_theta": 500000.0,
                                          "use_scaled_rope": True, "vocab_size": 128256}).encode())
    write(pa, "qwen3_config.json", json.dumps({
        "architectures": ["Qwen3ForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 32, "intermediate_size": 96, "vocab_size": 128, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "attention_bias": False, "hidden_act": "silu",
        "use_sliding_window": False, "sliding_window": None, "torch_dtype": "bfloat16", "model_type": "qwen3"}).encode())
    write(pa, "llama3_config.json", json.dumps({
        "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 128, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        "tie_word_embeddings": False, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": [2, 3]}).encode())

    ad = os.path.join(a.out, "adapter")
    config = json.dumps({"r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "down_proj"], "use_rslora": False})
    lora = {}
    for l in range(5):
        p = "base_model.model.model.layers.%d." % l
        lora[p + "self_attn.q_proj.lora_A.weight"] = torch.randn(2, 64, generator=g)
        lora[p + "self_attn.q_proj.lora_B.weight"] = torch.randn(64, 2, generator=g)
        lora[p + "mlp.down_proj.lora_A.weight"] = torch.randn(2, 172, generator=g)
        lora[p + "mlp.down_proj.lora_B.weight"] = torch.randn(64, 2, generator=g)
    write(ad, "adapter", config.encode() + b"\n--SAFETENSORS--\n" + safetensors_bytes(lora))

    to = os.path.join(a.out, "tokenizer")
    with open(os.path.join(a.example, "tok512.bin"), "rb") as f:
        write(to, "tok512.bin", f.read())
    # A small tiktoken ranks file (base64 token, rank) and a byte-level BPE tokenizer.json.
    import base64
    pieces = [bytes([b]) for b in range(256)] + [b"th", b"the", b" t", b" the", b"in", b"er"]
    write(to, "ranks.tiktoken", b"".join(base64.b64encode(p) + b" %d\n" % i for i, p in enumerate(pieces)))
    byte_chars = [chr(c) for c in range(33, 127)] + [chr(c) for c in range(161, 173)] + [chr(c) for c in range(174, 256)]
    rest = [b for b in range(256) if chr(b) not in byte_chars]
    mapping = {}
    for b in range(256):
        mapping[b] = chr(b) if chr(b) in byte_chars else chr(256 + rest.index(b))
    vocab = {mapping[b]: b for b in range(256)}
    merges = [("t", "h"), ("th", "e"), (mapping[32], "t"), (mapping[32] + "t", "he")]
    for l, r in merges:
        vocab[l + r] = len(vocab)
    hf = {"version": "1.0", "added_tokens": [{"id": len(vocab), "content": "<|eot_id|>", "single_word": False,
                                              "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
          "normalizer": None,
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+"},
               "behavior": "Isolated", "invert": False},
              {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
          "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                              "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                    "vocab": vocab, "merges": [l + " " + r for l, r in merges]}}
    write(to, "tokenizer.json", json.dumps(hf).encode())

    # A tiny model (a few KB of .pte), so that each execution of the loader target is fast.
    pt = os.path.join(a.out, "pte_loader")
    os.makedirs(pt)
    work = os.path.join(a.out, "tiny_model")
    os.makedirs(work)
    dim, hidden, vocab = 16, 32, 32
    tiny = {"tok_embeddings.weight": torch.randn(vocab, dim, generator=g), "norm.weight": torch.ones(dim),
            "output.weight": torch.randn(vocab, dim, generator=g)}
    for l in range(2):
        p = "layers.%d." % l
        for n, rows in (("wq", dim), ("wk", 8), ("wv", 8), ("wo", dim)):
            tiny[p + "attention.%s.weight" % n] = torch.randn(rows, dim, generator=g) * 0.3
        tiny[p + "feed_forward.w1.weight"] = torch.randn(hidden, dim, generator=g) * 0.3
        tiny[p + "feed_forward.w3.weight"] = torch.randn(hidden, dim, generator=g) * 0.3
        tiny[p + "feed_forward.w2.weight"] = torch.randn(dim, hidden, generator=g) * 0.3
        tiny[p + "attention_norm.weight"] = torch.ones(dim)
        tiny[p + "ffn_norm.weight"] = torch.ones(dim)
    write(work, "tiny.safetensors", safetensors_bytes(tiny))
    write(work, "params.json", json.dumps({"dim": dim, "n_layers": 2, "n_heads": 2, "n_kv_heads": 1,
                                           "vocab_size": vocab, "hidden_dim": hidden}).encode())
    base = [a.pte, "export", "-c", os.path.join(work, "tiny.safetensors"), "-p", os.path.join(work, "params.json"),
            "--max_context_len", "12", "--input_len", "4", "--target_split_size", "16"]
    for name, extra in (("default.pte", []), ("fp32_plain.pte", ["--dtype", "fp32", "-E", "none", "--linear_quantize", "none"]),
                        ("multifunction_b4w.pte", ["--multifunction", "--linear_quantize", "b4w", "-E", "4,8"])):
        subprocess.run(base + extra + ["-o", os.path.join(pt, name)], check=True, capture_output=True)
    shutil.rmtree(work)
    for folder in sorted(os.listdir(a.out)):
        print("%s: %d seeds" % (folder, len(os.listdir(os.path.join(a.out, folder)))))


if __name__ == "__main__":
    main()
