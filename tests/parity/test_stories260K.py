#!/usr/bin/python3
"""stories260K end to end: fp32 greedy equals the PyTorch reference, the text is right, fp16 agrees.

    /usr/bin/python3 tests/parity/test_stories260K.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_s260 [--example examples/stories260K]

1. fp32 unquantized export; `pte run --prompt_ids 1,403,407,261,378 --max_new_tokens 40`
   must give exactly the reference's 40 greedy tokens (its teacher-forced logits are reported too).
2. `pte run --prompt "Once upon a time" --tokenizer tok512.bin` text must begin
   "Once upon a time, there was a little girl named Lily."
3. fp16 unquantized export, teacher-forced on prompt + reference continuation (45 ids,
   --max_new_tokens 0): top-1 agreement with the fp32 reference at the 40 positions that predict
   the continuation must be >= 95%.
"""
import os
import sys

import numpy as np
import torch

import parity_util as pu
from llama_reference import Llama2cTokenizer, LlamaReference

PROMPT = [1, 403, 407, 261, 378]  # BOS "Once upon a time"
N = 40
EXPECTED_TEXT = "Once upon a time, there was a little girl named Lily."
FP16_MIN_AGREEMENT = 0.95


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    ap.add_argument("--example", default=pu.EXAMPLE_DIR, help="examples/stories260K directory")
    args = ap.parse_args()
    pu.setup(args)
    ckpt = os.path.join(args.example, "model.pth")
    params = os.path.join(args.example, "params.json")
    tok_path = os.path.join(args.example, "tok512.bin")
    ref = LlamaReference.load(ckpt, params)
    tok = Llama2cTokenizer(tok_path)
    ref_gen = ref.greedy(PROMPT, N)
    seq = PROMPT + ref_gen
    ref_logits = ref.logits(seq).numpy()
    print("reference continuation:", repr(tok.decode(seq)))
    failures = []

    def check(cond, msg):
        print(("ok    " if cond else "FAIL  ") + msg)
        if not cond:
            failures.append(msg)

    # 1. fp32 greedy tokens
    f32 = os.path.join(args.workdir, "stories260K_fp32.pte")
    r = pu.export(args.pte, ckpt, params, f32, pu.FP32_FLAGS)
    print("fp32 export: %.2f s, %d bytes" % (r.seconds, os.path.getsize(f32)))
    npy = os.path.join(args.workdir, "fp32_greedy.npy")
    js = pu.run([args.pte, "run", "-m", f32, "--prompt_ids", pu.ids_arg(PROMPT),
                 "--max_new_tokens", str(N), "--json", "--logits_out", npy]).json()
    gen = [int(t) for t in js["tokens"]]
    same = sum(a == b for a, b in zip(gen, ref_gen))
    check(gen == ref_gen, "fp32 greedy: %d/%d tokens equal the reference%s" % (
        same, N, "" if gen == ref_gen else " (pte %s, ref %s)" % (gen, ref_gen)))
    if os.path.exists(npy) and gen == ref_gen:
        got = np.load(npy)
        want = ref_logits[:len(PROMPT) + N - 1]
        if got.shape == want.shape:
            diff = float(np.abs(got.astype(np.float64) - want).max())
            scale = float(np.abs(want).max())
            check(diff <= 1e-4 * scale, "fp32 logits: max|diff| %.3g, max|logit| %.3g, rel %.2e over %d rows"
                  % (diff, scale, diff / scale, got.shape[0]))
        else:
            check(False, "fp32 logits_out shape %s, expected %s" % (got.shape, want.shape))

    # 2. text through the tokenizer
    js = pu.run([args.pte, "run", "-m", f32, "--prompt", "Once upon a time", "--tokenizer", tok_path,
                 "--max_new_tokens", str(N), "--json"]).json()
    text = js.get("text", "")
    print("pte text:", repr(text))
    check(list(js.get("prompt_tokens", [])) == PROMPT,
          "--prompt tokenized to %s (expected %s)" % (js.get("prompt_tokens"), PROMPT))
    check(text.startswith(EXPECTED_TEXT), "text begins %r" % EXPECTED_TEXT)
    check([int(t) for t in js.get("tokens", [])] == ref_gen, "--prompt run generates the reference tokens")

    # 3. fp16 teacher-forced top-1 agreement
    f16 = os.path.join(args.workdir, "stories260K_fp16.pte")
    r = pu.export(args.pte, ckpt, params, f16, ["--dtype", "fp16", "-E", "none", "--linear_quantize", "none"])
    print("fp16 export: %.2f s, %d bytes" % (r.seconds, os.path.getsize(f16)))
    npy16 = os.path.join(args.workdir, "fp16_teacher_forced.npy")
    js = pu.run([args.pte, "run", "-m", f16, "--prompt_ids", pu.ids_arg(seq), "--max_new_tokens", "0",
                 "--json", "--logits_out", npy16]).json()
    got16 = np.load(npy16)
    if got16.shape != (len(seq), ref.vocab):
        check(False, "fp16 logits_out shape %s, expected %s" % (got16.shape, (len(seq), ref.vocab)))
    else:
        pos = range(len(PROMPT) - 1, len(seq) - 1)  # rows that predict the 40 continuation tokens
        agree = sum(int(got16[i].argmax()) == int(ref_logits[i].argmax()) for i in pos)
        diff = float(np.abs(got16[list(pos)].astype(np.float64) - ref_logits[list(pos)]).max())
        # the fp16 emulation of the reference, for information
        ref16 = LlamaReference.load(ckpt, params, dtype=torch.float16).logits(seq).numpy()
        d16 = float(np.abs(got16.astype(np.float64) - ref16).max())
        print("fp16: max|diff| vs fp32 reference %.3g; vs fp16-rounding reference %.3g" % (diff, d16))
        check(agree / len(pos) >= FP16_MIN_AGREEMENT, "fp16 teacher-forced top-1 agreement %d/%d = %.1f%% (>= %.0f%%)"
              % (agree, len(pos), 100.0 * agree / len(pos), 100 * FP16_MIN_AGREEMENT))

    return pu.finish(failures)


if __name__ == "__main__":
    torch.set_num_threads(1)
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
