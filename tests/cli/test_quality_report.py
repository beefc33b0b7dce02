"""`pte export --report` on stories260K: the stored figures are what `pte verify` measures with the
same protocol (reproduced exactly, at any thread count), `pte inspect` shows them, bits per weight
are right for an unquantized fp32 file (32) and inside (4, 8) for c4w/-E 8,0, and the file does not
depend on the thread count.

Usage: test_quality_report.py --pte PATH --workdir DIR --example DIR
"""
import cli_test
import json
import os
import subprocess
import sys

check = cli_test.Checks()



def main():
    a, work = cli_test.arguments()
    ckpt = os.path.join(a.example, "model.pth")
    params = os.path.join(a.example, "params.json")

    def run(args):
        return subprocess.run([a.pte] + args, capture_output=True, text=True, timeout=300)

    def export(out, flags):
        r = run(["export", "-c", ckpt, "-p", params, "-o", out] + flags)
        check("export " + os.path.basename(out), r.returncode == 0, r.stderr)
        return r

    def inspect(path):
        r = run(["inspect", path, "--json"])
        return json.loads(r.stdout) if r.returncode == 0 else {}

    quantized = os.path.join(work, "c4w.pte")
    r = export(quantized, ["--report", "--threads", "2"])
    check("export prints the stored figures", "quality (stored): top-1 agreement" in r.stderr, r.stderr)
    q = inspect(quantized).get("quality") or {}
    check("inspect --json gives the report", q.get("method") == "forward" and q.get("positions") == 128 and
          q.get("prompt_ids") == [1] and q.get("continuation") == "file", repr(q))
    check("c4w/-E 8,0 bits per weight inside (4, 8)", 4 < q.get("bits_per_weight", 0) < 8, repr(q))
    check("figures are in range", 0 <= q.get("top1_agreement", -1) <= 1 and q.get("mean_kld", -1) >= 0, repr(q))
    text = run(["inspect", quantized]).stdout
    check("inspect shows the report", "quality.report" in text and "bits per weight" in text, text[-2000:])

    for threads in ("1", "2"):
        r = run(["verify", "-m", quantized, "-c", ckpt, "-p", params, "--json", "--threads", threads])
        v = json.loads(r.stdout) if r.returncode == 0 else {}
        check("verify --threads %s reproduces the stored report" % threads, v.get("stored_report") == "reproduced" and
              v.get("top1_agreement") == q.get("top1_agreement") and v.get("mean_kld") == q.get("mean_kld"),
              r.stderr + repr(v))
    r = run(["verify", "-m", quantized, "-c", ckpt, "-p", params, "--json", "--tokens", "40"])
    v = json.loads(r.stdout) if r.returncode == 0 else {}
    check("another protocol is not compared", v.get("stored_report") == "other protocol", r.stderr + repr(v))

    again = os.path.join(work, "c4w_threads1.pte")
    export(again, ["--report", "--threads", "1"])
    check("the file does not depend on the thread count", cli_test.sha256_of(again) == cli_test.sha256_of(quantized))

    plain = os.path.join(work, "plain.pte")
    export(plain, [])
    check("no report unless asked", inspect(plain).get("quality", "missing") is None)

    fp32 = os.path.join(work, "fp32.pte")
    export(fp32, ["--report", "--report_tokens", "20", "--report_prompt_ids", "1,403", "--dtype", "fp32", "-E", "none",
                  "--linear_quantize", "none"])
    q = inspect(fp32).get("quality") or {}
    check("fp32 unquantized: 32 bits per weight", q.get("bits_per_weight") == 32, repr(q))
    check("fp32 unquantized: the file is the model", q.get("top1_agreement") == 1 and q.get("mean_kld", 1) < 1e-9 and
          q.get("positions") == 20 and q.get("prompt_ids") == [1, 403], repr(q))

    r = run(["export", "-c", ckpt, "-p", params, "-o", os.path.join(work, "bad.pte"), "--report", "--report_tokens", "0"])
    check("--report_tokens 0 is one error", r.returncode != 0 and "--report_tokens" in r.stderr and
          not os.path.exists(os.path.join(work, "bad.pte")), r.stderr)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
