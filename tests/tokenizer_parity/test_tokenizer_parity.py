"""Tokenizer parity: pte's tokenizers against the real libraries on vocabularies this suite
makes (no downloads): Python's sentencepiece (a BPE model with byte fallback and a unigram
model, trained here), npm tiktoken (a ranks file with Llama 3's pattern and special tokens) and
npm @huggingface/tokenizers (byte-level tokenizer.json files shaped like Llama 3's, Qwen2's
and SmolLM2's, and metaspace ones with byte fallback or <unk>). For every string of the corpus:
the ids are the reference's, pte's decode is the reference's, and streaming decode prints
exactly the whole decode."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import sentencepiece as spm

import corpus
import vocabularies

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
LLAMA3_SPECIALS += ["<|reserved_special_token_%d|>" % i for i in range(2, 2 + 256 - len(LLAMA3_SPECIALS))]


def ours(tool, tokenizer, strings, work, name):
    path = os.path.join(work, name + ".strings.json")
    with open(path, "w") as f:
        json.dump(strings, f)
    r = subprocess.run([tool, tokenizer, path], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("%s: tokenize_corpus failed: %s" % (name, r.stderr.strip()))
    return json.loads(r.stdout)


def node_reference(node, oracles, job, work, name):
    path = os.path.join(work, name + ".job.json")
    with open(path, "w") as f:
        json.dump(job, f)
    r = subprocess.run([node, os.path.join(oracles, "reference.mjs"), path], capture_output=True, text=True,
                       timeout=300, cwd=oracles)
    if r.returncode != 0:
        raise RuntimeError("%s: reference failed: %s" % (name, r.stderr.strip()[-2000:]))
    return json.loads(r.stdout)


def compare(name, strings, expected, found):
    failures, round_trips = [], 0
    for s, e, f in zip(strings, expected, found):
        if "error" in f:
            failures.append("%r: pte error %s" % (s, f["error"]))
        elif f["ids"] != e["ids"]:
            failures.append("%r: ids %s, reference %s" % (s, f["ids"], e["ids"]))
        elif f["text"] != e["text"]:
            failures.append("%r: decode %r, reference %r" % (s, bytes.fromhex(f["text"]), bytes.fromhex(e["text"])))
        elif f["streamed"] != f["text"]:
            failures.append("%r: streamed %r, decode %r" % (s, bytes.fromhex(f["streamed"]), bytes.fromhex(f["text"])))
        elif bytes.fromhex(e["text"]) == s.encode():
            round_trips += 1
    ok = not failures and len(strings) >= 1000 and len(expected) == len(strings) == len(found)
    print("%s %s: %d strings, %d mismatches, %d round-trip exactly" % ("ok  " if ok else "FAIL", name, len(strings),
                                                                      len(failures), round_trips))
    for line in failures[:8]:
        print("     " + line)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--node", default="node")
    ap.add_argument("--oracles", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    text = corpus.training_text()
    train = os.path.join(work, "train.txt")
    with open(train, "w") as f:
        f.write(text)
    results = []

    # SentencePiece, trained here; the reference is the Python binding of the same library.
    for name, options in [("sentencepiece_bpe", dict(model_type="bpe", byte_fallback=True, vocab_size=600)),
                          ("sentencepiece_unigram", dict(model_type="unigram", vocab_size=300))]:
        prefix = os.path.join(work, name)
        spm.SentencePieceTrainer.train(input=train, model_prefix=prefix, minloglevel=2,
                                       num_threads=1, **options)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        strings = corpus.strings(specials=["<s>", "</s>", "<unk>"])
        expected = []
        for s in strings:
            ids = sp.encode(s)
            expected.append({"ids": ids, "text": sp.decode(ids).encode().hex()})
        results.append(compare(name, strings, expected, ours(a.tool, prefix + ".model", strings, work, name)))

    # tiktoken: a ranks file made here, Llama 3's pattern and special tokens.
    ranks, n = vocabularies.tiktoken_ranks(text, 400)
    ranks_path = os.path.join(work, "tiktoken.model")
    with open(ranks_path, "w") as f:
        f.write(ranks)
    strings = corpus.strings(specials=LLAMA3_SPECIALS[:12])
    job = {"kind": "tiktoken", "ranks": ranks_path, "pattern": vocabularies.LLAMA3_PATTERN,
           "specials": {s: n + i for i, s in enumerate(LLAMA3_SPECIALS)}, "strings": strings}
    results.append(compare("tiktoken_llama3", strings, node_reference(a.node, a.oracles, job, work, "tiktoken"),
                           ours(a.tool, ranks_path, strings, work, "tiktoken")))

    # Hugging Face tokenizer.json files made here.
    for name, (tokenizer, specials) in vocabularies.hf_variants(text).items():
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            json.dump(tokenizer, f, ensure_ascii=False)
        strings = corpus.strings(specials=specials)
        job = {"kind": "hf", "tokenizer": path, "strings": strings}
        results.append(compare(name, strings, node_reference(a.node, a.oracles, job, work, name),
                               ours(a.tool, path, strings, work, name)))

    print("checks: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
