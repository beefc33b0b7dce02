"""Shared scaffolding of the CLI test scripts: their arguments and a running tally of checks."""
import argparse
import os
import shutil


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
