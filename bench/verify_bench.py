#!/usr/bin/env python3
"""`pte verify` benchmark (figures printed, never asserted): the wall time, the time of each part
(`pte verify --json`'s own timers) and the memory of verifying the 16-layer Llama-3.2-1B-shaped
model (bench/make_llama1b.py), exported --multifunction with the defaults (fp16, -E 8,0, c4w),
over --tokens positions (default 128) with --threads 2. The file runs on the fast executor; the
float32 reference on the reference executor, its weights read from model.safetensors in place.
Peak RSS is split into anonymous memory and mapped file pages (sampled every 20 ms from
/proc/PID/status): the checkpoint and the .pte are mapped, not copied. The machine's load
average is printed too. Data lives under --workdir (default /tmp/pte-bench).

  /usr/bin/python3 bench/verify_bench.py [--workdir DIR] [--repeat 3] [--tokens 128] [--pte PATH]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = "/usr/bin/python3"


def sh(cmd):
    return subprocess.run(cmd, check=True, text=True, capture_output=True)


def status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(cmd):
    """Runs cmd; returns (stdout, wall seconds, peak RssAnon MB, peak RssFile MB)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    anon = files = 0
    while p.poll() is None:
        anon = max(anon, status_kb(p.pid, "RssAnon"))
        files = max(files, status_kb(p.pid, "RssFile"))
        time.sleep(0.02)
    out = p.stdout.read()
    if p.returncode != 0:
        raise SystemExit("failed: " + " ".join(cmd))
    return out, time.monotonic() - start, anon / 1024, files / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/pte-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--pte", default=os.path.join(REPO, "build", "exporter", "cli", "pte"))
    args = ap.parse_args()
    os.makedirs(os.path.join(args.workdir, "bin"), exist_ok=True)
    pte = os.path.join(args.workdir, "bin", "pte-verify-bench")
    shutil.copy2(args.pte, pte)  # a rebuild during the run does not change the binary timed

    model_dir = os.path.join(args.workdir, "llama1b-L16")
    sh([PY, os.path.join(HERE, "make_llama1b.py"), "--out", model_dir, "--formats", "safetensors"])
    ckpt, params = os.path.join(model_dir, "model.safetensors"), os.path.join(model_dir, "params.json")
    l1b = os.path.join(args.workdir, "llama1b-L16-multifunction-verify.pte")
    sh([pte, "export", "-c", ckpt, "-p", params, "-o", l1b, "--multifunction"])
    for path in (ckpt, l1b):  # page cache warm
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass

    print("load average %.2f %.2f %.2f" % os.getloadavg())
    rows = []
    for _ in range(args.repeat):
        out, wall, anon, files = timed([pte, "verify", "-m", l1b, "-c", ckpt, "-p", params, "--tokens",
                                        str(args.tokens), "--threads", "2", "--json"])
        j = json.loads(out)
        rows.append((wall, j["seconds"], anon, files))
        s = j["seconds"]
        print("  wall %6.1f s  (assemble %.1f, file continuation %.1f, reference %.1f, file %.1f)  "
              "peak RSS anon %5.0f MB, file pages %5.0f MB" %
              (wall, s["assemble_reference"], s["continuation"], s["reference"], s["file"], anon, files))
    print("pte verify, llama1b-shaped --multifunction (c4w, -E 8,0, fp16), %d positions, 2 threads: "
          "median wall %.1f s, median peak anonymous RSS %.0f MB" %
          (args.tokens, statistics.median(r[0] for r in rows), statistics.median(r[2] for r in rows)))
    print("load average %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
