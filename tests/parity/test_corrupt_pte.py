#!/usr/bin/python3
"""Corrupted .pte files are rejected cleanly: exit code 1 and an "error" line, never a crash.

    /usr/bin/python3 tests/parity/test_corrupt_pte.py --pte build/exporter/cli/pte \
        --workdir /tmp/parity_corrupt [--fixtures DIR] [--flips 50]

Takes a good export of a fixture and writes variants (FORMAT.md §1):
  - truncated at several lengths; header fields changed (magic, header_size, format_version,
    flatbuffer_offset/size, segment_offset/size, file_size); blob table entries pointing past the
    end of the segment, misaligned, overflowing, or renamed (found with a small FlatBuffers
    walker): `pte inspect` and `pte run` (on both executors) must exit 1 with "error" on stderr;
  - flatbuffer offsets and lengths out of range with the container digest recomputed (what only
    the FlatBuffers verifier catches): exit 1;
  - seeded random byte changes inside the flatbuffer region (also with the digest recomputed), inside the piece payloads (the
    serialized graphs, found through methods -> pieces -> payload) and anywhere in the data
    segment: exit 0 or 1 (1 with "error" on stderr), never a signal, another code or a timeout.
The reader written from the schema alone (readers/python/pte_reader) gets every variant too: it
must raise its FormatError where pte must exit 1, and never raise anything else.
"""
import os
import random
import struct
import sys

import parity_util as pu
import schema_path  # noqa: F401
import pte_reader

HEADER = struct.Struct("<8sIIQQQQQQ")  # magic, header_size, version, fb_off, fb_size, seg_off, seg_size, file_size, reserved
FIELDS = ["magic", "header_size", "format_version", "flatbuffer_offset", "flatbuffer_size",
          "segment_offset", "segment_size", "file_size", "reserved"]
FIELD_OFFSET = {"magic": 0, "header_size": 8, "format_version": 12, "flatbuffer_offset": 16,
                "flatbuffer_size": 24, "segment_offset": 32, "segment_size": 40, "file_size": 48}
TIMEOUT = 30


# --- a minimal FlatBuffers walker (enough to find the blob table of pte.fbs) ------------------

class FB:
    def __init__(self, data, base):
        self.d, self.base = data, base  # base: file offset of the flatbuffer

    def u32(self, p):
        return struct.unpack_from("<I", self.d, self.base + p)[0]

    def root(self):
        return self.u32(0)

    def field(self, table, index):
        """Position (relative to the flatbuffer) of field `index` of `table`, or None if absent."""
        vt = table - struct.unpack_from("<i", self.d, self.base + table)[0]
        vsize = struct.unpack_from("<H", self.d, self.base + vt)[0]
        if 4 + 2 * index >= vsize:
            return None
        o = struct.unpack_from("<H", self.d, self.base + vt + 4 + 2 * index)[0]
        return table + o if o else None

    def vector_tables(self, pos):
        vec = pos + self.u32(pos)
        n = self.u32(vec)
        return [vec + 4 + 4 * i + self.u32(vec + 4 + 4 * i) for i in range(n)]

    def string_pos(self, pos):
        s = pos + self.u32(pos)
        return s + 4, self.u32(s)


PROGRAM_BLOBS = 3                                    # Program: format_version, exporter_version, methods, blobs, metadata
BLOB_KEY, BLOB_OFFSET, BLOB_SIZE, BLOB_ALIGN = 0, 1, 2, 3  # Blob: key, offset, size, alignment, sha256


def blob_entries(data, hdr):
    fb = FB(data, hdr["flatbuffer_offset"])
    blobs_field = fb.field(fb.root(), PROGRAM_BLOBS)
    out = []
    for t in fb.vector_tables(blobs_field):
        e = {"table": t}
        for name, idx in (("key", BLOB_KEY), ("offset", BLOB_OFFSET), ("size", BLOB_SIZE), ("alignment", BLOB_ALIGN)):
            e[name + "_pos"] = fb.field(t, idx)
        kp, kn = fb.string_pos(e["key_pos"])
        e["key"] = data[fb.base + kp: fb.base + kp + kn].decode()
        e["key_file_pos"] = fb.base + kp
        e["offset"] = struct.unpack_from("<Q", data, fb.base + e["offset_pos"])[0] if e["offset_pos"] else 0
        e["size"] = struct.unpack_from("<Q", data, fb.base + e["size_pos"])[0] if e["size_pos"] else 0
        e["alignment"] = struct.unpack_from("<I", data, fb.base + e["alignment_pos"])[0] if e["alignment_pos"] else 0
        out.append(e)
    return fb, out


PROGRAM_METHODS, METHOD_PIECES, PIECE_PAYLOAD = 2, 4, 1  # Program.methods, Method.pieces, Piece.payload


def payload_keys(data, hdr):
    """Blob keys of every piece payload (serialized piece graphs), walking methods -> pieces."""
    fb = FB(data, hdr["flatbuffer_offset"])
    keys = set()
    for m in fb.vector_tables(fb.field(fb.root(), PROGRAM_METHODS)):
        for pc in fb.vector_tables(fb.field(m, METHOD_PIECES)):
            kp, kn = fb.string_pos(fb.field(pc, PIECE_PAYLOAD))
            keys.add(data[fb.base + kp: fb.base + kp + kn].decode())
    return keys


def put(data, pos, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, pos, value)
    return bytes(b)


def header_variants(data, h):
    size = len(data)
    fo, fs, so, ss = h["flatbuffer_offset"], h["flatbuffer_size"], h["segment_offset"], h["segment_size"]
    big = 1 << 62
    changes = [
        ("magic", "8s", b"XTEPACK\0"),
        ("header_size", "<I", 63), ("header_size", "<I", 128),
        ("format_version", "<I", 0), ("format_version", "<I", 1), ("format_version", "<I", 3),
        ("flatbuffer_offset", "<Q", 0), ("flatbuffer_offset", "<Q", 63), ("flatbuffer_offset", "<Q", fo + 1),
        ("flatbuffer_offset", "<Q", size), ("flatbuffer_offset", "<Q", (1 << 64) - 8),
        ("flatbuffer_size", "<Q", 0), ("flatbuffer_size", "<Q", size), ("flatbuffer_size", "<Q", big),
        ("flatbuffer_size", "<Q", (1 << 64) - 1),
        ("segment_offset", "<Q", 0), ("segment_offset", "<Q", so + 1), ("segment_offset", "<Q", so + 4096),
        ("segment_offset", "<Q", (1 << 64) - 4096),
        ("segment_size", "<Q", 0), ("segment_size", "<Q", ss + 1), ("segment_size", "<Q", big),
        ("segment_size", "<Q", (1 << 64) - 1),
        ("file_size", "<Q", 0), ("file_size", "<Q", size - 1), ("file_size", "<Q", size + 1),
        ("file_size", "<Q", (1 << 64) - 1),
    ]
    out = []
    for field, fmt, value in changes:
        if fmt == "8s":
            label = "%s=%r" % (field, value)
        else:
            label = "%s=%d (was %d)" % (field, value, h[field])
        out.append((label, put(data, FIELD_OFFSET[field], fmt, value)))
    return out


def blob_variants(data, h):
    fb, blobs = blob_entries(data, h)
    ss = h["segment_size"]
    out = []
    with_offset = [e for e in blobs if e["offset_pos"] and e["offset"] > 0]
    with_size = [e for e in blobs if e["size_pos"] and e["size"] > 0]
    if with_offset:
        e = max(with_offset, key=lambda x: x["size"])
        past = (ss + 128 + 127) // 128 * 128
        p = fb.base + e["offset_pos"]
        out.append(("blob %s offset %d -> %d (past the segment end %d)" % (e["key"], e["offset"], past, ss),
                    put(data, p, "<Q", past)))
        if e["size"] > 128:
            end = (ss - 128) // 128 * 128
            out.append(("blob %s offset %d -> %d with size %d (overruns the segment end %d)"
                        % (e["key"], e["offset"], end, e["size"], ss), put(data, p, "<Q", end)))
        out.append(("blob %s offset %d -> %d (misaligned)" % (e["key"], e["offset"], e["offset"] + 1),
                    put(data, p, "<Q", e["offset"] + 1)))
        out.append(("blob %s offset -> 2^64-128 (offset+size overflows)" % e["key"],
                    put(data, p, "<Q", (1 << 64) - 128)))
    else:
        print("note: no blob stores a non-zero offset field; offset variants skipped")
    if with_size:
        e = with_size[0]
        p = fb.base + e["size_pos"]
        out.append(("blob %s size %d -> %d (past the segment end)" % (e["key"], e["size"], ss + 1),
                    put(data, p, "<Q", ss + 1)))
        out.append(("blob %s size -> 2^64-1" % e["key"], put(data, p, "<Q", (1 << 64) - 1)))
    if blobs:
        # rename every blob key (same length): whatever a piece or metadata names is then missing
        b = bytearray(data)
        for e in blobs:
            if e["key"]:
                b[e["key_file_pos"]] = ord("~") if e["key"][0] != "~" else ord("}")
        out.append(("every blob key renamed (first character -> '~')", bytes(b)))
    return out, blobs


def redigest(data, h):
    """The container digest recomputed, so that only the FlatBuffers checks can catch a change."""
    import hashlib
    d = hashlib.sha256(data[:64] + data[96:h["segment_offset"]]).digest()
    return data[:64] + d + data[96:]


def verifier_variants(data, h):
    """Flatbuffer offsets and lengths out of range, with a valid digest."""
    fb, blobs = blob_entries(data, h)
    base = fb.base
    vec = fb.field(fb.root(), PROGRAM_BLOBS)
    vec += fb.u32(vec)
    key = blobs[0]["key_file_pos"] - 4
    changes = [("root offset -> 2^31", base, 1 << 31),
               ("blob table length -> 2^30", base + vec, 1 << 30),
               ("first blob key length -> 2^20", key, 1 << 20)]
    return [("%s (digest recomputed)" % label, redigest(put(data, pos, "<I", value), h)) for label, pos, value in changes]


def flip_variants(data, lo, hi, count, rng, label):
    out = []
    for _ in range(count):
        pos = rng.randrange(lo, hi)
        b = bytearray(data)
        b[pos] ^= rng.randrange(1, 256)
        out.append(("%s byte %d: 0x%02x -> 0x%02x" % (label, pos, data[pos], b[pos]), bytes(b)))
    return out


COMMANDS = ("inspect", "run", "run reference", "schema reader")


class ReaderResult:
    """pte_reader.PteFile on a file, in the shape of a command result for verdict()."""

    def __init__(self, path):
        self.timed_out, self.stderr = False, ""
        try:
            pte_reader.PteFile(path)
            self.rc = 0
        except pte_reader.FormatError as e:
            self.rc, self.stderr = 1, "error: %s" % e
        except Exception as e:  # anything else is a reader bug
            self.rc, self.stderr = 2, "%s: %s" % (type(e).__name__, e)

    def describe(self):
        return "schema reader: rc %d %s" % (self.rc, self.stderr)


def run_all(pte, path):
    """inspect, and run on each executor (fast, the default, and the reference oracle)."""
    run = [pte, "run", "-m", path, "--prompt_ids", "1,2", "--max_new_tokens", "2"]
    return [pu.run([pte, "inspect", path], timeout=TIMEOUT, check=False),
            pu.run(run, timeout=TIMEOUT, check=False),
            pu.run(run + ["--executor", "reference"], timeout=TIMEOUT, check=False),
            ReaderResult(path)]


def verdict(r, allow_success):
    """'' if acceptable, else what is wrong."""
    if r.timed_out:
        return "timed out after %d s" % TIMEOUT
    if r.rc is not None and r.rc < 0:
        return "killed by signal %d" % -r.rc
    if r.rc == 0:
        return "" if allow_success else "exit code 0 (accepted a corrupt file)"
    if r.rc != 1:
        return "exit code %d (expected 1)%s" % (r.rc, ": " + r.stderr.strip()[:300] if r.stderr else "")
    if "error" not in r.stderr.lower():
        return "exit code 1 but no 'error' on stderr (stderr: %r)" % r.stderr.strip()[:300]
    return ""


def main():
    ap = pu.parser(__doc__.split("\n")[0], fixtures=True)
    ap.add_argument("--flips", type=int, default=50, help="random changes inside the flatbuffer")
    ap.add_argument("--redigested_flips", type=int, default=20,
                    help="random changes inside the flatbuffer with the container digest recomputed")
    ap.add_argument("--segment_flips", type=int, default=10, help="random changes anywhere in the data segment")
    ap.add_argument("--payload_flips", type=int, default=40,
                    help="random changes inside the piece payloads (serialized graphs)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    pu.setup(args)
    fx = {f["name"]: f for f in pu.load_fixtures(args)}["gqa_fp32"]
    good = os.path.join(args.workdir, "good.pte")
    pu.export(args.pte, fx["checkpoint"], fx["params"], good,
              ["-E", "none", "--linear_quantize", "none", "--max_context_len", "64", "--input_len", "8"])
    with open(good, "rb") as f:
        data = f.read()
    h = dict(zip(FIELDS, HEADER.unpack_from(data, 0)))
    print("good file: %d bytes; flatbuffer [%d, +%d), segment [%d, +%d)" % (
        len(data), h["flatbuffer_offset"], h["flatbuffer_size"], h["segment_offset"], h["segment_size"]))
    for r in run_all(args.pte, good):
        if r.rc != 0:
            print("FAIL: the uncorrupted file is not accepted: " + r.describe())
            return 1

    cases = []  # (group, label, bytes, allow_success)
    lengths = sorted({0, 1, 8, 63, 64, 65, h["flatbuffer_offset"] + h["flatbuffer_size"] // 2,
                      h["flatbuffer_offset"] + h["flatbuffer_size"], h["segment_offset"],
                      h["segment_offset"] + h["segment_size"] // 2, len(data) - 1})
    cases += [("truncated", "truncated to %d bytes" % n, data[:n], False) for n in lengths if n < len(data)]
    cases += [("header", label, b, False) for label, b in header_variants(data, h)]
    bv, blobs = blob_variants(data, h)
    print("blob table: %d entries" % len(blobs))
    cases += [("blob table", label, b, False) for label, b in bv]
    cases += [("verifier", label, b, False) for label, b in verifier_variants(data, h)]
    rng = random.Random(args.seed)
    fo, fs = h["flatbuffer_offset"], h["flatbuffer_size"]
    cases += [("flatbuffer flip", l, b, True) for l, b in flip_variants(data, fo, fo + fs, args.flips, rng, "flatbuffer")]
    cases += [("redigested flip", l + " (digest recomputed)", redigest(b, h), True)
              for l, b in flip_variants(data, fo, fo + fs, args.redigested_flips, rng, "flatbuffer")]
    so, ss = h["segment_offset"], h["segment_size"]
    pkeys = payload_keys(data, h)
    ranges = [(so + e["offset"], so + e["offset"] + e["size"]) for e in blobs if e["key"] in pkeys and e["size"]]
    print("piece payloads: %s" % ", ".join(sorted(pkeys)))
    if ranges:
        total = sum(b - a for a, b in ranges)
        for k in range(args.payload_flips):
            # pick a byte uniformly over all payload bytes
            x = rng.randrange(total)
            for a, b in ranges:
                if x < b - a:
                    break
                x -= b - a
            cases += [("payload flip", l, b_, True) for l, b_ in flip_variants(data, a + x, a + x + 1, 1, rng, "payload")]
    if ss:
        cases += [("segment flip", l, b, True)
                  for l, b in flip_variants(data, so, so + ss, args.segment_flips, rng, "segment")]

    path = os.path.join(args.workdir, "corrupt.pte")
    for old in os.listdir(args.workdir):  # failing cases kept by an earlier run
        if old.startswith("failing_case_"):
            os.remove(os.path.join(args.workdir, old))
    stats, failures = {}, []
    for case_no, (group, label, blob, allow_success) in enumerate(cases):
        with open(path, "wb") as f:
            f.write(blob)
        results = run_all(args.pte, path)
        st = stats.setdefault(group, {"cases": 0, "rejected": 0, "accepted": 0, "bad": 0})
        st["cases"] += 1
        keep = None
        for cmd, r in zip(COMMANDS, results):
            why = verdict(r, allow_success)
            if why:
                st["bad"] += 1
                if keep is None:
                    keep = os.path.join(args.workdir, "failing_case_%d.pte" % case_no)
                    with open(keep, "wb") as f:
                        f.write(blob)
                failures.append("%s / %s: pte %s: %s [kept as %s]" % (group, label, cmd, why, keep))
            elif r.rc == 0:
                st["accepted"] += 1
            else:
                st["rejected"] += 1
            if args.verbose:
                print("  %-16s %-60s %-7s rc=%s %s" % (group, label[:60], cmd, r.rc,
                                                       r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else ""))
    print("\n%-16s %6s %10s %10s %6s" % ("group", "cases", "exit 1", "exit 0", "bad"))
    for g, st in stats.items():
        print("%-16s %6d %10d %10d %6d" % (g, st["cases"], st["rejected"], st["accepted"], st["bad"]))
    print("(exit 1 / exit 0 / bad count command runs: inspect, run, run --executor reference and the schema "
          "reader for each case)")
    return pu.finish(failures)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
