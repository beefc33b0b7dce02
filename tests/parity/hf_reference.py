"""Eager PyTorch forward of Hugging Face decoder models in HF's own formulation (written from
transformers' modeling_llama / modeling_qwen2 / modeling_qwen3 semantics, not imported):
HF tensor names, rotate-half RoPE on HF-layout weights (q/k rows never permuted here), the
family's biases and per-head q/k RMSNorm, tied embeddings. Everything in float32.

    ref = HFReference.load("fixture_dir")     # config.json + model.safetensors or an index
    ref.logits([1, 2, 3])                      # [3, vocab]
    ref.greedy([1, 2, 3], 10)
"""
import json
import math
import os

import torch

from llama_reference import read_safetensors


def load_hf_state_dict(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(folder, "model.safetensors"))
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    sd = {}
    for shard in sorted(set(weight_map.values())):
        sd.update(read_safetensors(os.path.join(folder, shard)))
    return sd


def hf_inv_freq(config, head_dim):
    """HF's rope init: default, or rope_type llama3 (_compute_llama3_parameters)."""
    base = float(config.get("rope_theta", 10000.0))
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    scaling = config.get("rope_scaling")
    if not scaling or scaling.get("rope_type", scaling.get("type")) == "default":
        return inv_freq
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv_freq
    llama = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * llama / factor + smooth * llama
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, llama)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class HFReference:
    def __init__(self, sd, config):
        self.c = c = config
        arch = c["architectures"][0]
        self.dim, self.L = c["hidden_size"], c["num_hidden_layers"]
        self.Hq = c["num_attention_heads"]
        self.Hkv = c.get("num_key_value_heads") or self.Hq
        self.D = c.get("head_dim") or self.dim // self.Hq
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.vocab = c["vocab_size"]
        qkv_bias = arch == "Qwen2ForCausalLM" or c.get("attention_bias", False)
        o_bias = c.get("attention_bias", False)
        self.qk_norm = arch == "Qwen3ForCausalLM"
        f = lambda n: sd[n].to(torch.float32)
        opt = lambda n, on: f(n) if on else None
        self.embed = f("model.embed_tokens.weight") if "model.embed_tokens.weight" in sd else f("lm_head.weight")
        self.layers = []
        for l in range(self.L):
            p = "model.layers.%d." % l
            a, m = p + "self_attn.", p + "mlp."
            self.layers.append(dict(
                ln1=f(p + "input_layernorm.weight"), ln2=f(p + "post_attention_layernorm.weight"),
                q=f(a + "q_proj.weight"), k=f(a + "k_proj.weight"), v=f(a + "v_proj.weight"),
                o=f(a + "o_proj.weight"),
                qb=opt(a + "q_proj.bias", qkv_bias), kb=opt(a + "k_proj.bias", qkv_bias),
                vb=opt(a + "v_proj.bias", qkv_bias), ob=opt(a + "o_proj.bias", o_bias),
                qn=opt(a + "q_norm.weight", self.qk_norm), kn=opt(a + "k_norm.weight", self.qk_norm),
                gate=f(m + "gate_proj.weight"), up=f(m + "up_proj.weight"), down=f(m + "down_proj.weight")))
        self.norm = f("model.norm.weight")
        tied = c.get("tie_word_embeddings", False)
        self.head = self.embed if tied or "lm_head.weight" not in sd else f("lm_head.weight")
        self.inv_freq = hf_inv_freq(c, self.D)

    @staticmethod
    def load(folder):
        with open(os.path.join(folder, "config.json")) as fh:
            config = json.load(fh)
        return HFReference(load_hf_state_dict(folder), config)

    def _rms(self, x, w):  # LlamaRMSNorm / Qwen3RMSNorm: fp32 normalize, cast back, scale
        var = x.pow(2).mean(-1, keepdim=True)
        return w * (x * torch.rsqrt(var + self.eps))

    @torch.no_grad()
    def logits(self, tokens):
        tokens = torch.as_tensor(list(tokens), dtype=torch.long)
        T, D, Hq, Hkv = tokens.numel(), self.D, self.Hq, self.Hkv
        pos = torch.arange(T, dtype=torch.float32)
        freqs = (self.inv_freq[:, None] @ pos[None, :]).t()      # [T, D/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]  # [T, 1, D]
        lin = lambda x, w, b: x @ w.t() + (b if b is not None else 0)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.embed[tokens]
        for L in self.layers:
            h = self._rms(x, L["ln1"])
            q = lin(h, L["q"], L["qb"]).view(T, Hq, D)
            k = lin(h, L["k"], L["kb"]).view(T, Hkv, D)
            v = lin(h, L["v"], L["vb"]).view(T, Hkv, D)
            if self.qk_norm:
                q, k = self._rms(q, L["qn"]), self._rms(k, L["kn"])
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            rep = Hq // Hkv  # repeat_kv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D) + mask
            a = torch.einsum("hts,shd->thd", torch.softmax(s, dim=-1), v).reshape(T, Hq * D)
            x = x + lin(a, L["o"], L["ob"])
            h = self._rms(x, L["ln2"])
            g = lin(h, L["gate"], None)
            x = x + lin(torch.nn.functional.silu(g) * lin(h, L["up"], None), L["down"], None)
        return self._rms(x, self.norm) @ self.head.t()

    def greedy(self, prompt, n):
        seq, out = list(prompt), []
        for _ in range(n):
            nxt = int(torch.argmax(self.logits(seq)[-1]))
            out.append(nxt)
            seq.append(nxt)
        return out
