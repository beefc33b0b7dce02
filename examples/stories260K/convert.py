#!/usr/bin/python3
"""Convert llama2.c's stories260K.bin into a Meta-format checkpoint for pte.

Usage (from anywhere; use Debian's /usr/bin/python3, which has torch):
    /usr/bin/python3 examples/stories260K/convert.py [PATH/TO/stories260K.bin] [--out DIR]

The default input is ../shared/models/stories260K/stories260K.bin relative to the repo root
(i.e. this script's ../../../shared/models/stories260K/). tok512.bin is taken from the same
directory as the .bin. Outputs, next to this script unless --out is given:
    model.pth    torch.save of an OrderedDict with the Meta state-dict names, fp32, contiguous,
                 without output.weight (the classifier is tied: the exporter uses the embedding)
    params.json  Meta params
    tok512.bin   unmodified copy of the llama2.c tokenizer
    README.md    attribution and provenance

The llama2.c "version 0" format: 7 little-endian int32 (dim, hidden_dim, n_layers, n_heads,
n_kv_heads, vocab_size, max_seq_len), then float32 arrays (see the shared README).
"""
import argparse
import collections
import hashlib
import io
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_BIN = os.path.normpath(
    os.path.join(REPO, "..", "shared", "models", "stories260K", "stories260K.bin"))

EXPECTED_SHA256 = {
    "stories260K.bin": "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696",
    "tok512.bin": "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312",
}

PARAMS = collections.OrderedDict([
    ("dim", 64), ("n_layers", 5), ("n_heads", 8), ("n_kv_heads", 4), ("vocab_size", 512),
    ("multiple_of", 4), ("norm_eps", 1e-05), ("rope_theta", 10000.0),
])


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hidden_dim_rule(dim, multiple_of, ffn_dim_multiplier=None):
    """SPEC §2: h = int(2*4*dim/3); optional multiplier; round up to multiple_of."""
    h = int(2 * 4 * dim / 3)
    if ffn_dim_multiplier is not None:
        h = int(ffn_dim_multiplier * h)
    return multiple_of * ((h + multiple_of - 1) // multiple_of)


def read_llama2c(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, max_seq = struct.unpack_from("<7i", data, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    head_dim = dim // n_heads
    off = 28
    floats = np.frombuffer(data, dtype="<f4", offset=off)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        if pos + n > floats.size:
            raise SystemExit("convert.py: error: %s is truncated" % path)
        a = floats[pos:pos + n].reshape(shape)
        pos += n
        return a

    tok = take(vocab, dim)
    attn_norm = take(n_layers, dim)
    wq = take(n_layers, n_heads * head_dim, dim)
    wk = take(n_layers, n_kv * head_dim, dim)
    wv = take(n_layers, n_kv * head_dim, dim)
    wo = take(n_layers, dim, n_heads * head_dim)
    ffn_norm = take(n_layers, dim)
    w1 = take(n_layers, hidden, dim)
    w2 = take(n_layers, dim, hidden)
    w3 = take(n_layers, hidden, dim)
    norm = take(dim)
    take(max_seq, head_dim // 2)  # freq_cis_real (unused)
    take(max_seq, head_dim // 2)  # freq_cis_imag (unused)
    output = None if shared else take(vocab, dim)
    if pos != floats.size:
        raise SystemExit("convert.py: error: %d trailing floats in %s" % (floats.size - pos, path))

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32).copy()).contiguous()

    sd = collections.OrderedDict()
    sd["tok_embeddings.weight"] = t(tok)
    for l in range(n_layers):
        p = "layers.%d." % l
        sd[p + "attention.wq.weight"] = t(wq[l])
        sd[p + "attention.wk.weight"] = t(wk[l])
        sd[p + "attention.wv.weight"] = t(wv[l])
        sd[p + "attention.wo.weight"] = t(wo[l])
        sd[p + "feed_forward.w1.weight"] = t(w1[l])
        sd[p + "feed_forward.w2.weight"] = t(w2[l])
        sd[p + "feed_forward.w3.weight"] = t(w3[l])
        sd[p + "attention_norm.weight"] = t(attn_norm[l])
        sd[p + "ffn_norm.weight"] = t(ffn_norm[l])
    sd["norm.weight"] = t(norm)
    if output is not None:
        sd["output.weight"] = t(output)
    header = dict(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads,
                  n_kv_heads=n_kv, vocab_size=vocab, max_seq_len=max_seq, shared=shared)
    return sd, header


def torch_save_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


README = """# stories260K example

A real, trained Llama-architecture model (260K parameters) for trying pte end to end.

**Attribution.** stories260K and its tokenizer tok512.bin were trained and released by
Andrej Karpathy as part of [llama2.c](https://github.com/karpathy/llama2.c) ("tinyllamas",
trained on the TinyStories dataset), under the **MIT license** (Copyright (c) 2023 Andrej).
Keep this attribution next to any copy of these files.

## Files

| file | what it is | how it was made |
|---|---|---|
| `model.pth` | Meta-format state dict (OrderedDict, fp32, contiguous), {model_pth_bytes} bytes, sha256 `{model_pth_sha}` | `convert.py` from `stories260K.bin` |
| `params.json` | Meta params: `{params_inline}` | written by `convert.py` |
| `tok512.bin` | llama2.c tokenizer (512 pieces, BOS = 1) | unmodified copy of the llama2.c file |
| `convert.py` | the converter | — |
| `parity_summary.py` | exports fp32, runs `pte run` and the PyTorch reference, prints a parity summary | — |

Source files (unmodified llama2.c distribution files, in `shared/models/stories260K/`):

| file | bytes | sha256 |
|---|---|---|
| stories260K.bin | {bin_bytes} | `{bin_sha}` |
| tok512.bin | {tok_bytes} | `{tok_sha}` |

## How `model.pth` was made

`stories260K.bin` is a llama2.c "version 0" checkpoint: a header of 7 int32
(dim {dim}, hidden_dim {hidden_dim}, n_layers {n_layers}, n_heads {n_heads}, n_kv_heads {n_kv_heads},
vocab_size {vocab_size} (positive: classifier tied to the embedding), max_seq_len {max_seq_len}), then
float32 arrays. Its weights are already in Meta's layout (interleaved-pair RoPE, theta 10000), so
`convert.py` only reshapes each array and names it with the Meta state-dict keys
(`tok_embeddings.weight`, `layers.N.attention.{{wq,wk,wv,wo}}.weight`,
`layers.N.feed_forward.{{w1,w2,w3}}.weight`, `layers.N.{{attention_norm,ffn_norm}}.weight`,
`norm.weight`). The two RoPE tables stored in the .bin are dropped (pte computes its own).
`output.weight` is **not** stored: the classifier is tied, and the exporter uses the embedding
when `output.weight` is absent. Values are bit-identical to the .bin (no dtype conversion).

`params.json` has no `hidden_dim`: the Meta rule gives it,
`int(2*4*64/3) = 170`, rounded up to a multiple of `multiple_of` 4 → **172**, which matches the
.bin header. Regenerate everything with

    /usr/bin/python3 examples/stories260K/convert.py   # default input ../shared/models/stories260K/stories260K.bin

`torch.save` output is deterministic: two separate runs of the converter (torch {torch_version})
gave byte-identical files, and the converter re-serializes in-process and warns if the bytes
ever differ. (Only the zip format is; the legacy non-zip format embeds storage addresses.)

## Try it

    build/exporter/cli/pte export -c examples/stories260K/model.pth -p examples/stories260K/params.json \\
        -o /tmp/stories260K.pte --dtype fp32 -E none --linear_quantize none
    build/exporter/cli/pte run -m /tmp/stories260K.pte --prompt "Once upon a time" \\
        --tokenizer examples/stories260K/tok512.bin --max_new_tokens 40
    /usr/bin/python3 examples/stories260K/parity_summary.py --pte build/exporter/cli/pte --workdir /tmp/s260

Greedy decoding from "Once upon a time" continues
", there was a little girl named Lily. She loved to play outside in the park. ..." — the same
text llama2.c's own C runner prints.

## License of stories260K.bin and tok512.bin (llama2.c)

    MIT License

    Copyright (c) 2023 Andrej

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in all
    copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
    SOFTWARE.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin", nargs="?", default=DEFAULT_BIN, help="stories260K.bin (default: %(default)s)")
    ap.add_argument("--tokenizer", default=None, help="tok512.bin (default: next to the .bin)")
    ap.add_argument("--out", default=HERE, help="output directory (default: this script's directory)")
    args = ap.parse_args()

    src = os.path.abspath(args.bin)
    tok = os.path.abspath(args.tokenizer or os.path.join(os.path.dirname(src), "tok512.bin"))
    for p in (src, tok):
        if not os.path.isfile(p):
            sys.exit("convert.py: error: %s not found" % p)
    bin_sha, tok_sha = sha256_file(src), sha256_file(tok)
    for name, got in (("stories260K.bin", bin_sha), ("tok512.bin", tok_sha)):
        if got != EXPECTED_SHA256[name]:
            print("convert.py: warning: %s sha256 %s differs from the released file's %s"
                  % (name, got, EXPECTED_SHA256[name]), file=sys.stderr)

    sd, hdr = read_llama2c(src)
    for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size"):
        if hdr[k] != PARAMS[k]:
            sys.exit("convert.py: error: header %s = %d, params.json says %d" % (k, hdr[k], PARAMS[k]))
    h = hidden_dim_rule(PARAMS["dim"], PARAMS["multiple_of"])
    if h != hdr["hidden_dim"]:
        sys.exit("convert.py: error: hidden_dim rule gives %d, header says %d" % (h, hdr["hidden_dim"]))
    if not hdr["shared"]:
        sys.exit("convert.py: error: expected a tied classifier (positive vocab_size)")

    data = torch_save_bytes(sd)
    if torch_save_bytes(sd) != data:
        print("convert.py: warning: torch.save is not byte-deterministic", file=sys.stderr)

    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "model.pth")
    with open(model_path, "wb") as f:
        f.write(data)
    params_text = json.dumps(PARAMS)
    with open(os.path.join(args.out, "params.json"), "w") as f:
        f.write(params_text + "\n")
    tok_dst = os.path.join(args.out, "tok512.bin")
    if os.path.abspath(tok_dst) != tok:
        shutil.copyfile(tok, tok_dst)
    readme = README.format(
        model_pth_bytes=len(data), model_pth_sha=hashlib.sha256(data).hexdigest(),
        params_inline=params_text, torch_version=torch.__version__, bin_bytes=os.path.getsize(src), bin_sha=bin_sha,
        tok_bytes=os.path.getsize(tok), tok_sha=tok_sha, **{k: hdr[k] for k in (
            "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "max_seq_len")})
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(readme)
    n_params = sum(t.numel() for t in sd.values())
    print("wrote %s (%d tensors, %d parameters, %d bytes), params.json, tok512.bin, README.md"
          % (model_path, len(sd), n_params, len(data)))


if __name__ == "__main__":
    main()
