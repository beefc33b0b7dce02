"""`pte verify` on stories260K: exact parity for an fp32 export, thresholds on a quantized one, JSON
output, clear one-line errors for a mismatched model, and no temporary file left behind.

Usage: test_verify.py --pte PATH --workdir DIR --example DIR
"""
import cli_test
import json
import os
import subprocess
import sys

check = cli_test.Checks()


def main():
    a, work = cli_test.arguments()
    tmpdir = os.path.join(work, "tmp")
    os.makedirs(tmpdir)
    env = dict(os.environ, TMPDIR=tmpdir)
    ckpt = os.path.join(a.example, "model.pth")
    params = os.path.join(a.example, "params.json")

    def run(args):
        return subprocess.run([a.pte] + args, capture_output=True, text=True, timeout=300, env=env)

    def export(out, flags):
        r = run(["export", "-c", ckpt, "-p", params, "-o", out] + flags)
        check("export " + os.path.basename(out), r.returncode == 0, r.stderr)

    def verify(model, extra, params_path=params):
        return run(["verify", "-m", model, "-c", ckpt, "-p", params_path] + extra)

    def no_leftovers(name):
        check(name + " leaves no temporary file", os.listdir(tmpdir) == [], repr(os.listdir(tmpdir)))

    def one_error_line(name, r, must_contain):
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(name + " exits 1", r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr))
        check(name + " prints one error line", len(lines) == 1 and lines[0].startswith("pte: error: "), repr(r.stderr))
        check(name + " names the problem", all(s in r.stderr for s in must_contain),
              "%r lacks %r" % (r.stderr, must_contain))

    fp32 = os.path.join(work, "fp32.pte")
    default = os.path.join(work, "default.pte")
    export(fp32, ["--dtype", "fp32", "-E", "none", "--linear_quantize", "none"])
    export(default, [])

    # fp32 unquantized: the same model, so the same logits up to float rounding.
    r = verify(fp32, ["--json", "--min_top1", "1", "--max_kld", "1e-9"])
    check("fp32 verify exits 0", r.returncode == 0, r.stderr)
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check("fp32 relative max diff < 1e-5", j.get("relative_max_diff", 1) < 1e-5, repr(j))
    check("fp32 top-1 agreement is 1", j.get("top1_agreement") == 1.0, repr(j))
    check("fp32 covers 128 positions", j.get("positions") == 128, repr(j))
    no_leftovers("fp32 verify")

    # Defaults (fp16, 8-bit embedding, c4w): human-readable metrics, passes loose thresholds.
    r = verify(default, ["--min_top1", "0.5"])
    check("default verify with --min_top1 0.5 exits 0", r.returncode == 0, r.stderr)
    for word in ["max |logit diff|", "KL", "top-1 agreement", "passed"]:
        check("default verify prints " + word, word in r.stdout, r.stdout)
    no_leftovers("default verify")

    # An impossible threshold fails, naming it.
    r = verify(default, ["--max_kld", "0"])
    one_error_line("--max_kld 0", r, ["--max_kld"])
    r = verify(default, ["--min_top1", "1", "--max_kld", "0"])
    one_error_line("two failed thresholds", r, ["--max_kld", "--min_top1"])

    # JSON: one object with every key; "passed" follows the thresholds.
    r = verify(default, ["--json", "--max_kld", "0", "--prompt_ids", "1,403,407", "--tokens", "40"])
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    keys = ["method", "positions", "max_abs_diff", "max_abs_logit", "relative_max_diff", "mean_kld",
            "top1_agreement", "passed", "thresholds"]
    check("--json has the keys", all(k in j for k in keys), r.stdout)
    check("--json thresholds", j.get("thresholds") == {"min_top1": None, "max_kld": 0.0}, repr(j.get("thresholds")))
    check("--json failed run says passed false and exits 1", j.get("passed") is False and r.returncode == 1,
          r.stdout + r.stderr)
    check("--json --tokens 40 gives 40 positions", j.get("positions") == 40, repr(j))
    check("--json default metrics are plausible",
          j.get("max_abs_diff", 0) > 0 and 0 < j.get("mean_kld", 0) < 1 and 0.5 <= j.get("top1_agreement", 0) <= 1,
          repr(j))

    # A checkpoint/params pair that is not the file's model.
    with open(params) as f:
        p = json.load(f)
    for n_layers, must in [(p["n_layers"] - 1, ["n_layers", str(p["n_layers"]), str(p["n_layers"] - 1)]),
                           (p["n_layers"] + 1, ["layers.%d." % p["n_layers"], "missing"])]:
        other = os.path.join(work, "params_%d_layers.json" % n_layers)
        with open(other, "w") as f:
            json.dump(dict(p, n_layers=n_layers), f)
        r = verify(default, [], params_path=other)
        one_error_line("params with %d layers" % n_layers, r, must)
        no_leftovers("params with %d layers" % n_layers)

    r = verify(default, ["--method", "prefill"])
    one_error_line("missing method", r, ["prefill", "forward"])
    r = verify(default, ["--prompt_ids", "1,99999"])
    one_error_line("token outside the vocabulary", r, ["99999", "vocab_size"])
    no_leftovers("all runs")

    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
