#!/usr/bin/env python3
"""What checking a file costs: `pte inspect` of the Llama-3.2-1B-shaped default export with the
default checks (container digest + every blob's SHA-256) against `--no_check_hashes` (container
digest only), warm page cache. Prints the figures; asserts nothing.

    /usr/bin/python3 bench/integrity_bench.py [--workdir /tmp/pte-bench] [--repeat 5]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/pte-bench")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.workdir, "bin"), exist_ok=True)
    pte = os.path.join(a.workdir, "bin", "pte")
    shutil.copy(os.path.join(HERE, "..", "build", "exporter", "cli", "pte"), pte)
    model = os.path.join(a.workdir, "llama1b-L16")
    subprocess.run([sys.executable, os.path.join(HERE, "make_llama1b.py"), "--out", model, "--formats", "safetensors"],
                   check=True)
    out = os.path.join(a.workdir, "llama1b-default.pte")
    subprocess.run([pte, "export", "-c", os.path.join(model, "model.safetensors"), "-p",
                    os.path.join(model, "params.json"), "-o", out], check=True, stderr=subprocess.DEVNULL)
    size = os.path.getsize(out)
    subprocess.run(["cat", out], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
    checked = timed([pte, "inspect", out], a.repeat)
    unchecked = timed([pte, "inspect", out, "--no_check_hashes"], a.repeat)
    floor = timed(["cat", out], a.repeat)
    m = statistics.median
    print("file: %s, %.0f MB" % (out, size / 1e6))
    print("pte inspect (all hashes):        %.3f s median of %d (%s)" % (m(checked), a.repeat,
          ", ".join("%.3f" % t for t in checked)))
    print("pte inspect --no_check_hashes:   %.3f s" % m(unchecked))
    print("cost of the blob hashes:         %.3f s = %.2f GB/s" % (m(checked) - m(unchecked),
          size / 1e9 / max(m(checked) - m(unchecked), 1e-9)))
    print("cat of the file (floor):         %.3f s" % m(floor))


if __name__ == "__main__":
    main()
