#!/usr/bin/python3
"""Lookahead decoding (`pte run --lookahead`) gives plain greedy decoding's tokens, in fewer calls.

    /usr/bin/python3 tests/parity/test_lookahead.py --pte build/exporter/cli/pte --workdir /tmp/lookahead

stories260K exported with the defaults (single method, fp16, c4w, -E 8,0, max_context_len 1024),
and in fp32 unquantized; 200 new tokens from "Once upon a time" (ids 1,403,407,261,378), on the
fast and on the reference executor. Pass: the lookahead tokens equal greedy's on every file and
executor, and more than one token is accepted per call on average (the figure is printed).
A --multifunction file (one logits row per call) is refused with an error.
"""
import os
import sys

import parity_util as pu

PROMPT = "1,403,407,261,378"
NEW_TOKENS = 200


def tokens(args, model, executor, lookahead):
    argv = [args.pte, "run", "-m", model, "--prompt_ids", PROMPT, "--max_new_tokens", str(NEW_TOKENS),
            "--json", "--executor", executor] + (["--lookahead"] if lookahead else [])
    return pu.run(argv).json()


def main():
    ap = pu.parser(__doc__.split("\n")[0])
    ap.add_argument("--example", default=pu.EXAMPLE_DIR)
    args = ap.parse_args()
    pu.setup(args)
    ckpt, params = os.path.join(args.example, "model.pth"), os.path.join(args.example, "params.json")
    failures = []
    for name, flags in (("defaults", []), ("fp32", pu.FP32_FLAGS)):
        model = os.path.join(args.workdir, name + ".pte")
        pu.export(args.pte, ckpt, params, model, flags)
        for executor in ("fast", "reference"):
            greedy = tokens(args, model, executor, False)["tokens"]
            js = tokens(args, model, executor, True)
            per_call = js["lookahead_tokens_per_call"]
            print("%-9s %-9s greedy %d tokens, lookahead %d tokens in %d calls: %.2f tokens per call"
                  % (name, executor, len(greedy), len(js["tokens"]), js["lookahead_calls"], per_call))
            if len(greedy) != NEW_TOKENS or js["tokens"] != greedy:
                first = next((i for i, (a, b) in enumerate(zip(js["tokens"], greedy)) if a != b), None)
                failures.append("%s %s: lookahead tokens differ from greedy (first at %s)" % (name, executor, first))
            if not per_call > 1.0:
                failures.append("%s %s: %.2f tokens per call, expected more than 1" % (name, executor, per_call))
    mf = os.path.join(args.workdir, "multifunction.pte")
    pu.export(args.pte, ckpt, params, mf, ["--multifunction"])
    r = pu.run([args.pte, "run", "-m", mf, "--prompt_ids", PROMPT, "--lookahead"], check=False)
    if r.rc != 1 or "lookahead" not in r.stderr:
        failures.append("--lookahead on a multifunction file: expected exit 1 naming --lookahead, got " + r.describe())
    return pu.finish(failures)


if __name__ == "__main__":
    sys.exit(main())
