#!/usr/bin/env python3
"""Export benchmark: `pte export` on a synthetic Llama-3.2-1B-shaped checkpoint.

For each case: warm the page cache (cat the input to /dev/null twice), time `cat INPUT >
/dev/null` (the I/O floor: reading the input from cache once), then time the default export
(`pte export -c CKPT -p params.json -o OUT`: fp16, -E 8,0, c4w, split 1024/8) under
`/usr/bin/time -v`, --repeat times, and report the medians: wall s, input GB/s, peak RSS
(Maximum resident set size), output size, and wall / cat-floor.

Cases: 16 layers .pth and .safetensors; 16 layers .pth with --threads 1; --layer-variants
(default 4) .pth, to compare peak RSS against layer count; with --8b, the Llama 3 8B shape
(32 layers, 16 GB of bf16 safetensors, made once by make_llama1b.py --shape 8b; delete
WORKDIR/llama8b-L32 when done). Data lives under --workdir (default /tmp/pte-bench), never
inside the repository. Prints a markdown table at the end, with the CPU time (user + sys) of
each export: on a shared machine it varies less than the wall time.

  /usr/bin/python3 bench/export_bench.py [--workdir DIR] [--repeat 3] [--pte PATH] [--8b] [--only-8b]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = "/usr/bin/python3"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def rss_parts(pid):
    """(RssAnon, RssFile) of pid in bytes, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            d = dict(l.split(":", 1) for l in f if l.startswith(("RssAnon", "RssFile")))
        return int(d["RssAnon"].split()[0]) * 1024, int(d["RssFile"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def timed(cmd, log, sample=False):
    """Run cmd under /usr/bin/time -v; return (wall s, peak RSS bytes, output text, sampled
    peaks {anon, file} of the timed process, polled every 20 ms, or None)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-v"] + cmd, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = None
    if sample:
        peaks, child = {"anon": 0, "file": 0}, None
        while p.poll() is None:
            if child is None:
                try:
                    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                        child = int(f.read().split()[0])
                except (OSError, IndexError, ValueError):
                    pass
            r = rss_parts(child) if child else None
            if r:
                peaks["anon"] = max(peaks["anon"], r[0])
                peaks["file"] = max(peaks["file"], r[1])
            time.sleep(0.02)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    log.write("$ " + " ".join(cmd) + f"\n{out}{err}\n")
    log.flush()
    if p.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-40:])
        raise RuntimeError(f"command failed (exit {p.returncode}) after {wall:.2f} s: "
                           f"{' '.join(cmd)}\n{out[-2000:]}\n{tail}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", err)
    if peaks is not None:
        peaks["cpu"] = int(cpu.group(1)) if cpu else 0
    return wall, int(m.group(1)) * 1024, out + err, peaks


def cat_floor(files, repeat, log):
    cmd = "cat " + " ".join(f"'{f}'" for f in files) + " > /dev/null"
    for _ in range(2):  # warm the page cache
        subprocess.run(cmd, shell=True, check=True)
    walls = [timed(["sh", "-c", cmd], log)[0] for _ in range(repeat)]
    return statistics.median(walls)


def make_model(workdir, layers, formats, log, shape="1b"):
    out = os.path.join(workdir, f"llama{shape}-L{layers}")
    cmd = [PY, os.path.join(HERE, "make_llama1b.py"), "--shape", shape, "--layers", str(layers),
           "--out", out, "--formats", formats]
    t0 = time.perf_counter()
    p = sh(cmd)
    print(f"  {p.stdout.strip()} [{time.perf_counter() - t0:.1f} s]", flush=True)
    log.write(p.stdout)
    return out


def data_segment_equal(a, b):
    """True when the two .pte files are equal from the data segment on (the flatbuffer holds
    the export flags, which name the checkpoint file, so it differs across input formats)."""
    def seg(path):
        t = sh([ARGS.pte, "inspect", path]).stdout
        return int(re.search(r"data segment \[(\d+),", t).group(1))
    sa, sb = seg(a), seg(b)
    if sa != sb or os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        fa.seek(sa)
        fb.seek(sb)
        while True:
            x, y = fa.read(1 << 24), fb.read(1 << 24)
            if x != y:
                return False
            if not x:
                return True


def run_case(name, model_dir, fmt, extra, workdir, repeat, log):
    # fmt "hf": the 2-shard Hugging Face folder (config.json found in it, no -p)
    ckpt = os.path.join(model_dir, "hf" if fmt == "hf" else f"model.{fmt}")
    files = sorted(os.path.join(ckpt, f) for f in os.listdir(ckpt) if f.endswith(".safetensors")) \
        if fmt == "hf" else [ckpt]
    params = [] if fmt == "hf" else ["-p", os.path.join(model_dir, "params.json")]
    out = os.path.join(workdir, "out", f"{name}.pte")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    in_bytes = sum(os.path.getsize(f) for f in files)
    floor = cat_floor(files, repeat, log)
    walls, rss, anon, filerss, cpu, cpu_s, loads, summary = [], [], [], [], [], [], [], ""
    for i in range(repeat):
        if os.path.exists(out):
            os.remove(out)
        subprocess.run("cat " + " ".join(f"'{f}'" for f in files) + " > /dev/null", shell=True, check=True)
        w, r, text, pk = timed([ARGS.pte, "export", "-c", ckpt] + params + ["-o", out] + extra,
                               log, sample=True)
        walls.append(w)
        rss.append(r)
        anon.append(pk["anon"])
        filerss.append(pk["file"])
        cpu.append(pk["cpu"])
        cpu_s.append(sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", text)))
        load = open("/proc/loadavg").read().split()[0]
        loads.append(float(load))
        summary = next((l.strip() for l in text.splitlines() if l.lstrip().startswith("wrote ")), "")
        print(f"  {name} run {i + 1}: {w:.2f} s, peak RSS {r / 1e6:.0f} MB "
              f"(sampled peaks: anon {pk['anon'] / 1e6:.0f} MB, file {pk['file'] / 1e6:.0f} MB), "
              f"CPU {pk['cpu']}%, 1-min load after {load}",
              flush=True)
    wall = statistics.median(walls)
    row = {
        "case": name, "input": os.path.basename(ckpt), "in_gb": in_bytes / 1e9,
        "wall": wall, "walls": walls, "gbps": in_bytes / 1e9 / wall,
        "rss_mb": statistics.median(rss) / 1e6, "rss_all": [x / 1e6 for x in rss],
        "cpu": statistics.median(cpu), "cpu_s": statistics.median(cpu_s), "load": statistics.median(loads), "anon_mb": statistics.median(anon) / 1e6, "file_mb": statistics.median(filerss) / 1e6,
        "out_mb": os.path.getsize(out) / 1e6, "cat": floor, "ratio": wall / floor,
        "pte_summary": summary, "out": out,
    }
    print(f"  {name}: median {wall:.2f} s ({row['gbps']:.2f} GB/s), cat floor {floor:.3f} s, "
          f"ratio {row['ratio']:.1f}x, RSS {row['rss_mb']:.0f} MB (anon {row['anon_mb']:.0f}, "
          f"file {row['file_mb']:.0f}), out {row['out_mb']:.0f} MB",
          flush=True)
    return row


def table(rows):
    lines = ["| case | input GB | wall s (median; runs) | input GB/s | peak RSS MB "
             "(anon / file) | output MB | cat floor s | wall / floor | CPU % | CPU s | load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        runs = ", ".join(f"{w:.1f}" for w in r["walls"])
        lines.append(f"| {r['case']} | {r['in_gb']:.2f} | {r['wall']:.2f} ({runs}) | "
                     f"{r['gbps']:.3f} | {r['rss_mb']:.0f} ({r['anon_mb']:.0f} / {r['file_mb']:.0f}) | "
                     f"{r['out_mb']:.0f} | {r['cat']:.2f} | {r['ratio']:.1f}x | {r['cpu']:.0f} | {r['cpu_s']:.2f} | {r['load']:.1f} |")
    return "\n".join(lines)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/pte-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pte", default=os.path.join(REPO, "build/exporter/cli/pte"))
    ap.add_argument("--layer-variants", default="4",
                    help="extra layer counts exported from .pth (comma list; '' for none)")
    ap.add_argument("--no-threads1", action="store_true", help="skip the --threads 1 case")
    ap.add_argument("--8b", dest="with_8b", action="store_true",
                    help="also the Llama 3 8B shape (16 GB safetensors; needs ~21 GB free disk)")
    ap.add_argument("--only-8b", action="store_true", help="only the 8B case")
    ARGS = a = ap.parse_args()
    a.workdir = os.path.abspath(a.workdir)
    if os.path.commonpath([a.workdir, REPO]) == REPO:
        sys.exit(f"--workdir {a.workdir} is inside the repository; use a folder outside it")
    if not os.access(a.pte, os.X_OK):
        sys.exit(f"{a.pte} not found: build first (cmake --build build -j2)")
    os.makedirs(a.workdir, exist_ok=True)
    # Run a private copy: others may rebuild build/ while the benchmark runs.
    src_mtime = datetime.datetime.fromtimestamp(os.path.getmtime(a.pte)).isoformat(timespec="seconds")
    snap = os.path.join(a.workdir, "bin", "pte")
    os.makedirs(os.path.dirname(snap), exist_ok=True)
    shutil.copy2(a.pte, snap)
    a.pte = snap
    log = open(os.path.join(a.workdir, "bench.log"), "a")
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 1e6
    try:
        commit = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).stdout.strip()
    except Exception:
        commit = "?"
    version = sh([a.pte, "--version"]).stdout.strip()
    env = (f"{stamp}; {version} (HEAD {commit}, binary built {src_mtime}); {os.cpu_count()} cores ({cpu}); "
           f"{mem:.0f} GB RAM; {platform.platform()}")
    print(env, flush=True)
    log.write(f"\n===== {env}\n")

    print("models:", flush=True)
    cases = []
    if not a.only_8b:
        m16 = make_model(a.workdir, 16, "pth,safetensors,hf", log)
        variants = [int(x) for x in a.layer_variants.split(",") if x.strip()]
        mvar = {n: make_model(a.workdir, n, "pth", log) for n in variants if n != 16}
        cases = [("L16 pth", m16, "pth", []), ("L16 safetensors", m16, "safetensors", []),
                 ("L16 HF folder, 2 shards", m16, "hf", [])]
        if not a.no_threads1:
            cases.append(("L16 pth --threads 1", m16, "pth", ["--threads", "1"]))
        cases += [(f"L{n} pth", d, "pth", []) for n, d in mvar.items()]
    if a.with_8b or a.only_8b:
        cases.append(("8B L32 safetensors", make_model(a.workdir, 32, "safetensors", log, "8b"), "safetensors", []))
    rows = []
    for name, d, fmt, extra in cases:
        print(f"{name}:", flush=True)
        try:
            rows.append(run_case(name.replace(" ", "_").replace("--", ""), d, fmt, extra,
                                 a.workdir, a.repeat, log) | {"case": name})
        except RuntimeError as e:
            print(f"  FAILED: {e}", flush=True)
            log.write(f"FAILED: {e}\n")

    by = {r["case"]: r for r in rows}
    checks = []
    if "L16 pth" in by and "L16 safetensors" in by:
        checks.append("pth vs safetensors outputs equal from the data segment on: "
                      + str(data_segment_equal(by["L16 pth"]["out"], by["L16 safetensors"]["out"])))
    if "L16 pth" in by and "L16 pth --threads 1" in by:
        eq = subprocess.run(["cmp", "-s", by["L16 pth"]["out"],
                             by["L16 pth --threads 1"]["out"]]).returncode == 0
        checks.append(f"--threads 1 output byte-identical to default: {eq}")

    print(f"\n## pte export benchmark ({env})\n")
    print(table(rows))
    for c in checks:
        print(f"\n- {c}")
    for r in rows:
        print(f"\n- {r['case']}: pte says: {r['pte_summary']}")
    with open(os.path.join(a.workdir, "results.json"), "w") as f:
        json.dump({"env": env, "rows": rows, "checks": checks}, f, indent=1)
    log.close()
    return 0 if len(rows) == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
