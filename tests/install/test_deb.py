"""cpack -G DEB builds a package whose files are exactly the install manifest and whose Depends
name the Debian packages of the shared libraries the installed binaries link."""
import argparse
import os
import shutil
import subprocess
import sys


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, **kw)
    if p.returncode != 0:
        sys.exit("FAIL: %s exited %d:\n%s%s" % (" ".join(argv), p.returncode, p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    prefix = os.path.join(args.workdir, "prefix")
    run(["cmake", "--install", args.build, "--prefix", prefix])
    with open(os.path.join(args.build, "install_manifest.txt")) as f:
        manifest = sorted(os.path.relpath(line.strip(), prefix) for line in f if line.strip())

    out = os.path.join(args.workdir, "deb")
    run(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(args.build, "CPackConfig.cmake")])
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    if len(debs) != 1:
        sys.exit("FAIL: cpack made %s, expected one .deb" % debs)
    deb = os.path.join(out, debs[0])
    listing = run(["dpkg-deb", "-c", deb]).splitlines()
    # "-rw-r--r-- root/root 1234 2026-01-01 00:00 ./usr/bin/pte": files and links, not folders.
    packed = sorted(line.split(None, 5)[5].split(" -> ")[0][len("./usr/"):]
                    for line in listing if not line.startswith("d"))
    failures = []
    if packed != manifest:
        failures.append("package files differ from the install manifest: only in the package %s, only installed %s" %
                        (sorted(set(packed) - set(manifest)), sorted(set(manifest) - set(packed))))
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).strip()
    for package in ("libc6", "libstdc++6", "libprotobuf", "libssl", "libzip", "libpcre2-8", "libsentencepiece"):
        if package not in depends:
            failures.append("Depends %r lacks %s" % (depends, package))
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("ok: %s: %d files as installed; Depends: %s" % (debs[0], len(packed), depends))


if __name__ == "__main__":
    main()
