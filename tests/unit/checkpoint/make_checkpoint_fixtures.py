"""Writes the checkpoint fixtures the reader tests load, into the directory given as argv[1].

Valid .pth files are written by torch.save itself; malformed ones are derived from them by
editing bytes. Nothing here unpickles a file. Values are small aranges so the C++ tests can
state them literally.
"""
import collections
import os
import struct
import sys
import zipfile

import torch


def tensors():
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd = collections.OrderedDict()
    sd["w"] = w
    sd["h"] = (torch.arange(6, dtype=torch.float32) * 0.25 - 0.5).to(torch.float16).reshape(2, 3)
    sd["b"] = (torch.arange(4, dtype=torch.float32) * 1.5).to(torch.bfloat16)
    sd["t"] = w.t()                    # non-contiguous view of w's storage
    sd["o"] = w.view(-1)[2:8]          # storage offset 2
    sd["s"] = w[1:, 1::2]              # offset 5, strides (4, 2)
    sd["p"] = torch.nn.Parameter(torch.tensor([7.0, 8.0, 9.0]))
    sd["i"] = torch.arange(5, dtype=torch.int64)
    sd["d"] = torch.zeros(2, dtype=torch.float64)  # no pte dtype: skipped with a note
    return sd


def save_main_fixtures(out):
    torch.save(tensors(), os.path.join(out, "tensors.pth"))
    torch.save(tensors(), os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)

    model = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3))
    torch.save({"model": model.state_dict(), "epoch": 3, "args": {"lr": 0.5}},
               os.path.join(out, "nested_model.pth"), pickle_protocol=4)
    torch.save({"state_dict": {"x": torch.tensor([1.0, 2.0], dtype=torch.float16)}, "step": 10},
               os.path.join(out, "nested_state_dict.pth"))
    torch.save({"w": torch.arange(12, dtype=torch.float32).reshape(3, 4)},
               os.path.join(out, "bad_view.pth"))


def read_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info.filename)) for info in z.infolist()]


def rename_prefix(entries, prefix):
    return [(prefix + "/" + name.split("/", 1)[1], data) for name, data in entries]


def write_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)


def write_zip64(path, entries):
    """A stored zip whose every size and offset is given in zip64 records, data 64-aligned."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        name_bytes = name.encode()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        zip64_local = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        header_len = 30 + len(name_bytes) + len(zip64_local) + 4
        pad = (-(offset + header_len)) % 64
        padding = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        extra = zip64_local + padding
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(name_bytes), len(extra))
        out += name_bytes + extra
        assert len(out) % 64 == 0
        out += data
        zip64_central = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(name_bytes), len(zip64_central),
                               0, 0, 0, 0, 0xFFFFFFFF)
        central += name_bytes + zip64_central
    cd_offset = len(out)
    out += central
    zip64_end = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                       len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)
    with zipfile.ZipFile(path) as z:  # our writer must produce what Python's reader accepts
        assert [i.filename for i in z.infolist()] == [n for n, _ in entries]
        assert z.testzip() is None


def derived_zip_fixtures(out):
    entries = read_entries(os.path.join(out, "tensors.pth"))
    # The torch 2.x layout: prefix "archive" and the extra metadata records.
    archive = rename_prefix(entries, "archive")
    archive += [("archive/byteorder", b"little"), ("archive/.data/serialization_id", b"1234"),
                ("archive/.format_version", b"1"), ("archive/.storage_alignment", b"64")]
    write_zip64(os.path.join(out, "zip64.pth"), archive)
    write_zip(os.path.join(out, "deflated.pth"), entries, zipfile.ZIP_DEFLATED)
    write_zip(os.path.join(out, "big_endian.pth"), entries + [("tensors/byteorder", b"big")])

    # Storage "0" (w and its views) cut to 10 of its 12 floats.
    short = [(n, d[:40] if n == "tensors/data/0" else d) for n, d in entries]
    write_zip(os.path.join(out, "short_storage.pth"), short)

    # A pickle that would call posix.system('echo pwned') if it were unpickled.
    evil = b"\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
    write_zip(os.path.join(out, "evil_global.pth"), [("evil/data.pkl", evil), ("evil/version", b"3\n")])

    # bad_view.pth: size (3, 4) of 'w' edited to (5, 4) inside the same 12-element storage.
    bad = read_entries(os.path.join(out, "bad_view.pth"))
    patched = []
    for name, data in bad:
        if name.endswith("data.pkl"):
            pattern = b"K\x03K\x04\x86"
            assert data.count(pattern) == 1
            data = data.replace(pattern, b"K\x05K\x04\x86")
        patched.append((name, data))
    write_zip(os.path.join(out, "bad_view.pth"), patched)

    with open(os.path.join(out, "tensors.pth"), "rb") as f:
        whole = f.read()
    with open(os.path.join(out, "truncated.pth"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    # torch writes zip64 end records too: move the central directory offset 7 bytes on in both
    # end records, then in the plain one only.
    end = whole.rindex(b"PK\x05\x06")
    zip64_end = whole.rindex(b"PK\x06\x06")
    (cd_offset,) = struct.unpack_from("<I", whole, end + 16)
    moved = bytearray(whole)
    struct.pack_into("<I", moved, end + 16, cd_offset + 7)
    with open(os.path.join(out, "mismatched_end_records.pth"), "wb") as f:
        f.write(moved)
    struct.pack_into("<Q", moved, zip64_end + 48, cd_offset + 7)
    with open(os.path.join(out, "bad_cd_offset.pth"), "wb") as f:
        f.write(moved)

    with open(os.path.join(out, "legacy.pth"), "rb") as f:
        legacy = f.read()
    with open(os.path.join(out, "legacy_truncated.pth"), "wb") as f:
        f.write(legacy[:-3])


def safetensors_fixture(out):
    tensors_ = [
        ("emb", "F32", [2, 3], struct.pack("<6f", 0, 1, 2, 3, 4, 5)),
        ("half", "F16", [2], struct.pack("<2e", 0.5, -2.0)),
        ("brain", "BF16", [2], bytes.fromhex("c03f" "4040")),  # 1.5, 3.0
        ("ids", "I64", [3], struct.pack("<3q", -1, 0, 5)),
        ("mask", "BOOL", [2], b"\x01\x00"),
    ]
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, dtype, shape, raw in tensors_:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    import json
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save_main_fixtures(out)
    derived_zip_fixtures(out)
    safetensors_fixture(out)


if __name__ == "__main__":
    main()
