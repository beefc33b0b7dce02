// The reference tokenizers: reads a job (JSON file given as the argument) and writes, for each
// string, the reference library's ids and its decode of them (hex of the UTF-8 bytes).
//   {"kind": "hf", "tokenizer": PATH, "strings": [...]}
//   {"kind": "tiktoken", "ranks": PATH, "pattern": P, "specials": {"<|x|>": id}, "strings": [...]}
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { Tiktoken } from "tiktoken";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const hex = (text) => Buffer.from(text, "utf8").toString("hex");
const out = [];
if (job.kind === "hf") {
  const tok = new Tokenizer(JSON.parse(readFileSync(job.tokenizer, "utf8")), { clean_up_tokenization_spaces: false });
  for (const s of job.strings) {
    const ids = tok.encode(s, { add_special_tokens: false }).ids;
    const text = ids.length ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : "";
    out.push({ ids, text: hex(text) });
  }
} else {
  const enc = new Tiktoken(readFileSync(job.ranks, "utf8"), job.specials, job.pattern);
  for (const s of job.strings) {
    const ids = Array.from(enc.encode(s, "all"));
    out.push({ ids, text: Buffer.from(enc.decode(new Uint32Array(ids))).toString("hex") });
  }
  enc.free();
}
process.stdout.write(JSON.stringify(out));
