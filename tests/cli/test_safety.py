"""Nothing lost, nothing crashes: what a careless or hostile user can do to pte.

Usage: test_safety.py --pte PATH --workdir DIR --example DIR

Every refusal must exit 1 with one `pte: error:` line naming the problem, and leave every input
(compared by SHA-256) and every folder listing exactly as before. Killed exports (SIGINT, SIGTERM,
SIGHUP, SIGKILL) and `ulimit -f` must leave no file and the previous output intact; so must a
killed `pte verify` in its $TMPDIR.
"""
import json
import os
import resource
import signal
import stat
import struct
import subprocess
import sys
import time

import cli_test

import numpy as np

check = cli_test.Checks()



def snapshot(*folders):
    """{path: sha256 or kind} of every entry in the folders (not following symlinks)."""
    out = {}
    for d in folders:
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[p] = "link->" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                out[p] = cli_test.sha256_of(p)
            else:
                out[p] = "kind %o" % stat.S_IFMT(st.st_mode)
    return out


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def expect_refusal(name, cmd, must_contain, folders):
    before = snapshot(*folders)
    try:
        r = run(cmd, timeout=30)
    except subprocess.TimeoutExpired:
        check(name + " does not hang", False, "timed out")
        return
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(name + " exits 1", r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr))
    check(name + " prints one error line", len(lines) == 1 and lines[0].startswith("pte: error: "), repr(r.stderr))
    check(name + " names the problem", all(s in r.stderr for s in must_contain), "%r lacks %r" % (r.stderr, must_contain))
    check(name + " touches nothing", snapshot(*folders) == before, "folder contents changed")


def write_big_checkpoint(folder):
    """A bf16 Llama of ~100M parameters, so that an export takes a while (killed in the middle)."""
    dim, hidden, layers, vocab = 1024, 2816, 8, 16000
    kv_dim = 4 * (dim // 16)
    rng = np.random.default_rng(7)

    def bf16(shape):
        x = (rng.standard_normal(int(np.prod(shape)), dtype=np.float32) * 0.02).view(np.uint32)
        return (x >> 16).astype(np.uint16).tobytes()

    tensors = [("tok_embeddings.weight", "BF16", (vocab, dim), bf16((vocab, dim))),
               ("norm.weight", "BF16", (dim,), bf16((dim,))),
               ("output.weight", "BF16", (vocab, dim), bf16((vocab, dim)))]
    for l in range(layers):
        p = "layers.%d." % l
        for n, rows in (("wq", dim), ("wk", kv_dim), ("wv", kv_dim), ("wo", dim)):
            tensors.append((p + "attention.%s.weight" % n, "BF16", (rows, dim), bf16((rows, dim))))
        tensors.append((p + "feed_forward.w1.weight", "BF16", (hidden, dim), bf16((hidden, dim))))
        tensors.append((p + "feed_forward.w3.weight", "BF16", (hidden, dim), bf16((hidden, dim))))
        tensors.append((p + "feed_forward.w2.weight", "BF16", (dim, hidden), bf16((dim, hidden))))
        tensors.append((p + "attention_norm.weight", "BF16", (dim,), bf16((dim,))))
        tensors.append((p + "ffn_norm.weight", "BF16", (dim,), bf16((dim,))))
    ckpt = os.path.join(folder, "big.safetensors")
    cli_test.write_safetensors(ckpt, tensors)
    params = os.path.join(folder, "big_params.json")
    with open(params, "w") as f:
        json.dump({"dim": dim, "n_layers": layers, "n_heads": 16, "n_kv_heads": 4, "vocab_size": vocab,
                   "hidden_dim": hidden, "norm_eps": 1e-5}, f)
    return ckpt, params


def wait_for_open_file_in(proc, folder, timeout=60):
    """Waits until `proc` has a file open in `folder` (the output being written); True if seen."""
    fd_dir = "/proc/%d/fd" % proc.pid
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                if target.startswith(folder + "/"):
                    return True
        except OSError:
            pass
        time.sleep(0.005)
    return False


def killed_exports(pte, work, example):
    ckpt, params = write_big_checkpoint(work)
    outdir = os.path.join(work, "killed")
    os.makedirs(outdir)
    out = os.path.join(outdir, "m.pte")
    r = run([pte, "export", "-c", os.path.join(example, "model.pth"), "-p", os.path.join(example, "params.json"),
             "-o", out])
    check("previous output written", r.returncode == 0, r.stderr)
    previous = cli_test.sha256_of(out)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL):
        name = "export killed by %s" % signal.Signals(sig).name
        proc = subprocess.Popen([pte, "export", "-c", ckpt, "-p", params, "-o", out, "--threads", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen = wait_for_open_file_in(proc, outdir)
        check(name + ": killed while writing", seen and proc.poll() is None, "the export ended before the signal")
        proc.send_signal(sig)
        proc.wait(timeout=60)
        proc.stderr.close()
        check(name + ": ended by the signal", proc.returncode == -sig, "exit %r" % proc.returncode)
        check(name + ": leaves no file", sorted(os.listdir(outdir)) == ["m.pte"], repr(os.listdir(outdir)))
        check(name + ": previous output intact", cli_test.sha256_of(out) == previous)

    def small_file_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    r = subprocess.run([pte, "export", "-c", ckpt, "-p", params, "-o", out], capture_output=True, text=True,
                       timeout=120, preexec_fn=small_file_limit)
    check("ulimit -f: exits 1 with an error", r.returncode == 1 and "pte: error:" in r.stderr and "File too large" in r.stderr,
          "exit %d, %r" % (r.returncode, r.stderr[-300:]))
    check("ulimit -f: leaves no file", sorted(os.listdir(outdir)) == ["m.pte"], repr(os.listdir(outdir)))
    check("ulimit -f: previous output intact", cli_test.sha256_of(out) == previous)

    # pte verify's fp32 reference is assembled in memory from the checkpoint read in place: verify
    # opens no file in $TMPDIR or its working folder, and killing it leaves nothing and changes no input.
    tmp = os.path.join(work, "verify_tmp")
    os.makedirs(tmp)
    big = os.path.join(work, "big.pte")
    r = run([pte, "export", "-c", ckpt, "-p", params, "-o", big, "--max_context_len", "64", "--input_len", "8"])
    check("big export for verify", r.returncode == 0, r.stderr)
    before = cli_test.sha256_of(ckpt)
    verify = [pte, "verify", "-m", big, "-c", ckpt, "-p", params, "--threads", "1"]
    env = dict(os.environ, TMPDIR=tmp)
    proc = subprocess.Popen(verify, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    seen = wait_for_open_file_in(proc, tmp, timeout=120)
    check("verify opens no file in $TMPDIR or its working folder", not seen and proc.wait(timeout=120) == 0)
    proc = subprocess.Popen(verify, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(0.3)
    proc.kill()
    proc.wait(timeout=60)
    check("killed verify leaves nothing in $TMPDIR", os.listdir(tmp) == [], repr(os.listdir(tmp)))
    check("killed verify leaves the checkpoint as it was", cli_test.sha256_of(ckpt) == before)
    os.remove(big)
    os.remove(ckpt)


def output_paths(pte, work, example):
    inputs = os.path.join(work, "inputs")
    outdir = os.path.join(work, "outputs")
    os.makedirs(inputs)
    os.makedirs(outdir)
    ckpt = os.path.join(inputs, "m.pth")
    params = os.path.join(inputs, "params.json")
    for src, dst in ((os.path.join(example, "model.pth"), ckpt), (os.path.join(example, "params.json"), params)):
        with open(src, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
    base = [pte, "export", "-c", ckpt, "-p", params]
    folders = [inputs, outdir]
    expect_refusal("-o the checkpoint", base + ["-o", ckpt], ["m.pth", "same file as the input"], folders)
    expect_refusal("-o params.json", base + ["-o", params], ["params.json", "same file as the input"], folders)
    os.symlink(ckpt, os.path.join(outdir, "link.pte"))
    expect_refusal("-o a symlink to the checkpoint", base + ["-o", os.path.join(outdir, "link.pte")],
                   ["link.pte", "same file as the input " + ckpt], folders)
    os.link(ckpt, os.path.join(outdir, "hard.pte"))
    expect_refusal("-o a hard link to the checkpoint", base + ["-o", os.path.join(outdir, "hard.pte")],
                   ["hard.pte", "same file as the input"], folders)
    expect_refusal("-o /dev/null", base + ["-o", "/dev/null"], ["/dev/null", "character device"], folders)
    check("/dev/null is still a device", stat.S_ISCHR(os.stat("/dev/null").st_mode))
    expect_refusal("-o a folder", base + ["-o", outdir], ["a directory"], folders)
    fifo = os.path.join(outdir, "fifo.pte")
    os.mkfifo(fifo)
    expect_refusal("-o a FIFO", base + ["-o", fifo], ["fifo.pte", "a FIFO"], folders)
    os.symlink(os.path.join(outdir, "nowhere.pte"), os.path.join(outdir, "dangling.pte"))
    expect_refusal("-o a dangling symlink", base + ["-o", os.path.join(outdir, "dangling.pte")],
                   ["dangling.pte", "symlink to a missing file"], folders)
    expect_refusal("-o in a missing folder", base + ["-o", os.path.join(work, "nope", "m.pte")],
                   ["does not exist"], folders)
    expect_refusal("-c a FIFO", [pte, "export", "-c", fifo, "-p", params, "-o", os.path.join(outdir, "x.pte")],
                   ["fifo.pte", "expected a regular file, found a FIFO"], folders)
    expect_refusal("-p a FIFO", [pte, "export", "-c", ckpt, "-p", fifo, "-o", os.path.join(outdir, "x.pte")],
                   ["fifo.pte", "expected a regular file, found a FIFO"], folders)

    # A symlink to a regular file is written through: the link stays, its target becomes the .pte.
    target = os.path.join(outdir, "target.pte")
    with open(target, "w") as f:
        f.write("old")
    link = os.path.join(outdir, "through.pte")
    os.symlink("target.pte", link)
    r = run(base + ["-o", link])
    check("-o a symlink to a file: export succeeds", r.returncode == 0, r.stderr)
    check("-o a symlink to a file: the link stays", os.path.islink(link) and os.readlink(link) == "target.pte")
    r = run([pte, "inspect", target])
    check("-o a symlink to a file: the target is the .pte", r.returncode == 0, r.stderr)

    # Flag bounds: every file pte writes is one pte can run.
    out = os.path.join(outdir, "bounds.pte")
    expect_refusal("--max_context_len 2^31", base + ["-o", out, "--max_context_len", "2147483648"],
                   ["--max_context_len must be between 2 and 1048576, found 2147483648"], folders)
    expect_refusal("--max_context_len 10^7", base + ["-o", out, "--max_context_len", "10000000"],
                   ["--max_context_len must be between"], folders)
    expect_refusal("--input_len 10^6", base + ["-o", out, "--input_len", "1000000", "--max_context_len", "1048576"],
                   ["--input_len must be between 1 and 4096"], folders)
    r = run(base + ["-o", out, "--max_context_len", "65536", "--input_len", "4"])
    check("the largest context of the bounds' order exports", r.returncode == 0, r.stderr)
    r = run([pte, "run", "-m", out, "--prompt_ids", "1,2", "--max_new_tokens", "2"], timeout=300)
    check("... and runs", r.returncode == 0, r.stderr)
    os.remove(out)

    good = os.path.join(outdir, "good.pte")
    r = run(base + ["-o", good])
    check("good export", r.returncode == 0, r.stderr)
    expect_refusal("--prompt_ids ''", [pte, "run", "-m", good, "--prompt_ids", ""],
                   ["--prompt_ids: expected comma-separated token ids, found ''"], folders)
    expect_refusal("--prompt_ids x", [pte, "verify", "-m", good, "-c", ckpt, "-p", params, "--prompt_ids", "x"],
                   ["--prompt_ids: expected comma-separated token ids, found 'x'"], folders)
    return good, ckpt, params, folders


def bad_inputs(pte, work, ckpt, params, folders):
    bad = os.path.join(work, "bad")
    os.makedirs(bad)
    folders = folders + [bad]
    out = os.path.join(work, "outputs", "bad.pte")
    deep = os.path.join(bad, "deep_params.json")
    with open(deep, "w") as f:
        f.write('{"dim": 64, "x": ' + "[" * 100000 + "]" * 100000 + "}")
    expect_refusal("params.json nested 100k deep", [pte, "export", "-c", ckpt, "-p", deep, "-o", out],
                   ["deep_params.json: JSON nested deeper than 64 levels"], folders)
    dup = os.path.join(bad, "dup_params.json")
    with open(dup, "w") as f:
        f.write('{"dim": 64, "n_layers": 5, "n_heads": 8, "dim": 32}')
    expect_refusal("params.json with a repeated key", [pte, "export", "-c", ckpt, "-p", dup, "-o", out],
                   ["dup_params.json: key 'dim' appears twice"], folders)
    st = os.path.join(bad, "deep.safetensors")
    header = b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    with open(st, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
    expect_refusal("safetensors header nested 100k deep", [pte, "export", "-c", st, "-p", params, "-o", out],
                   ["deep.safetensors: header: JSON nested deeper than 64 levels"], folders)
    dup_st = os.path.join(bad, "dup.safetensors")
    h = b'{"norm.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, ' \
        b'"norm.weight": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'
    with open(dup_st, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
    expect_refusal("safetensors with a repeated tensor name", [pte, "export", "-c", dup_st, "-p", params, "-o", out],
                   ["dup.safetensors: header: key 'norm.weight' appears twice"], folders)
    f64 = os.path.join(bad, "f64.safetensors")
    cli_test.write_safetensors(f64, [("tok_embeddings.weight", "F64", (512, 64), b"\0" * (512 * 64 * 8))])
    expect_refusal("float64 checkpoint", [pte, "export", "-c", f64, "-p", params, "-o", out],
                   ["tensor 'tok_embeddings.weight' has dtype F64, which pte does not read"], folders)
    adapter = os.path.join(bad, "adapter_model.safetensors")
    cli_test.write_safetensors(adapter, [("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "F32", (2, 64),
                                 b"\0" * 512)])
    cfg = os.path.join(bad, "adapter_config.json")
    with open(cfg, "w") as f:
        f.write('{"r": ' + "[" * 100000 + "]" * 100000 + ', "lora_alpha": 16, "target_modules": ["q_proj"]}')
    expect_refusal("adapter config nested 100k deep",
                   [pte, "export", "-c", ckpt, "-p", params, "-o", out, "--adapter", "a", adapter, cfg],
                   ["adapter_config.json: JSON nested deeper than 64 levels"], folders)
    expect_refusal("-o the adapter config",
                   [pte, "export", "-c", ckpt, "-p", params, "-o", cfg, "--adapter", "a", adapter, cfg],
                   ["same file as the input"], folders)


def flips(pte, good, count=1000):
    """Single-byte flips anywhere in the file: rejected, or the same tokens as the clean file."""
    cmd = lambda path: [pte, "run", "-m", path, "--prompt_ids", "1,403,407", "--max_new_tokens", "6", "--json"]
    clean = run(cmd(good))
    check("clean file runs", clean.returncode == 0, clean.stderr)
    expected = json.loads(clean.stdout)["tokens"]
    with open(good, "rb") as f:
        data = bytearray(f.read())
    rng = np.random.default_rng(2026)
    path = good + ".flipped"
    rejected = unchanged = bad = 0
    for i in range(count):
        pos = int(rng.integers(len(data)))
        bit = 1 << int(rng.integers(8))
        data[pos] ^= bit
        with open(path, "wb") as f:
            f.write(data)
        data[pos] ^= bit
        r = run(cmd(path), timeout=60)
        if r.returncode == 1 and r.stderr.startswith("pte: error: "):
            rejected += 1
        elif r.returncode == 0 and json.loads(r.stdout)["tokens"] == expected:
            unchanged += 1
        else:
            bad += 1
            print("flip at byte %d (bit %d): exit %d %s" % (pos, bit, r.returncode, r.stderr.strip()[:200]))
    os.remove(path)
    print("flips: %d rejected, %d harmless (padding), %d wrong" % (rejected, unchanged, bad))
    check("%d single-byte flips: none accepted with other tokens, none crashed" % count, bad == 0)


def main():
    a, work = cli_test.arguments()
    good, ckpt, params, folders = output_paths(a.pte, work, a.example)
    bad_inputs(a.pte, work, ckpt, params, folders)
    flips(a.pte, good)
    killed_exports(a.pte, work, a.example)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
