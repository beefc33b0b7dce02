#!/usr/bin/env python3
"""Runtime benchmark: `pte run` on the fast executor (figures printed, never asserted).

Cases, each run --repeat times (median and best reported):
  - the Llama-3.2-1B-shaped model (bench/make_llama1b.py, 16 layers), exported --multifunction
    with the defaults (fp16, -E 8,0, c4w): a 64-token prompt (two prefill calls of 32) then
    --decode new tokens, --threads 2: prefill tok/s and decode tok/s as `pte run --json` reports
    them (its own timers: prompt calls, then decode calls);
  - stories260K exported with the defaults (single method, --max_context_len 1024, T = 32):
    decode tok/s over 200 new tokens, --threads 2; and the same with --lookahead (tokens per
    call and tok/s).
The machine's load average is printed with the figures: on a shared machine other processes
take cores from the benchmark. Data lives under --workdir (default /tmp/pte-bench).

  /usr/bin/python3 bench/runtime_bench.py [--workdir DIR] [--repeat 3] [--decode 64] [--pte PATH]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = "/usr/bin/python3"
STORIES = os.path.join(REPO, "examples", "stories260K")


def sh(cmd):
    return subprocess.run(cmd, check=True, text=True, capture_output=True)


def run_json(pte, model, prompt, new_tokens, extra=()):
    out = sh([pte, "run", "-m", model, "--prompt_ids", ",".join(map(str, prompt)), "--max_new_tokens",
              str(new_tokens), "--threads", "2", "--json"] + list(extra)).stdout
    return json.loads(out[out.find("{"):out.rfind("}") + 1])


def summary(values):
    return "median %8.1f  best %8.1f  (runs: %s)" % (statistics.median(values), max(values),
                                                      ", ".join("%.1f" % v for v in values))


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/pte-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--decode", type=int, default=64, help="new tokens on the 1B-shaped model")
    ap.add_argument("--pte", default=os.path.join(REPO, "build", "exporter", "cli", "pte"))
    args = ap.parse_args()
    os.makedirs(os.path.join(args.workdir, "bin"), exist_ok=True)
    pte = os.path.join(args.workdir, "bin", "pte-run-bench")
    shutil.copy2(args.pte, pte)  # a rebuild during the run does not change the binary timed

    model_dir = os.path.join(args.workdir, "llama1b-L16")
    sh([PY, os.path.join(HERE, "make_llama1b.py"), "--out", model_dir, "--formats", "safetensors"])
    l1b = os.path.join(args.workdir, "llama1b-L16-multifunction.pte")
    sh([pte, "export", "-c", os.path.join(model_dir, "model.safetensors"), "-p", os.path.join(model_dir, "params.json"),
        "-o", l1b, "--multifunction"])
    stories = os.path.join(args.workdir, "stories260K-ctx1024.pte")
    sh([pte, "export", "-c", os.path.join(STORIES, "model.pth"), "-p", os.path.join(STORIES, "params.json"),
        "-o", stories, "--max_context_len", "1024"])
    with open(l1b, "rb") as f:  # page cache warm
        while f.read(1 << 24):
            pass

    print(load())
    prompt = [1 + (i * 37) % 1000 for i in range(64)]
    prefill, decode = [], []
    for _ in range(args.repeat):
        j = run_json(pte, l1b, prompt, args.decode)
        prefill.append(j["prefill_tokens_per_second"])
        decode.append(j["decode_tokens_per_second"])
    print("llama1b-shaped --multifunction (c4w, -E 8,0, fp16), 2 threads, 64-token prompt, %d new tokens" % args.decode)
    print("  prefill tok/s  " + summary(prefill))
    print("  decode  tok/s  " + summary(decode))

    story_prompt = [1, 403, 407, 261, 378]
    plain, ahead, per_call = [], [], []
    for _ in range(args.repeat):
        plain.append(run_json(pte, stories, story_prompt, 200)["decode_tokens_per_second"])
        j = run_json(pte, stories, story_prompt, 200, ["--lookahead"])
        ahead.append(j["decode_tokens_per_second"])
        per_call.append(j["lookahead_tokens_per_call"])
    print("stories260K, single method, --max_context_len 1024 (T = 32), 200 new tokens, 2 threads")
    print("  decode  tok/s  " + summary(plain))
    print("  --lookahead tok/s  " + summary(ahead) + "; %.2f tokens per call" % per_call[0])
    print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
