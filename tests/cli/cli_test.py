"""Shared scaffolding of the CLI test scripts: their arguments and a running tally of checks."""
import argparse
import hashlib
import json
import os
import shutil
import struct


def arguments():
    """--pte, --workdir (emptied), --example; returns (args, absolute work dir)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--pte", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--example", required=True)
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return a, work


def sha256_of(path):
    """The SHA-256 of a file's bytes, in hex."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Checks:
    def __init__(self):
        self.passes, self.failures = [], []

    def __call__(self, name, condition, detail=""):
        print(("ok   " if condition else "FAIL ") + name + (": " + detail if detail and not condition else ""))
        (self.passes if condition else self.failures).append(name)

    def finish(self):
        """Prints the tally and returns the exit code."""
        print("checks: %d passed, %d failed" % (len(self.passes), len(self.failures)))
        return 1 if self.failures else 0


def write_safetensors(path, tensors):
    """Writes a safetensors file by hand; tensors: list of (name, dtype string, shape, raw bytes)."""
    header, raw, off = {}, b"", 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        raw += data
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + raw)
