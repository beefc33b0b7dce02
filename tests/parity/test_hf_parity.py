#!/usr/bin/python3
"""Hugging Face folders (Llama, Llama 3 rope_scaling, Qwen2, Qwen3, Mistral) against an eager
PyTorch forward in HF's own formulation (hf_reference.py).

    /usr/bin/python3 tests/parity/test_hf_parity.py --pte build/exporter/cli/pte --workdir /tmp/hf

For each fixture of make_hf_fixtures.py, exported with `-c FOLDER` and no -p:
  - fp32 unquantized (max_context_len 64, input_len 8): a 13-token prompt (longer than input_len)
    and 40 greedy tokens; every logits row of the prompt and the first 20 decode steps within
    1e-4 x max|logit| of the reference, and the 40 greedy tokens equal to the reference's;
  - the default export (fp16, 8-bit embedding, c4w) runs, and `pte verify` passes --min_top1 0.5.
Also: Qwen2 exported with --target_split_size 28 (q and its bias split in 2, the MLP in 2-4,
the head in 4) keeps the fp32 parity; a PEFT LoRA adapter on every linear of the Qwen3 fixture gives an
adapter method whose logits equal the reference on the merged HF weights W + scale·B·A (1e-4).
"""
import collections
import json
import math
import os
import sys

import numpy as np
import torch

import parity_util as pu
from hf_reference import HFReference, load_hf_state_dict
from llama_reference import write_safetensors

PROMPT_LEN, NEW_TOKENS, COMPARED_STEPS, REL_TOL = 13, 40, 20, 1e-4
SHAPE = ["--max_context_len", "64", "--input_len", "8"]


def main():
    args = pu.parser(__doc__.split("\n")[0]).parse_args()
    pu.setup(args)
    fixtures_dir, fixtures = pu.hf_fixtures(args)
    rng = np.random.default_rng(20250101)
    failures = []
    print("%-28s %5s %10s %10s %9s %7s" % ("fixture", "rows", "max|diff|", "max|logit|", "rel", "tokens"))
    for fx in fixtures:
        name = fx["name"]
        folder = os.path.join(fixtures_dir, fx["folder"])
        out = os.path.join(args.workdir, name + ".fp32.pte")
        npy = os.path.join(args.workdir, name + ".logits.npy")
        try:
            pu.run([args.pte, "export", "-c", folder, "-o", out] + pu.FP32_FLAGS + SHAPE)
            ref = HFReference.load(folder)
            prompt = rng.integers(0, ref.vocab, PROMPT_LEN).tolist()
            for executor in ("fast", "reference"):
                if os.path.exists(npy):
                    os.remove(npy)
                js = pu.run([args.pte, "run", "-m", out, "--prompt_ids", pu.ids_arg(prompt),
                             "--max_new_tokens", str(NEW_TOKENS), "--json", "--logits_out", npy, "--executor", executor,
                             "--ignore_eos"]).json()
                gen = [int(t) for t in js["tokens"]]
                got = np.load(npy)
                rows = PROMPT_LEN + COMPARED_STEPS
                want = ref.logits(prompt + gen[:COMPARED_STEPS]).numpy()
                diff = float(np.abs(got[:rows].astype(np.float64) - want).max())
                scale = float(np.abs(want).max())
                ref_gen = ref.greedy(prompt, NEW_TOKENS)
                same = sum(a == b for a, b in zip(gen, ref_gen))
                print("%-28s %5d %10.3g %10.3g %9.2e %4d/%d" % (name + " " + executor, rows, diff, scale, diff / scale, same, NEW_TOKENS))
                if not diff <= REL_TOL * scale:
                    failures.append("%s %s: max|diff| %.3g > %.0e * max|logit| %.3g" % (name, executor, diff, REL_TOL, scale))
                if gen != ref_gen:
                    failures.append("%s %s: greedy tokens differ: pte %s, reference %s" % (name, executor, gen, ref_gen))

            default = os.path.join(args.workdir, name + ".default.pte")
            pu.run([args.pte, "export", "-c", folder, "-o", default] + SHAPE)
            pu.run([args.pte, "run", "-m", default, "--prompt_ids", pu.ids_arg(prompt), "--max_new_tokens", "8"])
            r = pu.run([args.pte, "verify", "-m", default, "-c", folder, "--prompt_ids", pu.ids_arg(prompt),
                        "--min_top1", "0.5"], check=False)
            if r.rc != 0:
                failures.append("%s: pte verify of the default export failed: %s" % (name, r.stderr.strip()[-400:]))
        except Exception as e:  # report every fixture, then fail
            print("%-28s FAILED: %s" % (name, e))
            failures.append("%s: %s" % (name, e))
    failures += split_bias_parity(args, fixtures_dir)
    failures += lora_parity(args, fixtures_dir)
    return pu.finish(failures)


def teacher_forced(args, model, method, seq, npy):
    if os.path.exists(npy):
        os.remove(npy)
    pu.run([args.pte, "run", "-m", model, "--method", method, "--prompt_ids", pu.ids_arg(seq),
            "--max_new_tokens", "0", "--json", "--logits_out", npy])
    return np.load(npy)


def compare(name, got, want, failures):
    diff, scale = float(np.abs(got.astype(np.float64) - want).max()), float(np.abs(want).max())
    print("%-28s %5d %10.3g %10.3g %9.2e" % (name, len(want), diff, scale, diff / scale))
    if not diff <= REL_TOL * scale:
        failures.append("%s: max|diff| %.3g > %.0e * max|logit| %.3g" % (name, diff, REL_TOL, scale))


def split_bias_parity(args, fixtures_dir):
    failures = []
    folder = os.path.join(fixtures_dir, "qwen2_bias_bf16")
    out = os.path.join(args.workdir, "qwen2_split.pte")
    pu.run([args.pte, "export", "-c", folder, "-o", out, "--target_split_size", "28"] + pu.FP32_FLAGS + SHAPE)
    seq = list(range(3, 3 + 21))
    got = teacher_forced(args, out, "forward", seq, os.path.join(args.workdir, "split.npy"))
    compare("qwen2 split into chunks", got, HFReference.load(folder).logits(seq).numpy(), failures)
    return failures


MODULES = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
           "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def lora_parity(args, fixtures_dir):
    failures = []
    folder = os.path.join(fixtures_dir, "qwen3_qknorm_fp32")
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    sd = load_hf_state_dict(folder)
    r, alpha = 4, 8
    scale = alpha / r
    g = torch.Generator().manual_seed(9001)
    tensors, merged = collections.OrderedDict(), dict(sd)
    for layer in range(config["num_hidden_layers"]):
        for module, block in MODULES.items():
            name = "model.layers.%d.%s.%s" % (layer, block, module)
            w = sd[name + ".weight"].float()
            a = torch.randn(r, w.shape[1], generator=g) / math.sqrt(w.shape[1])
            b = torch.randn(w.shape[0], r, generator=g) * (0.3 * float(w.pow(2).mean().sqrt()) * math.sqrt(w.shape[1]) / scale / math.sqrt(r))
            tensors["base_model.model.%s.lora_A.weight" % name] = a
            tensors["base_model.model.%s.lora_B.weight" % name] = b
            merged[name + ".weight"] = w + scale * (b @ a)
    adapter_dir = os.path.join(args.workdir, "qwen3_lora")
    os.makedirs(adapter_dir, exist_ok=True)
    ckpt, cfg = os.path.join(adapter_dir, "adapter_model.safetensors"), os.path.join(adapter_dir, "adapter_config.json")
    write_safetensors(ckpt, tensors)
    with open(cfg, "w") as f:
        json.dump({"peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": list(MODULES),
                   "use_rslora": False, "bias": "none"}, f)
    out = os.path.join(args.workdir, "qwen3_lora.pte")
    pu.run([args.pte, "export", "-c", folder, "-o", out, "--adapter", "tuned", ckpt, cfg] + pu.FP32_FLAGS + SHAPE)
    seq = list(range(5, 5 + 21))
    got = teacher_forced(args, out, "tuned", seq, os.path.join(args.workdir, "lora.npy"))
    want = HFReference(merged, config).logits(seq).numpy()
    compare("qwen3 LoRA (merged weights)", got, want, failures)
    base = HFReference(sd, config).logits(seq).numpy()
    effect = float(np.abs(want - base).max()) / float(np.abs(want).max())
    if effect < 1e-2:
        failures.append("qwen3 LoRA: the adapter changes the logits by only %.2e (test too weak)" % effect)
    return failures


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
