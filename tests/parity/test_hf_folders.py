#!/usr/bin/python3
"""Hugging Face folders: sharded = single-file export byte for byte, and clear errors.

    /usr/bin/python3 tests/parity/test_hf_folders.py --pte build/exporter/cli/pte --workdir /tmp/hff

- The Qwen3 and Llama fixtures re-written as 3 shards + model.safetensors.index.json export to the
  same bytes as their single-file folder (both exported from the same path, default flags and fp32).
- Every inconsistency between the index and the shards (a shard file missing, a tensor the index
  lists that its shard lacks, a tensor in two shards, a tensor of a shard that the index does not
  list) is a one-line error naming the index, the shard and the tensor, and leaves no file.
- config.json with an unsupported architecture, rope_scaling type, hidden_act, or an active
  sliding window: a one-line error naming config.json and the key, and no output file.
- -c model.safetensors with -p config.json works; -c FILE without -p is a clear error.
- A Meta folder (consolidated.00.pth + params.json) generates what its files generate; a Qwen3
  folder exported with --multifunction generates the single-method tokens.
"""
import json
import struct
import os
import shutil
import subprocess
import sys

import parity_util as pu
from make_hf_fixtures import shard
from llama_reference import read_safetensors, write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = ["--max_context_len", "64", "--input_len", "8"]
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures.append(name + (": " + detail if detail else ""))


def export(pte, args, out, flags=SHAPE):
    return subprocess.run([pte, "export", "-o", out] + args + flags, capture_output=True, text=True, timeout=120)


def expect_error(pte, name, args, outdir, must_contain):
    out = os.path.join(outdir, "bad.pte")
    r = export(pte, args, out)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(name + ": exits 1", r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr))
    check(name + ": one error line", len(lines) == 1 and lines[0].startswith("pte: error: "), repr(r.stderr))
    check(name + ": names " + ", ".join(must_contain), all(s in r.stderr for s in must_contain),
          "%r lacks %r" % (r.stderr, must_contain))
    check(name + ": no output file", os.listdir(outdir) == [], repr(os.listdir(outdir)))


def copy_folder(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


def edit_config(folder, **changes):
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        c = json.load(f)
    c.update(changes)
    with open(path, "w") as f:
        json.dump(c, f, indent=2)


def edit_index(folder, fn):
    path = os.path.join(folder, "model.safetensors.index.json")
    with open(path) as f:
        index = json.load(f)
    fn(index["weight_map"])
    with open(path, "w") as f:
        json.dump(index, f, indent=2)


def run_inspect(pte, path):
    return subprocess.run([pte, "inspect", path, "--json"], capture_output=True, text=True, check=True).stdout


def inspect_json(pte, path):
    return json.loads(run_inspect(pte, path))


def shard_identity(pte, fixtures, work):
    for name in ("qwen3_qknorm_fp32", "llama3_rope_scaling_bf16"):
        for label, flags in (("default", SHAPE), ("fp32", SHAPE + pu.FP32_FLAGS)):
            model = os.path.join(work, "model")
            copy_folder(os.path.join(fixtures, name), model)
            single_out, sharded_out = os.path.join(work, "single.pte"), os.path.join(work, "sharded.pte")
            r = export(pte, ["-c", model], single_out, flags)
            check("%s %s single-file export" % (name, label), r.returncode == 0, r.stderr)
            shutil.rmtree(model)
            shard(os.path.join(fixtures, name), model, 3)
            r = export(pte, ["-c", model], sharded_out, flags)
            check("%s %s 3-shard export" % (name, label), r.returncode == 0, r.stderr)
            a, b = open(single_out, "rb").read(), open(sharded_out, "rb").read()
            seg = struct.unpack_from("<Q", a, 32)[0]
            check("%s %s: 3 shards give the same data segment as one file" % (name, label),
                  len(a) == len(b) and seg == struct.unpack_from("<Q", b, 32)[0] and a[seg:] == b[seg:])
            # The container differs only in the provenance (general.source.files lists the shards).
            ja, jb = inspect_json(pte, single_out), inspect_json(pte, sharded_out)
            for j in (ja, jb):
                del j["metadata"]["general.source.files"]
                j.pop("file")
            check("%s %s: 3 shards give the same container apart from the recorded input files" % (name, label),
                  ja == jb)
            files = json.loads(json.loads(run_inspect(pte, sharded_out))["metadata"]["general.source.files"])
            check("%s %s: the provenance lists the 3 shards" % (name, label),
                  sum(1 for f in files if f["role"] == "checkpoint shard") == 3, repr(files))


def index_errors(pte, fixtures, work, outdir):
    base = os.path.join(work, "sharded_base")
    shard(os.path.join(fixtures, "qwen3_qknorm_fp32"), base, 3)
    index = "model.safetensors.index.json"
    first, third = "model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"
    emb, norm = "model.embed_tokens.weight", "model.norm.weight"

    d = copy_folder(base, os.path.join(work, "missing_shard"))
    os.remove(os.path.join(d, third))
    expect_error(pte, "index: shard file missing", ["-c", d], outdir, [index, third, "does not exist", "listed for tensor"])

    d = copy_folder(base, os.path.join(work, "listed_not_in_shard"))
    edit_index(d, lambda m: m.__setitem__("model.layers.0.self_attn.extra.weight", first))
    expect_error(pte, "index: tensor listed but absent from its shard", ["-c", d], outdir,
                 [index, first, "model.layers.0.self_attn.extra.weight", "does not contain it"])

    d = copy_folder(base, os.path.join(work, "in_two_shards"))
    tensors = read_safetensors(os.path.join(d, third))
    tensors[emb] = read_safetensors(os.path.join(d, first))[emb]
    write_safetensors(os.path.join(d, third), tensors)
    expect_error(pte, "index: tensor in two shards", ["-c", d], outdir, [index, first, third, emb, "two shards"])

    d = copy_folder(base, os.path.join(work, "not_listed"))
    edit_index(d, lambda m: m.pop(norm))
    expect_error(pte, "index: shard tensor the index does not list", ["-c", d], outdir,
                 [index, third, norm, "does not list"])


def config_errors(pte, fixtures, work, outdir):
    cases = [
        ("unsupported architecture", "llama_gqa_tied_fp32", dict(architectures=["Gemma3ForCausalLM"]),
         ["config.json", "architecture 'Gemma3ForCausalLM' is not supported", "Qwen3ForCausalLM"]),
        ("rope_scaling yarn", "llama_gqa_tied_fp32",
         dict(rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 2048}),
         ["config.json", "rope_scaling", "yarn"]),
        ("hidden_act gelu", "qwen3_qknorm_fp32", dict(hidden_act="gelu"), ["config.json", "hidden_act", "gelu"]),
        ("active sliding window (Mistral)", "mistral_fp32", dict(sliding_window=32),
         ["config.json", "sliding_window", "32", "--max_context_len 64"]),
        ("active sliding window (Qwen2)", "qwen2_bias_bf16", dict(use_sliding_window=True),
         ["config.json", "sliding_window", "16"]),
        ("pre-quantized", "qwen3_qknorm_fp32", dict(quantization_config={"quant_method": "gptq"}),
         ["config.json", "quantization_config"]),
    ]
    for name, fixture, changes, words in cases:
        d = copy_folder(os.path.join(fixtures, fixture), os.path.join(work, "config_" + fixture))
        edit_config(d, **changes)
        expect_error(pte, "config: " + name, ["-c", d], outdir, words)

    # a tensor the family does not use, and a module it needs that is absent
    d = copy_folder(os.path.join(fixtures, "qwen3_qknorm_fp32"), os.path.join(work, "extra_tensor"))
    edit_config(d, architectures=["LlamaForCausalLM"], model_type="llama")
    expect_error(pte, "Qwen3 weights described as Llama", ["-c", d], outdir,
                 ["model.safetensors", "not used by LlamaForCausalLM", "q_norm.weight"])
    d = copy_folder(os.path.join(fixtures, "llama_gqa_tied_fp32"), os.path.join(work, "missing_norm"))
    edit_config(d, architectures=["Qwen3ForCausalLM"], model_type="qwen3")
    expect_error(pte, "Llama weights described as Qwen3", ["-c", d], outdir,
                 ["model.safetensors", "model.layers.0.self_attn.q_norm.weight", "is missing"])
    # tied with both tensors stored but different
    d = copy_folder(os.path.join(fixtures, "qwen3_qknorm_fp32"), os.path.join(work, "tied_differ"))
    edit_config(d, tie_word_embeddings=True)
    expect_error(pte, "tie_word_embeddings with different tensors", ["-c", d], outdir,
                 ["lm_head.weight", "model.embed_tokens.weight", "differ", "tie_word_embeddings"])


def file_and_config(pte, fixtures, work, outdir):
    d = os.path.join(fixtures, "qwen2_bias_bf16")
    out = os.path.join(work, "file.pte")
    r = export(pte, ["-c", os.path.join(d, "model.safetensors"), "-p", os.path.join(d, "config.json")], out)
    check("-c model.safetensors -p config.json", r.returncode == 0, r.stderr)
    expect_error(pte, "-c FILE without -p", ["-c", os.path.join(d, "model.safetensors")], outdir, ["-p/--params"])
    expect_error(pte, "HF weights with a Meta params.json", ["-c", os.path.join(d, "model.safetensors"), "-p",
                 os.path.join(HERE, "..", "..", "examples", "stories260K", "params.json")], outdir,
                 ["tok_embeddings.weight", "Hugging Face"])


def meta_folder_and_multifunction(pte, fixtures, work):
    """A Meta folder (consolidated.00.pth + params.json) exports like its two files; a Qwen3
    folder exports with --multifunction and generates the single-method export's tokens."""
    example = os.path.join(HERE, "..", "..", "examples", "stories260K")
    d = os.path.join(work, "meta_folder")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copy(os.path.join(example, "model.pth"), os.path.join(d, "consolidated.00.pth"))
    shutil.copy(os.path.join(example, "params.json"), os.path.join(d, "params.json"))
    prompt = ["--prompt_ids", "1,403,407,261,378", "--max_new_tokens", "12", "--json"]
    tokens = []
    for args in (["-c", d], ["-c", os.path.join(example, "model.pth"), "-p", os.path.join(example, "params.json")]):
        out = os.path.join(work, "meta_%d.pte" % len(tokens))
        r = export(pte, args, out, [])
        check("Meta export " + " ".join(args), r.returncode == 0, r.stderr)
        tokens.append(pu.run([pte, "run", "-m", out] + prompt).json()["tokens"] if r.returncode == 0 else None)
    check("Meta folder generates the same tokens as its files", tokens[0] == tokens[1], repr(tokens))
    q3 = os.path.join(fixtures, "qwen3_qknorm_fp32")
    gen = []
    for flags in ([], ["--multifunction"]):
        out = os.path.join(work, "q3_%d.pte" % len(gen))
        r = export(pte, ["-c", q3], out, SHAPE + pu.FP32_FLAGS + flags)
        check("Qwen3 export " + " ".join(flags), r.returncode == 0, r.stderr)
        gen.append(pu.run([pte, "run", "-m", out, "--prompt_ids", "3,4,5,6,7,8,9,10,11,12", "--max_new_tokens", "12",
                           "--json"]).json()["tokens"] if r.returncode == 0 else None)
    check("Qwen3 --multifunction generates the single-method tokens", gen[0] == gen[1], repr(gen))


def main():
    args = pu.parser(__doc__.split("\n")[0]).parse_args()
    pu.setup(args)
    fixtures, _ = pu.hf_fixtures(args)
    outdir = os.path.join(args.workdir, "out")
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    shard_identity(args.pte, fixtures, args.workdir)
    index_errors(args.pte, fixtures, args.workdir, outdir)
    config_errors(args.pte, fixtures, args.workdir, outdir)
    file_and_config(args.pte, fixtures, args.workdir, outdir)
    meta_folder_and_multifunction(args.pte, fixtures, args.workdir)
    return pu.finish(failures)


if __name__ == "__main__":
    sys.exit(main())
