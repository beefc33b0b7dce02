"""A tiny .pte reader for the parity suite: blob bytes by key, decoded codes and scales.

    f = PteFile("model.pte", "build/exporter/cli/pte")
    f.keys()                                   # every blob key (sorted)
    f.raw("layers.0.attention.wq.weight:fp16:q4g0")          # bytes
    f.codes("layers.0.attention.wq.weight:fp16:q4g0", (64, 64))   # torch.int8 [64, 64]
    f.floats("layers.0.attention.wq.weight:fp16:q4g0:scales", "fp16", (64,))

The file is read and validated by pte_reader (readers/python: FORMAT.md and the code generated
from the schema files, found through schema_path.py), not by the pte command.
int4 codes: element 2k in the low nibble of byte k, 2k+1 in the high nibble, two's complement,
flat in row-major element order.
"""
import re

import torch

import schema_path  # noqa: F401  (puts pte_reader and the generated schema modules on sys.path)
import pte_reader


# name:dtype[:rowsA-B][:q<bits>g<group>[mse|mse_w]][:scales]  (mse: scales searched, _w: weighted)
KEY_RE = re.compile(r"^(?P<name>[^:]+):(?P<dtype>fp16|fp32|bf16)"
                    r"(?::rows(?P<r0>\d+)-(?P<r1>\d+))?"
                    r"(?::q(?P<bits>\d+)g(?P<group>\d+)(?P<search>mse_w|mse|gptq)?)?"
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
    return torch.from_numpy(pte_reader.unpack_int4(bytes(data), numel).copy())


class PteFile:
    """The blob table and metadata through pte_reader (readers/python), the reader written from
    FORMAT.md and the generated schema code: no pte command is involved. `pte_bin` is unused
    (kept so that callers need not change)."""

    def __init__(self, path, pte_bin=None):
        self.path = path
        self.file = pte_reader.PteFile(path)
        self.data = self.file.data
        self.segment_offset = self.file.header["segment_offset"]
        self.segment_size = self.file.header["segment_size"]
        self.blobs = self.file.blobs
        self.metadata = {k: (v.tolist() if kind == "ints" else v) for k, (kind, v) in self.file.metadata.items()}
        self.info = {"methods": list(self.file.methods.values()), "blobs": list(self.blobs.values()),
                     "metadata": self.metadata}

    def keys(self):
        return sorted(self.blobs)

    def weight_keys(self):
        return sorted(k for k in self.blobs if parse_key(k) is not None)

    def raw(self, key):
        if key not in self.blobs:
            raise KeyError("%s: no blob %r" % (self.path, key))
        return bytes(self.file.raw(key))

    def codes(self, key, shape, bits=None):
        """Integer codes of a quantized blob as torch.int8 of the given shape."""
        if bits is None:
            bits = parse_key(key)["bits"]
        if bits not in (4, 8):
            raise ValueError("%s: unsupported bit width %s" % (key, bits))
        q = pte_reader.codes(self.raw(key), "int8" if bits == 8 else "int4", tuple(shape), key)
        return torch.from_numpy(q.copy())

    def floats(self, key, dtype, shape):
        """A float blob (fp16/fp32, little-endian) as a torch tensor of that dtype."""
        a = pte_reader.tensor_from_bytes(self.raw(key), dtype, list(shape), key)
        return torch.from_numpy(a.astype(a.dtype.newbyteorder("=")).copy())
