"""python3 -m pte_reader FILE [--json]: validate a .pte and list its methods, blobs and metadata."""
import argparse
import json
import sys

from . import FormatError, PteFile


def main():
    ap = argparse.ArgumentParser(prog="pte_reader", description=__doc__)
    ap.add_argument("file")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no_check_hashes", action="store_true")
    a = ap.parse_args()
    try:
        f = PteFile(a.file, check_hashes=not a.no_check_hashes)
    except (FormatError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    if a.json:
        blobs = [dict(b, sha256=b["sha256"].hex()) for b in f.blobs.values()]
        meta = {k: (v.tolist() if kind == "ints" else v) for k, (kind, v) in f.metadata.items()}
        print(json.dumps(dict(format_version=f.format_version, exporter_version=f.exporter_version,
                              methods=list(f.methods.values()), blobs=blobs, metadata=meta)))
        return 0
    print("%s: format %d, %s, %d bytes" % (a.file, f.format_version, f.exporter_version, len(f.data)))
    for m in f.methods.values():
        print("method %s (%s): %d inputs, %d outputs, %d pieces" % (m["name"], m["role"], len(m["inputs"]),
                                                                   len(m["outputs"]), len(m["pieces"])))
    for b in f.blobs.values():
        print("blob %-60s offset %10d size %10d" % (b["key"], b["offset"], b["size"]))
    for k, (kind, v) in f.metadata.items():
        print("metadata %s: %s" % (k, kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
