"""Tokenizer benchmark: load time and encode throughput of pte's tokenizers on vocabularies of a
real model's size (made here: a byte-level tokenizer.json with Llama 3's pattern and ~128k
tokens, and the same tokens as a tiktoken ranks file), over ~1 MB of text from the parity
corpus. Uses the parity tool (build/tests/tokenizer_parity/tokenize_corpus), which also decodes
and stream-decodes every string, under /usr/bin/time. Prints figures; not a test.

    /usr/bin/python3 bench/tokenizer_bench.py [--workdir /tmp/pte-tokenizer-bench]
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "tokenizer_parity"))
import corpus  # noqa: E402
import vocabularies  # noqa: E402


def big_vocab(target):
    """Tokens (byte-level spellings) and merges: the 256 bytes, then pairs of earlier tokens
    in a fixed order, each a valid merge of two existing tokens."""
    alpha = vocabularies.byte_alphabet()
    tokens = [alpha[b] for b in range(256)]
    seen = set(tokens)
    merges = []
    letters = [alpha[b] for b in b" etaoinshrdlucmfwypvbgkqjxz"]
    i = 0
    while len(tokens) < target:
        a, b = tokens[i % len(tokens)], letters[(i // len(tokens) + i) % len(letters)]
        i += 1
        if a + b in seen or len(a + b) > 16:
            continue
        seen.add(a + b)
        tokens.append(a + b)
        merges.append((a, b))
    return tokens, merges


def timed(cmd):
    t = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return time.time() - t, int(r.stderr.strip().splitlines()[-1]), r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/pte-tokenizer-bench")
    ap.add_argument("--tool", default=os.path.join(HERE, "..", "build", "tests", "tokenizer_parity", "tokenize_corpus"))
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    tokens, merges = big_vocab(128000)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    hf = vocabularies.byte_level_json("", 0, specials, vocabularies.split_then_byte_level(vocabularies.LLAMA3_PATTERN),
                                      ignore_merges=True)
    hf["model"]["vocab"] = {t: i for i, t in enumerate(tokens)}
    hf["model"]["merges"] = [[x, y] for x, y in merges]
    hf["added_tokens"] = vocabularies.added(specials, len(tokens))
    paths = {"tokenizer.json": os.path.join(a.workdir, "tokenizer.json"),
             "tiktoken": os.path.join(a.workdir, "tokenizer.model")}
    with open(paths["tokenizer.json"], "w") as f:
        json.dump(hf, f, ensure_ascii=False)
    inverse = {v: k for k, v in vocabularies.byte_alphabet().items()}
    with open(paths["tiktoken"], "w") as f:
        for i, t in enumerate(tokens):
            f.write("%s %d\n" % (base64.b64encode(bytes(inverse[c] for c in t)).decode(), i))
    strings = corpus.strings(count=20000)
    text_bytes = sum(len(s.encode()) for s in strings)
    job = os.path.join(a.workdir, "strings.json")
    with open(job, "w") as f:
        json.dump(strings, f)
    empty = os.path.join(a.workdir, "empty.json")
    with open(empty, "w") as f:
        json.dump([], f)
    print("vocabulary %d tokens, %d merges; text %d strings, %.2f MB" % (len(tokens), len(merges), len(strings),
                                                                       text_bytes / 1e6))
    for name, path in paths.items():
        load, rss_load, _ = timed([a.tool, path, empty])
        total, rss, out = timed([a.tool, path, job])
        ids = sum(len(e.get("ids", [])) for e in json.loads(out))
        work = max(total - load, 1e-9)
        print("%-15s file %6.1f MB  load %.2f s (peak RSS %d MB)  encode+decode+stream %.2f s: %.2f MB/s, %d ids"
              % (name, os.path.getsize(path) / 1e6, load, rss_load // 1024, work, text_bytes / 1e6 / work, ids))


if __name__ == "__main__":
    main()
