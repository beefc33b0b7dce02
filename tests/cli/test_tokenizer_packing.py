"""A .pte that carries its tokenizer: `pte export --tokenizer` packs the file's bytes, special
ids, chat template, generation defaults and provenance; `pte run --prompt` then needs no other
file, stops at EOS and says so; bad tokenizer files stop the export with one line naming the
file and leave nothing.

Usage: test_tokenizer_packing.py --pte PATH --workdir DIR --example DIR
"""
import json
import os
import shutil
import subprocess
import sys

import cli_test

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "parity"))
sys.path.insert(0, os.path.join(HERE, "..", "tokenizer_parity"))
import pte_file  # noqa: E402
import vocabularies  # noqa: E402

check = cli_test.Checks()
PROMPT = "Once upon a time"


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def export(a, out, extra):
    return run([a.pte, "export", "-c", os.path.join(a.example, "model.pth"), "-p", os.path.join(a.example, "params.json"),
                "-o", out] + extra)


def generate(a, model, extra, json_out=True):
    r = run([a.pte, "run", "-m", model, "--prompt", PROMPT, "--max_new_tokens", "40"] + extra + (["--json"] if json_out else []))
    if r.returncode != 0:
        return None, r.stderr
    return (json.loads(r.stdout) if json_out else r.stdout), r.stderr



def main():
    a, work = cli_test.arguments()
    tok512 = os.path.join(a.example, "tok512.bin")

    # 1. stories260K with its tokenizer inside: the same text as a run given --tokenizer.
    plain, packed = os.path.join(work, "plain.pte"), os.path.join(work, "packed.pte")
    r1, r2 = export(a, plain, []), export(a, packed, ["--tokenizer", tok512])
    check("exports", r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr)
    text_given, _ = generate(a, plain, ["--tokenizer", tok512], json_out=False)
    text_inside, err = generate(a, packed, [], json_out=False)
    check("run --prompt needs no other file", text_inside is not None, err)
    check("same text as with --tokenizer", text_inside == text_given and text_given.startswith(PROMPT),
          "%r vs %r" % (text_inside, text_given))
    js, _ = generate(a, packed, [])
    check("BOS added per the file", js and js["prompt_tokens"] == [1, 403, 407, 261, 378], repr(js and js["prompt_tokens"]))
    r = run([a.pte, "run", "-m", plain, "--prompt", PROMPT])
    check("--prompt without any tokenizer is an error", r.returncode == 1 and "carries none" in r.stderr, r.stderr)

    # 2. What the file says, checked against the inputs themselves.
    f = pte_file.PteFile(packed, a.pte)
    m = f.metadata
    check("tokenizer bytes are the file's", f.raw("metadata/tokenizer.file") == open(tok512, "rb").read())
    check("format and special ids", m.get("tokenizer.file_format") == "llama2c" and
          m.get("tokenizer.ggml.bos_token_id") == 1 and m.get("tokenizer.ggml.add_bos_token") == 1 and
          m.get("tokenizer.eos_token_ids") == [2] and m.get("tokenizer.ggml.eos_token_id") == 2, repr(m))
    sources = json.loads(m.get("general.source.files", "[]"))
    want = [("checkpoint", os.path.join(a.example, "model.pth")), ("params", os.path.join(a.example, "params.json")),
            ("tokenizer", tok512)]
    check("provenance: size and SHA-256 of every input",
          [(s["role"], s["path"], s["size"], s["sha256"]) for s in sources] ==
          [(role, p, os.path.getsize(p), cli_test.sha256_of(p)) for role, p in want], repr(sources))
    check("name and architecture", m.get("general.name") == "stories260K" and m.get("general.architecture") == "llama")

    # verify and inspect take --prompt wherever --prompt_ids is taken.
    r = run([a.pte, "inspect", packed, "--json", "--prompt", PROMPT])
    shown = json.loads(r.stdout).get("prompt", {}) if r.returncode == 0 else {}
    check("inspect --prompt", shown.get("ids") == [1, 403, 407, 261, 378] and
          "".join(shown.get("pieces", [])) == " " + PROMPT, r.stderr + repr(shown))
    vargs = ["-c", os.path.join(a.example, "model.pth"), "-p", os.path.join(a.example, "params.json"), "--tokens", "12", "--json"]
    r1 = run([a.pte, "verify", "-m", packed, "--prompt", PROMPT] + vargs)
    r2 = run([a.pte, "verify", "-m", packed, "--prompt_ids", "1,403,407,261,378"] + vargs)
    def without_timings(r):
        if r.returncode != 0:
            return None
        j = json.loads(r.stdout)
        j.pop("seconds", None)
        return j
    check("verify --prompt is verify --prompt_ids of its ids", r1.returncode == 0 and without_timings(r1) == without_timings(r2),
          r1.stderr + r1.stdout + " vs " + r2.stdout)

    # 3. EOS from generation_config.json beside the tokenizer: generation stops there.
    eos_id = js["tokens"][9]
    folder = os.path.join(work, "withconfig")
    os.makedirs(folder)
    shutil.copy(tok512, os.path.join(folder, "tok512.bin"))
    template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
    with open(os.path.join(folder, "generation_config.json"), "w") as g:
        json.dump({"bos_token_id": 1, "eos_token_id": [eos_id, 2], "temperature": 0.7}, g)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as g:
        json.dump({"chat_template": template, "add_bos_token": True}, g)
    eos_pte = os.path.join(work, "eos.pte")
    r = export(a, eos_pte, ["--tokenizer", os.path.join(folder, "tok512.bin")])
    check("export with configs", r.returncode == 0, r.stderr)
    m = pte_file.PteFile(eos_pte, a.pte).metadata
    check("EOS ids from generation_config.json", m.get("tokenizer.eos_token_ids") == [eos_id, 2], repr(m.get("tokenizer.eos_token_ids")))
    check("chat template verbatim", m.get("tokenizer.chat_template") == template)
    check("generation defaults", json.loads(m.get("generation.config", "{}")).get("temperature") == 0.7)
    stopped, _ = generate(a, eos_pte, [])
    check("stops at the EOS the model generates", stopped and stopped["tokens"] == js["tokens"][:10] and
          stopped["stop_reason"] == "eos" and stopped["stop_token"] == eos_id, repr(stopped))
    r = run([a.pte, "run", "-m", packed, "--prompt", PROMPT, "--max_new_tokens", "9", "--json"])
    nine = json.loads(r.stdout)["text"] if r.returncode == 0 else None
    check("the EOS token is not in the text", stopped and stopped["text"] == nine, "%r vs %r" % (stopped and stopped["text"], nine))
    ignored, _ = generate(a, eos_pte, ["--ignore_eos"])
    check("--ignore_eos runs on", ignored and ignored["stop_reason"] == "max_new_tokens", repr(ignored))
    by_stop_ids, _ = generate(a, packed, ["--stop_ids", str(js["tokens"][4])])
    check("--stop_ids stops too", by_stop_ids and by_stop_ids["stop_reason"] == "stop_id" and
          len(by_stop_ids["tokens"]) == 5, repr(by_stop_ids))

    # 4. A Hugging Face tokenizer.json (byte-level, fits the 512-token vocabulary).
    hf = vocabularies.byte_level_json("once upon a time there was a girl " * 50, 100, ["<s>", "</s>"],
                                      vocabularies.split_then_byte_level(vocabularies.LLAMA3_PATTERN), bos="<s>")
    hf_folder = os.path.join(work, "hf")
    os.makedirs(hf_folder)
    with open(os.path.join(hf_folder, "tokenizer.json"), "w") as g:
        json.dump(hf, g)
    with open(os.path.join(hf_folder, "tokenizer_config.json"), "w") as g:
        json.dump({"bos_token": "<s>", "eos_token": {"content": "</s>"}, "chat_template": "{{ x }}"}, g)
    hf_pte = os.path.join(work, "hf.pte")
    r = export(a, hf_pte, ["--tokenizer", os.path.join(hf_folder, "tokenizer.json")])
    check("export with tokenizer.json", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        m = pte_file.PteFile(hf_pte, a.pte).metadata
        bos = len(hf["model"]["vocab"])
        check("tokenizer.json: format, BOS from the template, EOS from the config",
              m.get("tokenizer.file_format") == "hf_tokenizer_json" and m.get("tokenizer.ggml.bos_token_id") == bos and
              m.get("tokenizer.ggml.add_bos_token") == 1 and m.get("tokenizer.eos_token_ids") == [bos + 1], repr(m))
        r = run([a.pte, "run", "-m", hf_pte, "--prompt", PROMPT, "--max_new_tokens", "0", "--json"])
        out = json.loads(r.stdout) if r.returncode == 0 else {}
        check("run encodes with tokenizer.json", out.get("prompt_tokens", [None])[0] == bos and out.get("text") == PROMPT,
              r.stderr + repr(out))

    # SentencePiece (trained here; the reference is the library's Python binding) and tiktoken.
    import sentencepiece as spm
    import corpus
    train = os.path.join(work, "train.txt")
    with open(train, "w") as g:
        g.write(corpus.training_text())
    spm.SentencePieceTrainer.train(input=train, model_prefix=os.path.join(work, "sp"), vocab_size=300,
                                   model_type="unigram", minloglevel=2, num_threads=1)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(work, "sp.model"))
    ranks = os.path.join(work, "tiktoken.model")
    with open(ranks, "w") as g:
        g.write(vocabularies.tiktoken_ranks("", 0)[0])  # the 256 bytes: with Llama 3's 256 specials, 512 ids
    for name, path, fmt, want in [("sentencepiece", os.path.join(work, "sp.model"), "sentencepiece",
                                   [sp.bos_id()] + sp.encode(PROMPT)),
                                  ("tiktoken", ranks, "tiktoken", [256] + list(PROMPT.encode()))]:
        out_pte = os.path.join(work, name + ".pte")
        r = export(a, out_pte, ["--tokenizer", path])
        check("export with a %s tokenizer" % name, r.returncode == 0, r.stderr)
        r = run([a.pte, "run", "-m", out_pte, "--prompt", PROMPT, "--max_new_tokens", "0", "--json"])
        got = json.loads(r.stdout) if r.returncode == 0 else {}
        check("%s: format recorded, BOS added, prompt as the reference encodes it" % name,
              pte_file.PteFile(out_pte, a.pte).metadata.get("tokenizer.file_format") == fmt and
              got.get("prompt_tokens") == want and got.get("text") == PROMPT, r.stderr + repr(got) + " vs " + repr(want))

    # 5. Bad tokenizer files: one line naming the file, nothing written.
    bad = os.path.join(work, "bad")
    os.makedirs(bad)
    data = open(tok512, "rb").read()
    cases = {
        "truncated.bin": data[:len(data) - 3],
        "wrong_format.bin": b"\x89PNG\r\n\x1a\n" + bytes(range(200)),
        "unigram.json": json.dumps(dict(hf, model={"type": "Unigram", "vocab": []})).encode(),
        "unknown_merge.json": json.dumps(dict(hf, model=dict(hf["model"], merges=hf["model"]["merges"] + [["Ġq", "zz"]]))).encode(),
        "truncated.json": json.dumps(hf).encode()[:500],
        "truncated.model": b"IQ== 0\nIg== 1\nIw==",
    }
    for name, content in cases.items():
        path = os.path.join(bad, name)
        with open(path, "wb") as g:
            g.write(content)
        outdir = os.path.join(work, "out_" + name)
        os.makedirs(outdir)
        r = export(a, os.path.join(outdir, "m.pte"), ["--tokenizer", path])
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check("bad tokenizer %s: one error line naming the file" % name,
              r.returncode == 1 and len(lines) == 1 and lines[0].startswith("pte: error: " + path), repr(r.stderr))
        check("bad tokenizer %s: nothing written" % name, os.listdir(outdir) == [], repr(os.listdir(outdir)))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
