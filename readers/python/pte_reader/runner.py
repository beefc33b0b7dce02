"""The runner protocol (SPEC §9) for a Full method, driven by the file's metadata (FORMAT.md §4.1):
caches start at zero with their mask columns hidden; each call takes up to T tokens (right-padded
with token 0), a causal mask over the chunk, RoPE rows freqs[pos .. pos+T) (zero past the table),
then writes the n real k/v update rows into the caches at slots (pos + j) mod C."""
import numpy as np

from .errors import FormatError
from .graph import run_method
from .quantized import FLOAT


class Runner:
    def __init__(self, pte, method="forward"):
        self.pte, self.method = pte, method
        m = pte.methods.get(method)
        if m is None or m["role"] != "full":
            raise FormatError("%s: no Full method %s" % (pte.path, method))
        self.inputs = m["inputs"]
        self.dtype = FLOAT[pte.meta("dtype", "text")]
        mask_index, self.cache_len = (int(x) for x in pte.meta("mask_specs", "ints").reshape(-1)[:2])
        self.mask_name = self.inputs[mask_index]["name"]
        self.T = pte.meta_int("forward_input_len")
        self.max_context_len = pte.meta_int("max_context_len")
        self.cos_name = self.inputs[pte.meta_int("freqs_cos_input_index")]["name"]
        self.sin_name = self.inputs[pte.meta_int("freqs_sin_input_index")]["name"]
        self.cos, self.sin = pte.meta_blob_tensor("freqs_cos"), pte.meta_blob_tensor("freqs_sin")
        self.outputs = [o["name"] for o in m["outputs"]]
        self.caches = []  # (input name, output name) of every k and v cache
        for k_in, k_out, v_in, v_out, _ in pte.meta("kv_cache_specs", "ints"):
            for i, o in ((k_in, k_out), (v_in, v_out)):
                self.caches.append((self.inputs[int(i)]["name"], self.outputs[int(o)]))
        self.reset()

    def reset(self):
        shapes = {i["name"]: i["shape"] for i in self.inputs}
        self.state = {name: np.zeros(shapes[name], dtype=self.dtype) for name, _ in self.caches}
        self.pos = 0

    def step(self, tokens):
        """One call on 1..T real tokens; returns their logits rows [n, V] (float32)."""
        n, T, C = len(tokens), self.T, self.cache_len
        if not 1 <= n <= T:
            raise ValueError("a call takes 1..%d tokens, got %d" % (T, n))
        toks = np.zeros((1, T), dtype=np.int32)
        toks[0, :n] = tokens
        mask = np.full((1, T, C + T), -np.inf, dtype=np.float32)
        mask[0, :, :min(self.pos, C)] = 0
        mask[0, :, C:] = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
        rows = np.arange(self.pos, self.pos + T)
        half = self.cos.shape[1]
        cos, sin = np.zeros((T, half), self.dtype), np.zeros((T, half), self.dtype)
        inside = rows < self.max_context_len
        cos[inside], sin[inside] = self.cos[rows[inside]], self.sin[rows[inside]]
        feed = {"tokens": toks, self.mask_name: mask.astype(self.dtype), self.cos_name: cos, self.sin_name: sin}
        feed.update(self.state)
        out = run_method(self.pte, self.method, feed)
        for cache, update in self.caches:
            for j in range(n):
                self.state[cache][0, :, (self.pos + j) % C, :] = out[update][0, :, j, :]
        self.pos += n
        return out[self.outputs[0]][0, :n].astype(np.float32)

    def greedy(self, prompt, max_new_tokens):
        """Prompt in chunks of T, then greedy decoding; returns (generated ids, every logits row)."""
        self.reset()
        rows = []
        for b in range(0, len(prompt), self.T):
            rows.append(self.step(prompt[b:b + self.T]))
        out = []
        while len(out) < max_new_tokens:
            nxt = int(np.argmax(rows[-1][-1]))
            out.append(nxt)
            if len(out) == max_new_tokens:
                break
            rows.append(self.step([nxt]))
        return out, np.concatenate(rows, axis=0)
