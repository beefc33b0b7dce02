"""Vocabularies built by the suite to each format's rules: a byte-pair trainer (greedy, most
frequent pair first, ties by the pair's text) and writers for a tiktoken ranks file and for
Hugging Face tokenizer.json files (byte-level and metaspace). Which merges are learnt does not
matter for parity; that the files follow the formats does."""
import base64
import collections
import json
import re

# GPT-2's byte alphabet (bytes_to_unicode).
def byte_alphabet():
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def train_merges(words, count):
    """words: Counter of tuples of symbols. Returns the merges, in order."""
    words = dict(words)
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + n
        words = merged
    return merges


def rough_pieces(text):
    return re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", text)


def byte_level_merges(text, count):
    alpha = byte_alphabet()
    words = collections.Counter(tuple(alpha[b] for b in p.encode()) for p in rough_pieces(text))
    return train_merges(words, count)


def tiktoken_ranks(text, count):
    """A ranks file: the 256 bytes, then merged byte strings (base64 + rank lines)."""
    alpha = byte_alphabet()
    inverse = {v: k for k, v in alpha.items()}
    tokens = [bytes([b]) for b in range(256)]
    seen = set(tokens)
    for a, b in byte_level_merges(text, count):
        t = bytes(inverse[c] for c in a + b)
        if t not in seen:
            seen.add(t)
            tokens.append(t)
    return "".join("%s %d\n" % (base64.b64encode(t).decode(), i) for i, t in enumerate(tokens)), len(tokens)


def bpe_model(vocab, merges, **extra):
    m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
         "vocab": vocab, "merges": [[a, b] for a, b in merges]}
    m.update(extra)
    return m


def added(specials, first_id):
    return [{"id": first_id + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, s in enumerate(specials)]


def byte_level_json(text, count, specials, pre_tokenizer, normalizer=None, ignore_merges=False, bos=None):
    alpha = byte_alphabet()
    vocab = {alpha[b]: i for i, b in enumerate(range(256))}
    merges = byte_level_merges(text, count)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    post = None
    if bos is not None:
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [], "special_tokens": {bos: {"id": bos, "ids": [len(vocab) + specials.index(bos)], "tokens": [bos]}}}
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added(specials, len(vocab)),
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": bpe_model(vocab, merges, ignore_merges=ignore_merges)}


LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")


def split_then_byte_level(pattern):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}


def metaspace_json(text, count, byte_fallback, legacy):
    """Llama-2 style: <unk> <s> </s>, optional <0xNN> tokens, ▁-words. `legacy`: the normalizer
    form (Prepend + Replace, Replace/ByteFallback/Fuse/Strip decoder); else the Metaspace
    pre-tokenizer and decoder."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    if byte_fallback:
        for b in range(256):
            vocab["<0x%02X>" % b] = len(vocab)
    words = collections.Counter()
    for line in text.split("\n"):
        for w in ("▁" + line.replace(" ", "▁")).split("▁")[1:]:
            words[tuple("▁" + w)] += 1
    for ch in sorted({c for w in words for c in w}):
        if ord(ch) < 0x2000 or ch == "▁":  # rarer characters stay out: byte fallback or <unk>
            vocab.setdefault(ch, len(vocab))
    words = collections.Counter({w: n for w, n in words.items() if all(c in vocab for c in w)})
    merges = train_merges(words, count)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    model = bpe_model(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=byte_fallback)
    post = {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    j = {"version": "1.0", "truncation": None, "padding": None,
         "added_tokens": [dict(t, id=i) for i, t in enumerate(added(["<unk>", "<s>", "</s>"], 0))],
         "post_processor": post, "model": model}
    if legacy:
        j["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
        j["pre_tokenizer"] = None
        j["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    else:
        j["normalizer"] = None
        j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
        j["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    return j


def hf_variants(text, count=400):
    """name -> (tokenizer.json object, special-token texts)."""
    llama3 = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    qwen = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    smol = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    return {
        "llama3_style": (byte_level_json(text, count, llama3, split_then_byte_level(LLAMA3_PATTERN),
                                         ignore_merges=True, bos="<|begin_of_text|>"), llama3),
        "qwen2_style": (byte_level_json(text, count, qwen, split_then_byte_level(QWEN2_PATTERN),
                                        normalizer={"type": "NFC"}), qwen),
        "smollm2_style": (byte_level_json(text, count, smol, {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}), smol),
        "metaspace_byte_fallback": (metaspace_json(text, count, True, True), ["<s>", "</s>"]),
        "metaspace_unk": (metaspace_json(text, count, False, False), ["<s>", "</s>"]),
    }
