"""The parity corpus: at least 1,000 strings per tokenizer, drawn deterministically from
categories that stress tokenizers (English, code, whitespace runs, digits, emoji, CJK, combining
marks, text that looks like invalid bytes, special-token text), and a training text for the
vocabularies the suite builds."""
import random

WORDS = ("the a once upon time there was little girl named lily she loved play park with her friends "
         "one day went mom happy big dog cat tree sun ran jumped said hello world because very "
         "don't it's we're they've I'm you'll he'd can't won't shouldn't").split()
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
        "if x != None and y >= 3:", "#include <stdio.h>\nint main(void) { return 0; }",
        "const y = (a) => a?.b ?? 'c';", "SELECT * FROM t WHERE id = 42;", "x += 1  # comment",
        "std::vector<int32_t> v{1, 2, 3};", "fn main() { println!(\"{}\", 7); }", "<div class=\"x\">&amp;</div>"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t ", "    ", "\u00a0", "\u3000", "\u2003"]
EMOJI = ["😀", "🤗", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "🚀", "✨", "🧑‍💻", "☕"]
CJK = ["日本語", "中文测试", "漢字", "한국어", "こんにちは世界", "東京都", "你好", "カタカナ", "ひらがな", "龍"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "\u1100\u1161", "क्षि", "o\u0302\u0323", "Å", "ñ", "ё", "ﬁ"]
BYTES_AS_TEXT = ["\\xff\\xfe", "Ã©", "ï¿½", "\ufffd", "\\u00e9", "%C3%A9", "\x7f", "\x01\x02", "\\0", "¿¡"]
DIGITS = ["0", "7", "42", "1234", "12345678", "3.14159", "1,000,000", "2026-12-01", "0x1F", "١٢٣"]


def specials_text(specials):
    return [s for s in specials] + ["a" + s + "b" for s in specials] + [" " + s + " " for s in specials]


def strings(specials=(), count=1200, seed=1234):
    """`count` strings; `specials` are special-token texts the tokenizer knows."""
    rng = random.Random(seed)
    pools = [WORDS, CODE, SPACES, EMOJI, CJK, COMBINING, BYTES_AS_TEXT, DIGITS]
    special_pool = specials_text(specials) if specials else []
    out = [""] + WORDS + CODE + SPACES + EMOJI + CJK + COMBINING + BYTES_AS_TEXT + DIGITS + special_pool
    while len(out) < count:
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if special_pool and r < 0.08:
                parts.append(rng.choice(special_pool))
            elif r < 0.45:
                parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))).capitalize()
                             if rng.random() < 0.5 else rng.choice(WORDS))
            else:
                parts.append(rng.choice(rng.choice(pools)))
            if rng.random() < 0.5:
                parts.append(rng.choice([" ", "", ". ", ", ", "\n", "  ", "!"]))
        out.append("".join(parts))
    return out[:max(count, len(out))]


def training_text(seed=99):
    """Text the suite trains its vocabularies on (English-heavy, some of everything)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(3000):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
        line = " ".join(words).capitalize() + rng.choice([".", "!", "?", ","])
        if rng.random() < 0.2:
            line += " " + rng.choice(CODE + DIGITS + CJK + EMOJI)
        lines.append(line)
    return "\n".join(lines) + "\n"
