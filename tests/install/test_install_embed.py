"""Install into a temporary prefix, check the installed tree, then build examples/embed as a
separate CMake project against it (find_package(pte)) and run it on stories260K: its text must
equal `pte run`'s (the installed command) for the same prompt and greedy settings."""
import argparse
import os
import re
import shutil
import subprocess
import sys

PROMPT = "Once upon a time"
MAX_NEW_TOKENS = "40"


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, **kw)
    if p.returncode != 0:
        sys.exit("FAIL: %s exited %d:\n%s%s" % (" ".join(argv), p.returncode, p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode("utf-8", "replace")


def check_headers(prefix, source):
    """No exporter header is installed, and every project header an installed header includes is
    installed too (so nothing of the exporter is reachable from the API)."""
    include = os.path.join(prefix, "include", "pte")
    project_folders = {d for d in os.listdir(source) if os.path.isdir(os.path.join(source, d))} | {"pte"}
    failures = []
    for root, _, files in os.walk(include):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, include)
            if rel.startswith("exporter") or rel.startswith("passes"):
                failures.append("exporter header installed: " + rel)
            with open(path, encoding="utf-8") as f:
                for inc in re.findall(r'^#include "([^"]+)"', f.read(), re.M):
                    if inc.startswith(("exporter/", "passes/")):
                        failures.append("%s includes exporter header %s" % (rel, inc))
                    elif inc.split("/")[0] in project_folders and not (os.path.exists(os.path.join(include, inc)) or
                              os.path.exists(os.path.join(prefix, "include", inc))):
                        failures.append("%s includes %s, which is not installed" % (rel, inc))
    for header in ("status.h", "result.h", "program.h", "generation.h", "generator.h"):
        if not os.path.exists(os.path.join(include, header)):
            failures.append("API header pte/%s not installed" % header)
    for f in ("share/pte/pte.fbs", "share/pte/piece_graph.proto", "share/pte/FORMAT.md", "bin/pte",
              "lib/cmake/pte/pteConfig.cmake", "lib/pkgconfig/pte.pc"):
        if not os.path.exists(os.path.join(prefix, f)):
            failures.append(f + " not installed")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    prefix = os.path.join(args.workdir, "prefix")
    os.makedirs(args.workdir)
    run(["cmake", "--install", args.build, "--prefix", prefix])
    failures = check_headers(prefix, args.source)

    # pkg-config names only libraries that are installed.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    libs = run(["pkg-config", "--libs", "pte"], env=env).split()
    for lib in (l[2:] for l in libs if l.startswith("-lpte")):
        if not os.path.exists(os.path.join(prefix, "lib", "lib%s.a" % lib)):
            failures.append("pte.pc names -l%s, not installed" % lib)

    embed_build = os.path.join(args.workdir, "embed-build")
    configure = ["cmake", "-S", os.path.join(args.source, "examples", "embed"), "-B", embed_build,
                 "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"]
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    run(configure)
    run(["cmake", "--build", embed_build])

    example = os.path.join(args.source, "examples", "stories260K")
    pte = os.path.join(prefix, "bin", "pte")
    model = os.path.join(args.workdir, "stories260K.pte")
    run([pte, "export", "-c", os.path.join(example, "model.pth"), "-p", os.path.join(example, "params.json"),
         "--tokenizer", os.path.join(example, "tok512.bin"), "--max_context_len", "128", "-o", model])
    expected = run([pte, "run", "-m", model, "--prompt", PROMPT, "--max_new_tokens", MAX_NEW_TOKENS])
    got = run([os.path.join(embed_build, "embed"), model, PROMPT, MAX_NEW_TOKENS])
    if got != expected:
        failures.append("embed printed %r, pte run %r" % (got, expected))
    if not got.startswith(PROMPT) or len(got) < len(PROMPT) + 40:
        failures.append("embed printed no continuation: %r" % got)
    # The callback as the stop condition: stopping after 7 tokens gives pte run's 7-token text.
    short = run([os.path.join(embed_build, "embed"), model, PROMPT, MAX_NEW_TOKENS, "--stop_after", "7"])
    short_expected = run([pte, "run", "-m", model, "--prompt", PROMPT, "--max_new_tokens", "7"])
    if short != short_expected:
        failures.append("embed --stop_after 7 printed %r, pte run --max_new_tokens 7 %r" % (short, short_expected))
    # Errors come back as a Status: one line, exit 1.
    p = subprocess.run([os.path.join(embed_build, "embed"), os.path.join(example, "params.json"), PROMPT],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 1 or not p.stderr.decode().startswith("embed: invalid_input: "):
        failures.append("embed on a non-.pte file: exit %d, stderr %r" % (p.returncode, p.stderr.decode()))

    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("ok: installed %s, embed output equals pte run: %r" % (prefix, got.strip()))


if __name__ == "__main__":
    main()
