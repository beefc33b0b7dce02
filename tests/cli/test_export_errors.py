"""`pte export` on bad input: exit code 1, one `pte: error:` line naming the problem, no file left.

Usage: test_export_errors.py --pte PATH --workdir DIR --example DIR
"""
import cli_test
import json
import os
import subprocess
import sys

check = cli_test.Checks()


def export(pte, args, out):
    r = subprocess.run([pte, "export", "-o", out] + args, capture_output=True, text=True, timeout=120)
    return r


def expect_error(pte, name, args, out, must_contain):
    r = export(pte, args, out)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(name + " exits 1", r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr))
    check(name + " prints one error line", len(lines) == 1 and lines[0].startswith("pte: error: "), repr(r.stderr))
    check(name + " names the problem", all(s in r.stderr for s in must_contain), "%r lacks %r" % (r.stderr, must_contain))
    leftovers = [f for f in os.listdir(os.path.dirname(out))]
    check(name + " leaves no file", leftovers == [], repr(leftovers))


def main():
    a, work = cli_test.arguments()
    outdir = os.path.join(work, "out")
    os.makedirs(outdir)
    out = os.path.join(outdir, "m.pte")
    ckpt = os.path.join(a.example, "model.pth")
    params = os.path.join(a.example, "params.json")
    plain = ["--dtype", "fp32", "-E", "none", "--linear_quantize", "none"]

    expect_error(a.pte, "missing checkpoint", ["-c", os.path.join(work, "nope.pth"), "-p", params] + plain, out,
                 ["nope.pth"])
    expect_error(a.pte, "missing params", ["-c", ckpt, "-p", os.path.join(work, "nope.json")] + plain, out,
                 ["nope.json"])
    bad_params = os.path.join(work, "params_no_dim.json")
    with open(params) as f:
        p = json.load(f)
    del p["dim"]
    with open(bad_params, "w") as f:
        json.dump(p, f)
    expect_error(a.pte, "params without dim", ["-c", ckpt, "-p", bad_params] + plain, out, ["dim"])
    wrong = os.path.join(work, "params_wrong_layers.json")
    p["dim"] = 64
    p["n_layers"] = 6
    with open(wrong, "w") as f:
        json.dump(p, f)
    expect_error(a.pte, "params with too many layers", ["-c", ckpt, "-p", wrong] + plain, out,
                 ["layers.5.", "missing"])
    garbage = os.path.join(work, "garbage.pth")
    with open(garbage, "wb") as f:
        f.write(b"this is not a checkpoint at all" * 10)
    expect_error(a.pte, "unrecognised checkpoint", ["-c", garbage, "-p", params] + plain, out, ["garbage.pth"])
    expect_error(a.pte, "blocks per piece without graph breaks",
                 ["-c", ckpt, "-p", params, "--no_graph_breaks", "--blocks_per_piece", "2"], out, ["--blocks_per_piece"])
    expect_error(a.pte, "embedding group that does not divide dim", ["-c", ckpt, "-p", params, "-E", "4,48"], out,
                 ["group 48", "dim 64", "tok_embeddings.weight"])
    expect_error(a.pte, "bad dtype", ["-c", ckpt, "-p", params, "--dtype", "int8", "-E", "none",
                                      "--linear_quantize", "none"], out, ["--dtype", "int8"])
    expect_error(a.pte, "context shorter than input", ["-c", ckpt, "-p", params, "--max_context_len", "16",
                                                       "--input_len", "32"] + plain, out, ["--max_context_len"])

    r = export(a.pte, ["-c", ckpt, "-p", params] + plain, out)
    check("good export exits 0", r.returncode == 0, r.stderr)
    check("good export leaves only the output", sorted(os.listdir(outdir)) == ["m.pte"], repr(os.listdir(outdir)))
    check("tied embedding is reported", "tied" in r.stderr, r.stderr)

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
