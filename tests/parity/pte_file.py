"""A tiny .pte reader for the parity suite: blob bytes by key, decoded codes and scales.

    f = PteFile("model.pte", "build/exporter/cli/pte")
    f.keys()                                   # every blob key (sorted)
    f.raw("layers.0.attention.wq.weight:fp16:q4g0")          # bytes
    f.codes("layers.0.attention.wq.weight:fp16:q4g0", (64, 64))   # torch.int8 [64, 64]
    f.floats("layers.0.attention.wq.weight:fp16:q4g0:scales", "fp16", (64,))

The blob table (key, offset, size, alignment) comes from `pte inspect FILE --json`; offsets are
relative to the data segment, whose start is the u64 at byte 32 of the fixed header (FORMAT.md §1).
int4 codes: element 2k in the low nibble of byte k, 2k+1 in the high nibble, two's complement,
flat in row-major element order.
"""
import json
import re
import struct
import subprocess

import numpy as np
import torch

MAGIC = b"PTEPACK\0"
FLOAT_DTYPES = {"fp32": (torch.float32, np.float32, 4), "fp16": (torch.float16, np.float16, 2)}

# name:dtype[:rowsA-B][:q<bits>g<group>[mse|mse_w]][:scales]  (mse: scales searched, _w: weighted)
KEY_RE = re.compile(r"^(?P<name>[^:]+):(?P<dtype>fp16|fp32|bf16)"
                    r"(?::rows(?P<r0>\d+)-(?P<r1>\d+))?"
                    r"(?::q(?P<bits>\d+)g(?P<group>\d+)(?P<search>mse_w|mse)?)?"
                    r"(?P<scales>:scales)?$")


def parse_key(key):
    """Splits a weight blob key into its parts; None for keys that are not weights
    (piece payloads, metadata tables)."""
    m = KEY_RE.match(key)
    if not m:
        return None
    d = m.groupdict()
    return dict(name=d["name"], dtype=d["dtype"],
                rows=(int(d["r0"]), int(d["r1"])) if d["r0"] is not None else None,
                bits=int(d["bits"]) if d["bits"] else None,
                group=int(d["group"]) if d["group"] is not None else None,
                search=d["search"],
                scales=bool(d["scales"]))


def unpack_int4(data, numel):
    """Packed int4 bytes → torch.int8 [numel] (low nibble = even element, sign-extended)."""
    b = np.frombuffer(bytes(data), dtype=np.uint8)
    if b.size != (numel + 1) // 2:
        raise ValueError("int4 blob has %d bytes, %d elements need %d" % (b.size, numel, (numel + 1) // 2))
    lo = (b & 0x0F).astype(np.int16)
    hi = (b >> 4).astype(np.int16)
    out = np.empty(2 * b.size, dtype=np.int16)
    out[0::2], out[1::2] = lo, hi
    out = np.where(out >= 8, out - 16, out)[:numel].astype(np.int8)
    return torch.from_numpy(out.copy())


class PteFile:
    def __init__(self, path, pte_bin):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        if len(self.data) < 64 or self.data[:8] != MAGIC:
            raise ValueError("%s: not a .pte file (bad magic)" % path)
        (self.segment_offset,) = struct.unpack_from("<Q", self.data, 32)
        (self.segment_size,) = struct.unpack_from("<Q", self.data, 40)
        (file_size,) = struct.unpack_from("<Q", self.data, 48)
        if file_size != len(self.data):
            raise ValueError("%s: header file_size %d != real size %d" % (path, file_size, len(self.data)))
        p = subprocess.run([pte_bin, "inspect", path, "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("pte inspect %s failed: %s" % (path, p.stderr.decode("utf-8", "replace")))
        text = p.stdout.decode("utf-8")
        self.info = json.loads(text[text.find("{"):text.rfind("}") + 1])
        self.blobs = {b["key"]: b for b in self.info["blobs"]}
        self.metadata = self.info.get("metadata", {})

    def keys(self):
        return sorted(self.blobs)

    def weight_keys(self):
        return sorted(k for k in self.blobs if parse_key(k) is not None)

    def raw(self, key):
        if key not in self.blobs:
            raise KeyError("%s: no blob %r" % (self.path, key))
        b = self.blobs[key]
        if b["offset"] + b["size"] > self.segment_size:
            raise ValueError("blob %s exceeds the data segment" % key)
        start = self.segment_offset + b["offset"]
        return self.data[start:start + b["size"]]

    def codes(self, key, shape, bits=None):
        """Integer codes of a quantized blob as torch.int8 of the given shape."""
        if bits is None:
            bits = parse_key(key)["bits"]
        numel = int(np.prod(shape))
        data = self.raw(key)
        if bits == 8:
            if len(data) != numel:
                raise ValueError("%s: %d bytes for %d int8 codes" % (key, len(data), numel))
            t = torch.from_numpy(np.frombuffer(data, dtype=np.int8).copy())
        elif bits == 4:
            t = unpack_int4(data, numel)
        else:
            raise ValueError("%s: unsupported bit width %s" % (key, bits))
        return t.reshape(shape)

    def floats(self, key, dtype, shape):
        """A float blob (fp16/fp32, little-endian) as a torch tensor of that dtype."""
        tdt, ndt, width = FLOAT_DTYPES[dtype]
        numel = int(np.prod(shape))
        data = self.raw(key)
        if len(data) != numel * width:
            raise ValueError("%s: %d bytes for %d %s values" % (key, len(data), numel, dtype))
        a = np.frombuffer(data, dtype=np.dtype(ndt).newbyteorder("<")).astype(ndt)
        return torch.from_numpy(a.copy()).reshape(shape)
