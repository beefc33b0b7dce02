#!/usr/bin/python3
"""--multifunction files decode like single-method files, for the base and each adapter; the size cost is small.

    /usr/bin/python3 tests/parity/test_multifunction.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_mf [--example examples/stories260K]

1. stories260K fp32 unquantized, --input_len 8, adapters a and b of make_adapters.py, exported
   single-method (methods forward, a, b) and --multifunction (forward, prefill, a_forward, a_prefill,
   b_forward, b_prefill). `pte run --method M` for M in forward, a, b: the same 40 greedy tokens from
   1,403,407,261,378 on both files; the same 20 tokens from prompts of 9 and 11 ids (last prefill
   chunk of 1 and of 3 tokens). The multifunction runs must call NAME_prefill and NAME_forward
   (run --json 'calls'). With --logits_out the multifunction run gives the same tokens and still
   writes one row per position, equal to the single-method rows to 1e-4 · max|logit|.
2. Size: a random model with >= 1M parameters (dim 768, 4 layers, 12/4 heads, hidden 2048, vocab 4096,
   untied; torch.save; about 31M parameters, a 16 MB file) exported with the defaults (fp16, -E 8,0, c4w): single-method without
   adapters vs --multifunction with two adapters (q,k,v r 8 and o,gate,up,down r 4). The overhead
   size_mf − size_single − (adapters' A/B elements × 2 bytes) must be <= 1% of size_single; the base
   weight blob bytes must be equal (stored once). A breakdown (weights, A/B, metadata, graph
   payloads, rest) is printed. Runs on the multifunction file must call the prefill/decode pair.
   Each extra method costs a fixed ~11 KB (its piece graphs and container entries) whatever the
   model size, so on a 2 MB file (3.7M parameters) the overhead is ~3%; on this 16 MB file it is
   under 1%, and on Llama 3.2 1B about 0.01%.
"""
import json
import os
import sys

import numpy as np
import torch

import parity_util as pu
from pte_file import PteFile
from llama_reference import Params
from make_adapters import make_adapters
from make_fixtures import make_state_dict

PROMPT = [1, 403, 407, 261, 378]
N_GREEDY = 40
N_SHORT = 20
INPUT_LEN, CTX = 8, 128
REL_TOL = 1e-4
SIZE_BUDGET = 0.01

BIG_PARAMS = dict(dim=768, n_layers=4, n_heads=12, n_kv_heads=4, vocab_size=4096, multiple_of=256,
                  norm_eps=1e-5, rope_theta=10000.0)
BIG_ADAPTERS = [
    dict(name="qkv", target_modules=["q_proj", "k_proj", "v_proj"], r=8, lora_alpha=16, use_rslora=True, seed=7101),
    dict(name="ffn", target_modules=["o_proj", "gate_proj", "up_proj", "down_proj"], r=4, lora_alpha=8,
         use_rslora=False, seed=7102),
]


def generate(pte, model, method, prompt, n, npy=None):
    argv = [pte, "run", "-m", model, "--method", method, "--prompt_ids", pu.ids_arg(prompt),
            "--max_new_tokens", str(n), "--json"]
    if npy:
        if os.path.exists(npy):
            os.remove(npy)
        argv += ["--logits_out", npy]
    js = pu.run(argv).json()
    return [int(t) for t in js["tokens"]], (np.load(npy) if npy else None), js.get("calls")


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    ap.add_argument("--example", default=pu.EXAMPLE_DIR)
    args = ap.parse_args()
    pu.setup(args)
    failures = []

    def check(cond, msg):
        print(("ok    " if cond else "FAIL  ") + msg)
        if not cond:
            failures.append(msg)

    # 1. greedy decoding, single-method vs multifunction
    ckpt = os.path.join(args.example, "model.pth")
    params = os.path.join(args.example, "params.json")
    ads = make_adapters(os.path.join(args.workdir, "adapters"), ckpt, params)
    adapter_flags = [x for ad in ads for x in ("--adapter", ad["name"], ad["checkpoint"], ad["config"])]
    flags = pu.FP32_FLAGS + ["--input_len", str(INPUT_LEN), "--max_context_len", str(CTX)] + adapter_flags
    single = os.path.join(args.workdir, "single.pte")
    mf = os.path.join(args.workdir, "multifunction.pte")
    try:
        pu.export(args.pte, ckpt, params, single, flags)
        pu.export(args.pte, ckpt, params, mf, flags + ["--multifunction"])
        info = pu.run([args.pte, "inspect", mf, "--json"]).json()
        names = sorted(m["name"] for m in info["methods"])
        want = sorted(["forward", "prefill", "a_forward", "a_prefill", "b_forward", "b_prefill"])
        check(names == want, "multifunction methods %s" % names)
        gen_prev = {}
        for method in ["forward"] + [ad["name"] for ad in ads]:
            tag = "base" if method == "forward" else "adapter " + method
            s_tok, _, _ = generate(args.pte, single, method, PROMPT, N_GREEDY)
            m_tok, _, calls = generate(args.pte, mf, method, PROMPT, N_GREEDY)
            pair = ["prefill", "forward"] if method == "forward" else [method + "_prefill", method + "_forward"]
            check(isinstance(calls, dict) and sorted(calls) == sorted(pair) and all(calls[m] >= 1 for m in pair),
                  "%s on the multifunction file runs the pair %s (run --json 'calls': %s)" % (tag, pair, calls))
            same = sum(a == b for a, b in zip(s_tok, m_tok))
            check(len(s_tok) == N_GREEDY and s_tok == m_tok, "%s: %d/%d greedy tokens equal%s"
                  % (tag, same, N_GREEDY, "" if s_tok == m_tok else " (single %s, mf %s)" % (s_tok, m_tok)))
            gen_prev[method] = s_tok
            # --logits_out: every position gets a row (the runner may feed every token to decode)
            s_tok2, s_log, _ = generate(args.pte, single, method, PROMPT, N_GREEDY, single + ".%s.npy" % method)
            m_tok2, m_log, calls2 = generate(args.pte, mf, method, PROMPT, N_GREEDY, mf + ".%s.npy" % method)
            check(s_tok2 == s_tok and m_tok2 == m_tok, "%s: same tokens with --logits_out (mf calls %s)"
                  % (tag, calls2))
            if s_log.shape != m_log.shape:
                check(False, "%s: multifunction --logits_out shape %s, single %s" % (tag, m_log.shape, s_log.shape))
            else:
                sc = float(np.abs(s_log).max())
                d = float(np.abs(m_log.astype(np.float64) - s_log).max()) / sc
                check(d <= REL_TOL, "%s: multifunction logits rows (%d) equal single-method rows: rel %.2e"
                      % (tag, m_log.shape[0], d))
        if gen_prev.get("a") == gen_prev.get("forward") or gen_prev.get("b") == gen_prev.get("forward"):
            print("note: an adapter generates the same 40 tokens as the base")
        for plen in (9, 11):
            for method in ["forward"] + [ad["name"] for ad in ads]:
                prompt = (PROMPT + gen_prev["forward"])[:plen]
                s_tok, _, _ = generate(args.pte, single, method, prompt, N_SHORT)
                m_tok, _, calls = generate(args.pte, mf, method, prompt, N_SHORT)
                check(len(s_tok) == N_SHORT and s_tok == m_tok,
                      "prompt of %d ids (last chunk %d), %s: %d tokens equal (mf calls %s)%s"
                      % (plen, plen - INPUT_LEN, method, N_SHORT, calls, "" if s_tok == m_tok else
                         " (single %s, mf %s)" % (s_tok, m_tok)))
    except Exception as e:
        check(False, "stories260K multifunction: %s" % e)

    # 2. size overhead of multifunction + adapters
    try:
        bp = Params(BIG_PARAMS)
        d = os.path.join(args.workdir, "big")
        os.makedirs(d, exist_ok=True)
        sd = make_state_dict(bp, 4242, with_output=True)
        big_ckpt, big_params = os.path.join(d, "model.pth"), os.path.join(d, "params.json")
        torch.save(sd, big_ckpt)
        with open(big_params, "w") as f:
            json.dump(BIG_PARAMS, f)
        n_params = sum(v.numel() for v in sd.values())
        big_ads = make_adapters(os.path.join(d, "adapters"), big_ckpt, big_params, BIG_ADAPTERS)
        ab_elems = sum(t.numel() for ad in big_ads for t in ad["tensors"].values())
        s_path, m_path = os.path.join(d, "single.pte"), os.path.join(d, "mf_adapters.pte")
        pu.export(args.pte, big_ckpt, big_params, s_path, [])
        pu.export(args.pte, big_ckpt, big_params, m_path,
                  ["--multifunction"] + [x for ad in big_ads for x in
                                         ("--adapter", ad["name"], ad["checkpoint"], ad["config"])])
        s_size, m_size = os.path.getsize(s_path), os.path.getsize(m_path)
        ab_bytes = 2 * ab_elems
        overhead = m_size - s_size - ab_bytes
        print("size: model %d params (%d layers, dim %d, hidden %d, vocab %d), adapters %d A/B elements"
              % (n_params, bp.n_layers, bp.dim, bp.hidden_dim, bp.vocab_size, ab_elems))
        print("size: single-method %d bytes; multifunction + 2 adapters %d bytes; A/B fp16 %d bytes; "
              "overhead %d bytes = %.3f%% of single" % (s_size, m_size, ab_bytes, overhead, 100.0 * overhead / s_size))
        # where the bytes go: weights (must be shared), graph payloads, the rest (flatbuffer, padding)
        parts = {}
        for tag, path in (("single", s_path), ("mf", m_path)):
            blobs = PteFile(path).blobs.values()
            kind = lambda k: ("pieces" if k.startswith("piece/") else "metadata" if k.startswith("metadata")
                              else "lora" if "lora_a" in k or "lora_b" in k else "weights")
            parts[tag] = {}
            for b in blobs:
                parts[tag][kind(b["key"])] = parts[tag].get(kind(b["key"]), 0) + b["size"]
            parts[tag]["other"] = os.path.getsize(path) - sum(parts[tag].values())
        print("size breakdown (bytes)  " + "  ".join("%s: single %d, mf %d" % (k, parts["single"].get(k, 0),
                                                                              parts["mf"].get(k, 0))
                                                      for k in ("weights", "lora", "metadata", "pieces", "other")))
        check(parts["mf"].get("weights") == parts["single"].get("weights"),
              "base weight bytes equal in both files (%s vs %s): stored once"
              % (parts["mf"].get("weights"), parts["single"].get("weights")))
        check(n_params >= 1000000, "size model has %d >= 1M parameters" % n_params)
        check(overhead <= SIZE_BUDGET * s_size, "multifunction + adapters overhead %d bytes <= %.0f%% of %d"
              % (overhead, 100 * SIZE_BUDGET, s_size))
    except Exception as e:
        check(False, "size comparison: %s" % e)

    return pu.finish(failures)


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
