"""Shared helpers of the parity scripts: argument parsing, driving the `pte` CLI, fixtures."""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLE_DIR = os.path.join(REPO, "examples", "stories260K")
sys.path.insert(0, HERE)

FP32_FLAGS = ["--dtype", "fp32", "-E", "none", "--linear_quantize", "none"]


def parser(description, fixtures=False):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--pte", required=True, help="path to the pte binary")
    ap.add_argument("--workdir", required=True, help="scratch directory (created)")
    if fixtures:
        ap.add_argument("--fixtures", default=None,
                        help="fixture directory written by make_fixtures.py "
                             "(default: generate into WORKDIR/fixtures)")
    return ap


def setup(args):
    args.pte = os.path.abspath(args.pte)
    if not os.access(args.pte, os.X_OK):
        sys.exit("error: pte binary %s not found or not executable" % args.pte)
    os.makedirs(args.workdir, exist_ok=True)
    args.workdir = os.path.abspath(args.workdir)


class CliResult:
    def __init__(self, argv, rc, stdout, stderr, seconds, timed_out=False):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.seconds, self.timed_out = seconds, timed_out

    def describe(self):
        cmd = " ".join(self.argv)
        what = "timed out" if self.timed_out else "exit code %s" % self.rc
        return "%s\n  -> %s\n  stderr: %s" % (cmd, what, self.stderr.strip()[-2000:])

    def json(self):
        # --json prints one JSON object; tolerate log lines around it
        text = self.stdout.strip()
        try:
            return json.loads(text)
        except ValueError:
            start, end = text.find("{"), text.rfind("}")
            return json.loads(text[start:end + 1])


def finish(failures, what=""):
    """Prints the verdict and returns the exit code: 1 with the failures listed, else 0."""
    if failures:
        print("\nFAIL (%d%s):" % (len(failures), what))
        for f in failures:
            print("  " + f)
        return 1
    print("\nPASS")
    return 0


def run(argv, timeout=120, check=True):
    t0 = time.time()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        r = CliResult(argv, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.time() - t0)
    except subprocess.TimeoutExpired as e:
        r = CliResult(argv, None, (e.stdout or b"").decode("utf-8", "replace"),
                      (e.stderr or b"").decode("utf-8", "replace"), time.time() - t0, True)
    if check and r.rc != 0:
        raise RuntimeError("command failed: " + r.describe())
    return r


def export(pte, ckpt, params, out, flags, timeout=300):
    return run([pte, "export", "-c", ckpt, "-p", params, "-o", out] + list(flags), timeout=timeout)


def sha256_file(path):
    """The SHA-256 of a file's bytes, hex."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ids_arg(ids):
    return ",".join(str(int(i)) for i in ids)


def load_fixtures(args):
    """Returns the fixture list (dicts with absolute 'checkpoint' and 'params')."""
    d = args.fixtures
    if d is None:
        d = os.path.join(args.workdir, "fixtures")
        run([sys.executable, os.path.join(HERE, "make_fixtures.py"), "--out", d, "-q"])
    with open(os.path.join(d, "fixtures.json")) as f:
        fx = json.load(f)
    for x in fx:
        x["checkpoint"] = os.path.join(d, x["checkpoint"])
        x["params"] = os.path.join(d, x["params"])
    return fx


def hf_fixtures(args):
    """Writes the Hugging Face fixtures (make_hf_fixtures.py) into WORKDIR/fixtures; returns
    (that directory, the fixture list)."""
    d = os.path.join(args.workdir, "fixtures")
    run([sys.executable, os.path.join(HERE, "make_hf_fixtures.py"), "--out", d])
    with open(os.path.join(d, "hf_fixtures.json")) as f:
        return d, json.load(f)
