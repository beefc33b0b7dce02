"""Eager PyTorch reference of the static Llama described in SPEC §2 (written from the spec).

Used by the parity suite to check `pte run` against an independent implementation.

    model = LlamaReference.load("model.pth", "params.json")
    model.logits([1, 2, 3])          # torch.float32 tensor [3, vocab]
    model.greedy([1, 2, 3], 10)      # list of 10 generated ids

Numerics: by default everything is computed in float32 on weights cast to float32 (the stored
values are exact in float32 whatever the storage dtype). With dtype=torch.float16/bfloat16 the
weights are cast to that dtype and every op is computed in float32 and rounded once to the
dtype (the numerics contract of FORMAT.md §5; RMSNorm rounds twice as Meta's does).
dtype=torch.float64 computes everything in float64 (useful to see float32's own error).

Also here: a hand-written safetensors reader/writer (there is no safetensors package) and a
reader for llama2.c's tokenizer format (tok512.bin) with encode/decode.
"""
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import torch

# ----------------------------------------------------------------------------------------------
# safetensors (format: u64 LE header length N, N bytes of JSON, then the raw tensor bytes)

_ST_DTYPES = {
    "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "F64": (torch.float64, 8), "I32": (torch.int32, 4), "I64": (torch.int64, 8),
    "I16": (torch.int16, 2), "I8": (torch.int8, 1), "U8": (torch.uint8, 1),
}
_ST_NAMES = {v[0]: k for k, v in _ST_DTYPES.items()}
# same-width integer type used to move raw bytes in and out of numpy
_RAW_INT = {1: np.uint8, 2: np.int16, 4: np.int32, 8: np.int64}
_TORCH_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def write_safetensors(path, tensors, metadata=None):
    """Writes an ordered mapping name → tensor as a .safetensors file (data in the given order)."""
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, off = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype not in _ST_NAMES:
            raise ValueError("safetensors: unsupported dtype %s for %s" % (t.dtype, name))
        width = _ST_DTYPES[_ST_NAMES[t.dtype]][1]
        # move the bits through a same-width integer view (numpy has no bfloat16)
        ints = t.reshape(-1).view(_TORCH_INT[width]).numpy() if t.numel() else np.zeros(0, _RAW_INT[width])
        raw = ints.astype(np.dtype(_RAW_INT[width]).newbyteorder("<")).tobytes()
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for c in chunks:
            f.write(c)


def read_safetensors(path):
    """Reads a .safetensors file into an OrderedDict name → tensor (in file order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short for safetensors" % path)
    (n,) = struct.unpack_from("<Q", data, 0)
    if 8 + n > len(data):
        raise ValueError("%s: header length %d exceeds the file" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    items = [(k, v) for k, v in header.items() if k != "__metadata__"]
    items.sort(key=lambda kv: kv[1]["data_offsets"][0])
    out = OrderedDict()
    for name, info in items:
        dt, width = _ST_DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if e - b != count * width or base + e > len(data):
            raise ValueError("%s: bad data_offsets for %s" % (path, name))
        raw = np.frombuffer(data, dtype=np.dtype(_RAW_INT[width]).newbyteorder("<"),
                            count=count, offset=base + b).astype(_RAW_INT[width])
        t = torch.from_numpy(raw.copy()).view(dt).reshape(shape)
        out[name] = t
    return out


# ----------------------------------------------------------------------------------------------
# checkpoints and params


def load_state_dict(path):
    """Loads a Meta-named state dict from .pth (zip or legacy torch.save) or .safetensors.
    A dict nested under "model" (or "state_dict") is unwrapped."""
    if path.endswith(".safetensors"):
        sd = read_safetensors(path)
    else:
        sd = torch.load(path, map_location="cpu")
    for key in ("model", "state_dict"):
        if isinstance(sd, dict) and "tok_embeddings.weight" not in sd and key in sd \
                and isinstance(sd[key], dict):
            sd = sd[key]
    return OrderedDict((k, v) for k, v in sd.items() if torch.is_tensor(v))


def hidden_dim_rule(dim, multiple_of=256, ffn_dim_multiplier=None):
    h = int(2 * 4 * dim / 3)
    if ffn_dim_multiplier is not None:
        h = int(ffn_dim_multiplier * h)
    return multiple_of * ((h + multiple_of - 1) // multiple_of)


class Params:
    """Meta params.json with the defaults of SPEC §2."""

    def __init__(self, d):
        self.raw = dict(d)
        self.dim = int(d["dim"])
        self.n_layers = int(d["n_layers"])
        self.n_heads = int(d["n_heads"])
        self.n_kv_heads = int(d.get("n_kv_heads") or self.n_heads)
        self.vocab_size = int(d.get("vocab_size", -1))
        self.head_dim = int(d.get("head_dim") or self.dim // self.n_heads)
        self.multiple_of = int(d.get("multiple_of", 256))
        self.ffn_dim_multiplier = d.get("ffn_dim_multiplier")
        self.norm_eps = float(d.get("norm_eps", 1e-5))
        self.rope_theta = float(d.get("rope_theta", 10000.0))
        self.use_scaled_rope = bool(d.get("use_scaled_rope", False))
        self.rope_scale_factor = float(d.get("rope_scale_factor", 8))
        if d.get("hidden_dim"):
            self.hidden_dim = int(d["hidden_dim"])
        else:
            self.hidden_dim = hidden_dim_rule(self.dim, self.multiple_of, self.ffn_dim_multiplier)
        if self.n_heads % self.n_kv_heads:
            raise ValueError("n_heads %d not a multiple of n_kv_heads %d" % (self.n_heads, self.n_kv_heads))

    @staticmethod
    def load(path):
        with open(path) as f:
            return Params(json.load(f))


# ----------------------------------------------------------------------------------------------
# RoPE


def rope_frequencies(head_dim, theta, use_scaled=False, scale_factor=8.0):
    """f_i = theta^(-2i/head_dim), i < head_dim/2, in float32, with optional Llama-3 scaling."""
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    if use_scaled:
        low_freq_factor, high_freq_factor, old_context_len = 1.0, 4.0, 8192.0
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        out = []
        for f in freqs.tolist():
            f = torch.tensor(f, dtype=torch.float32)
            wavelen = 2 * math.pi / f
            if wavelen < high_freq_wavelen:
                out.append(f)
            elif wavelen > low_freq_wavelen:
                out.append(f / scale_factor)
            else:
                smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
                out.append((1 - smooth) * f / scale_factor + smooth * f)
        freqs = torch.stack(out).to(torch.float32)
    return freqs


def rope_tables(n_positions, head_dim, theta, use_scaled=False, scale_factor=8.0):
    """cos, sin tables [n_positions, head_dim/2] in float32 (row p = position p)."""
    freqs = rope_frequencies(head_dim, theta, use_scaled, scale_factor)
    t = torch.arange(n_positions, dtype=torch.float32)
    angles = torch.outer(t, freqs).float()
    return torch.cos(angles), torch.sin(angles)


# ----------------------------------------------------------------------------------------------
# the model


class LlamaReference:
    def __init__(self, state_dict, params, dtype=torch.float32):
        self.p = params if isinstance(params, Params) else Params(params)
        self.dtype = dtype
        self.compute = torch.float64 if dtype == torch.float64 else torch.float32
        p = self.p
        sd = state_dict

        def w(name, shape):
            if name not in sd:
                raise KeyError("checkpoint has no %s" % name)
            t = sd[name]
            if tuple(t.shape) != tuple(shape):
                raise ValueError("%s has shape %s, expected %s" % (name, tuple(t.shape), tuple(shape)))
            # cast to the model dtype (round to nearest even), then hold exactly in compute dtype
            return t.to(dtype).to(self.compute)

        tok = sd["tok_embeddings.weight"]
        self.vocab = tok.shape[0]
        if p.vocab_size > 0 and p.vocab_size != self.vocab:
            raise ValueError("params vocab_size %d but embedding has %d rows" % (p.vocab_size, self.vocab))
        D, Hq, Hkv, dim, hid = p.head_dim, p.n_heads, p.n_kv_heads, p.dim, p.hidden_dim
        self.tok = w("tok_embeddings.weight", (self.vocab, dim))
        self.layers = []
        for l in range(p.n_layers):
            pre = "layers.%d." % l
            self.layers.append(dict(
                attention_norm=w(pre + "attention_norm.weight", (dim,)),
                wq=w(pre + "attention.wq.weight", (Hq * D, dim)),
                wk=w(pre + "attention.wk.weight", (Hkv * D, dim)),
                wv=w(pre + "attention.wv.weight", (Hkv * D, dim)),
                wo=w(pre + "attention.wo.weight", (dim, Hq * D)),
                ffn_norm=w(pre + "ffn_norm.weight", (dim,)),
                w1=w(pre + "feed_forward.w1.weight", (hid, dim)),
                w2=w(pre + "feed_forward.w2.weight", (dim, hid)),
                w3=w(pre + "feed_forward.w3.weight", (hid, dim)),
            ))
        self.norm = w("norm.weight", (dim,))
        if "output.weight" in sd:
            self.output = w("output.weight", (self.vocab, dim))
        else:
            self.output = self.tok  # tied classifier
        self.freqs = rope_frequencies(D, p.rope_theta, p.use_scaled_rope, p.rope_scale_factor)

    @staticmethod
    def load(checkpoint, params_path, dtype=torch.float32):
        return LlamaReference(load_state_dict(checkpoint), Params.load(params_path), dtype)

    # rounding to the model dtype after each op (identity for fp32 / fp64)
    def _r(self, x):
        if self.dtype in (torch.float32, torch.float64):
            return x
        return x.to(self.dtype).to(self.compute)

    def _rms_norm(self, x, weight):
        x32 = x.to(torch.float32) if self.compute == torch.float32 else x
        n = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.p.norm_eps)
        return self._r(self._r(n.to(self.compute)) * weight)

    def _rope(self, x, n_heads, cos, sin):
        # x [T, n*D]; interleaved pairs (x[2i], x[2i+1]) rotated by pos * f_i
        T = x.shape[0]
        D = self.p.head_dim
        xr = x.reshape(T, n_heads, D // 2, 2)
        a, b = xr[..., 0], xr[..., 1]
        c, s = cos[:, None, :], sin[:, None, :]
        out = torch.stack((a * c - b * s, a * s + b * c), dim=-1)
        return self._r(out.reshape(T, n_heads * D))

    def _attention(self, q, k, v):
        # q [T, Hq*D], k/v [T, Hkv*D] (RoPE applied); full causal attention over the sequence
        p = self.p
        T, D, Hq, Hkv = q.shape[0], p.head_dim, p.n_heads, p.n_kv_heads
        G = Hq // Hkv
        qh = q.reshape(T, Hkv, G, D).permute(1, 2, 0, 3)        # [Hkv, G, T, D]
        kh = k.reshape(T, Hkv, D).permute(1, 0, 2)[:, None]     # [Hkv, 1, T, D]
        vh = v.reshape(T, Hkv, D).permute(1, 0, 2)[:, None]
        scores = torch.matmul(qh, kh.transpose(-1, -2)) / math.sqrt(D)  # [Hkv, G, T, T]
        mask = torch.full((T, T), float("-inf"), dtype=self.compute).triu(1)
        probs = torch.softmax(scores + mask, dim=-1)
        out = torch.matmul(probs, vh)                            # [Hkv, G, T, D]
        return self._r(out.permute(2, 0, 1, 3).reshape(T, Hq * D))

    def hidden_logits(self, tokens):
        p = self.p
        tokens = torch.as_tensor(list(tokens), dtype=torch.long)
        if tokens.numel() == 0:
            return torch.zeros((0, self.vocab), dtype=torch.float32)
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab:
            raise ValueError("token outside [0, %d)" % self.vocab)
        T = tokens.numel()
        angles = torch.outer(torch.arange(T, dtype=torch.float32), self.freqs)
        cos = self._r(torch.cos(angles).to(self.compute))
        sin = self._r(torch.sin(angles).to(self.compute))
        x = self.tok[tokens]
        lin = lambda a, wt: self._r(a @ wt.t())
        for L in self.layers:
            xn = self._rms_norm(x, L["attention_norm"])
            q = self._rope(lin(xn, L["wq"]), p.n_heads, cos, sin)
            k = self._rope(lin(xn, L["wk"]), p.n_kv_heads, cos, sin)
            v = lin(xn, L["wv"])
            h = self._r(x + lin(self._attention(q, k, v), L["wo"]))
            hn = self._rms_norm(h, L["ffn_norm"])
            a = lin(hn, L["w1"])
            g = self._r(a * torch.sigmoid(a))
            x = self._r(h + lin(self._r(g * lin(hn, L["w3"])), L["w2"]))
        return lin(self._rms_norm(x, self.norm), self.output)

    @torch.no_grad()
    def logits(self, tokens, dtype=torch.float32):
        """Logits [len(tokens), vocab]: row i = the prediction after tokens[0..i]."""
        return self.hidden_logits(tokens).to(dtype)

    @torch.no_grad()
    def greedy(self, prompt, n):
        """n greedily generated ids after prompt (argmax, lowest id on ties)."""
        seq = list(prompt)
        out = []
        for _ in range(n):
            row = self.hidden_logits(seq)[-1]
            nxt = int(torch.argmax(row))
            out.append(nxt)
            seq.append(nxt)
        return out


# ----------------------------------------------------------------------------------------------
# llama2.c tokenizer (tok512.bin)


class Llama2cTokenizer:
    BOS, EOS = 1, 2

    def __init__(self, path, vocab_size=None):
        with open(path, "rb") as f:
            data = f.read()
        (self.max_token_length,) = struct.unpack_from("<i", data, 0)
        off = 4
        self.pieces, self.scores = [], []
        while off < len(data) and (vocab_size is None or len(self.pieces) < vocab_size):
            score, n = struct.unpack_from("<fi", data, off)
            off += 8
            self.pieces.append(data[off:off + n])
            self.scores.append(score)
            off += n
        self.lookup = {}
        for i, pc in enumerate(self.pieces):
            self.lookup.setdefault(pc, i)

    def piece_bytes(self, prev, token):
        pc = self.pieces[token]
        if prev == self.BOS and pc.startswith(b" "):
            pc = pc[1:]
        if len(pc) == 6 and pc.startswith(b"<0x") and pc.endswith(b">"):
            try:
                return bytes([int(pc[3:5], 16)])
            except ValueError:
                pass
        return pc

    def decode(self, tokens, prev=None):
        """Decodes ids as llama2.c's runner prints them (BOS itself prints nothing)."""
        out = b""
        for t in tokens:
            if t == self.BOS and prev is None:
                prev = t
                continue
            out += self.piece_bytes(prev, t)
            prev = t
        return out.decode("utf-8", errors="replace")

    def encode(self, text, bos=True):
        """llama2.c's BPE encode: dummy-prefix space, UTF-8 code points, byte fallback (+3),
        then merge the best-scoring adjacent pair until none merges."""
        ids = []
        if text:
            ids.append(self.lookup[b" "])
        for ch in text:
            b = ch.encode("utf-8")
            if b in self.lookup:
                ids.append(self.lookup[b])
            else:
                ids.extend(x + 3 for x in b)
        while True:
            best, best_i, best_id = -1e10, -1, -1
            for i in range(len(ids) - 1):
                merged = self.pieces[ids[i]] + self.pieces[ids[i + 1]]
                j = self.lookup.get(merged)
                if j is not None and self.scores[j] > best:
                    best, best_i, best_id = self.scores[j], i, j
            if best_i < 0:
                break
            ids[best_i:best_i + 2] = [best_id]
        return ([self.BOS] if bos else []) + ids


def _selfcheck(example_dir):
    """Reference check on stories260K: greedy from "Once upon a time" must tell of Lily."""
    m = LlamaReference.load(os.path.join(example_dir, "model.pth"), os.path.join(example_dir, "params.json"))
    tok = Llama2cTokenizer(os.path.join(example_dir, "tok512.bin"))
    prompt = tok.encode("Once upon a time")
    gen = m.greedy(prompt, 40)
    text = tok.decode(prompt + gen)
    print("prompt ids", prompt)
    print("generated", gen)
    print(repr(text))
    return prompt == [1, 403, 407, 261, 378] and text.startswith(
        "Once upon a time, there was a little girl named Lily.")


if __name__ == "__main__":
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    ok = _selfcheck(sys.argv[1] if len(sys.argv) > 1 else
                    os.path.join(here, "..", "..", "examples", "stories260K"))
    print("OK" if ok else "FAIL")
    sys.exit(0 if ok else 1)
